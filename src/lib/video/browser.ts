/** video: the parts that need browser APIs. */
export * from "./ingest.browser.js";
export * from "./worker.browser.js";
