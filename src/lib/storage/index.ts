/** Storage formats and stores: checkpoints with checksums and retention, TensorFlow.js manifests, safetensors, tar, checkpoint stores. */
export * from "./checkpoints.js";
export * from "./optimizer.js";
export * from "./safetensors.js";
export * from "./sha256.js";
export * from "./store-memory.js";
export * from "./store.js";
export * from "./tar.js";
export * from "./tensors.js";
export * from "./tfjs-manifest.js";
export * from "./version.js";
export * from "./weights.js";
