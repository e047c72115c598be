/**
 * Training for every model, the same in Node, pages and Web Workers: the loop (`Trainer`, in
 * train/loop.ts) with AdamW, warm-up + cosine learning rate, gradient clipping, EMA, automatic
 * batch reduction on out-of-memory, pause/resume/stop, a metrics event stream and resumable
 * checkpoints in any `CheckpointStore`; the tasks it drives (train/vae-task.ts: VAE on frames;
 * train/dit-task.ts: diffusion forcing with context-noise augmentation on latent clips, see
 * ../latents.ts); weight exports (train/export.ts). Host-specific stores are
 * passed in (storage/store-fs.node.ts, storage/store-idb.browser.ts, MemoryCheckpointStore).
 */
export * from "./train/optim.js";
export * from "./train/metrics.js";
export * from "./train/loop.js";
export * from "./train/vae-task.js";
export * from "./train/dit-task.js";
export * from "./train/export.js";
