/** Diffusion core: schedules, parameterizations, q-sample, loss and samplers. */
export * from "./schedules.js";
export * from "./parameterization.js";
export * from "./loss.js";
export * from "./samplers.js";
