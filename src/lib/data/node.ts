/** data: the parts that need Node built-ins. */
export * from "./store-dir.node.js";
export * from "./summary.node.js";
