/** data: the parts that need browser APIs. */
export * from "./export.browser.js";
export * from "./frame-cache.browser.js";
export * from "./storage-manager.browser.js";
export * from "./store-idb.browser.js";
export * from "./upload.browser.js";
export * from "./user-datasets.browser.js";
