/** storage: the parts that need Node built-ins. */
export * from "./files.node.js";
export * from "./store-fs.node.js";
