/** play: the parts that need browser APIs. */
export * from "./catalog.browser.js";
export * from "./recorder.browser.js";
