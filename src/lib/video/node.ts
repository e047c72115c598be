/** video: the parts that need Node built-ins. */
export * from "./ingest.node.js";
