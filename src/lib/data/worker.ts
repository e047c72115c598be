/** data: the parts that need npm packages pages cannot load (arquero), for Web Workers and Node; never imported by a page. */
export * from "./episode-table.worker.js";
