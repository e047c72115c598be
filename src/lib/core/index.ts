/** Primitives every stage uses: errors, seeded randomness, frames and pixel helpers, image metrics, statistics, the tfjs backend, kernel profiles. */
export * from "./backend.js";
export * from "./errors.js";
export * from "./frames.js";
export * from "./image-grid.js";
export * from "./image-metrics.js";
export * from "./motion.js";
export * from "./profile.js";
export * from "./report-paths.js";
export * from "./rng.js";
export * from "./statistics.js";
export * from "./typed-arrays.js";
