/** Benchmarks: timing primitives, the suite, its sections (generation, training, kernel profiles) and device calibration. */
export * from "./device.js";
export * from "./generate.js";
export * from "./perf.js";
export * from "./play.js";
export * from "./primitives.js";
export * from "./suite.js";
