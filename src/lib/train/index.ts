/** Training: the loop, optimiser, the DiT and VAE tasks, the shared setup, exports, the dashboard's session, its worker client and dashboard state. */
export * from "./client.js";
export * from "./dashboard.js";
export * from "./dit-task.js";
export * from "./export.js";
export * from "./loop.js";
export * from "./metrics.js";
export * from "./optim.js";
export * from "./session.js";
export * from "./vae-task.js";
export * from "./setup.js";
