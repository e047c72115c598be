/** Data: datasets (build, split, stores), statistics and summaries, latents, user data, the upload path, exports and browser storage limits. */
export * from "./dataset.js";
export * from "./episode-table-client.js";
export * from "./export.js";
export * from "./ingest-queue.js";
export * from "./latents.js";
export * from "./stats.js";
export * from "./upload.js";
export * from "./user-data.js";
