/** core: the parts that need Node built-ins. */
export * from "./png.node.js";
export * from "./weights-figure.node.js";
