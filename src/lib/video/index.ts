/** Video ingestion: validation, decoding (host entries), resampling to 30 fps, resizing to 256x256, pairing with action logs. */
export * from "./errors.js";
export * from "./ingest.js";
export * from "./pairing.js";
export * from "./resample.js";
export * from "./resize.js";
export * from "./validate.js";
export * from "./webm-truncation.js";
