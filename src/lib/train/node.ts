/** train: the parts that need Node built-ins. */
export * from "./files.node.js";
