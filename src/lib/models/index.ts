/** Models: the DiT and the VAE, presets, FLOP counts and loading trained weights. */
export * from "./dit.js";
export * from "./flops.js";
export * from "./loader.js";
export * from "./presets.js";
export * from "./vae-config.js";
export * from "./vae-conv.js";
export * from "./vae.js";
