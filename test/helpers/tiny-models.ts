// Tiny model configs for unit tests: small enough to run many steps in seconds; tests state
// only how theirs differs from these.
import { ACTION_DIM } from "../../src/lib/actions.js";
import type { DiTConfig } from "../../src/lib/dit.js";
import type { VAEConfig } from "../../src/lib/vae.js";

export function tinyDiTConfig(overrides: Partial<DiTConfig> = {}): DiTConfig {
  return {
    latentHeight: 4,
    latentWidth: 4,
    latentChannels: 2,
    patchSize: 2,
    hidden: 16,
    depth: 1,
    heads: 2,
    mlpRatio: 2,
    contextFrames: 2,
    actionDim: ACTION_DIM,
    frequencyDim: 16,
    spatialPositions: "sincos",
    parameterization: "v",
    ...overrides,
  };
}

/** 32x32 frames, 4 latent channels, one conv stage each way. */
export function tinyVAEConfig(overrides: Partial<VAEConfig> = {}): VAEConfig {
  return {
    name: "tiny",
    imageSize: 32,
    imageChannels: 3,
    latentChannels: 4,
    encoder: { stem: 4, channels: [8], blocks: [0] },
    decoder: { channels: [8], blocks: [0], head: 4 },
    latentScale: 1,
    reconLoss: "mse",
    ...overrides,
  };
}
