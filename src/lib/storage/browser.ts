/** storage: the parts that need browser APIs. */
export * from "./store-idb.browser.js";
