// Tiny model configs for unit tests: small enough to run many steps in seconds; tests state
// only how theirs differs from these.
import * as tf from "@tensorflow/tfjs";
import { ACTION_DIM } from "../../src/lib/actions/index.js";
import type { DiTConfig, VAEConfig } from "../../src/lib/models/index.js";
import type { Module } from "../../src/lib/nn/index.js";
import { Rng } from "../../src/lib/core/index.js";

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

/** 256x256 frames (the game's) -> 16x16x4 latents with a one-conv encoder and decoder. */
export function gameFrameVAEConfig(): VAEConfig {
  return tinyVAEConfig({
    imageSize: 256,
    encoder: { stem: 16, channels: [4], blocks: [0] },
    decoder: { channels: [4], blocks: [0], head: 16 },
  });
}

/** Moves every weight by seeded noise so no adaLN gate is zero and outputs depend on inputs. */
export function perturbWeights(model: Module<unknown>, seed: number, std = 0.2): void {
  const rng = new Rng(seed);
  for (const v of model.variables().values()) {
    const noise = Float32Array.from({ length: v.size }, () => rng.normal() * std);
    tf.tidy(() => v.assign(tf.add(v, tf.tensor(noise, v.shape))));
  }
}
