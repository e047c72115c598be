/**
 * The VAE: frames [B,256,256,3] in [-1,1] <-> latents [B,h,w,c] for the DiT. Config, presets and
 * FLOP counts live in vae/config.ts, the model in vae/model.ts, its wasm-safe ops in vae/conv.ts.
 */
export * from "./vae/config.js";
export * from "./vae/model.js";
