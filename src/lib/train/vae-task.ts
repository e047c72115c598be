/**
 * The VAE's training task: single frames drawn uniformly from a dataset split, the VAE's own
 * loss (reconstruction + klWeight * KL) with the reparameterisation seed drawn from the run's
 * noise stream, so a resumed run draws the same samples.
 */
import * as tf from "@tensorflow/tfjs";
import { type DatasetReader, type SplitFilter, batchToTensors } from "../data/index.js";
import type { Rng } from "../core/index.js";
import type { VAE, VAEConfig } from "../models/index.js";
import type { TrainTask } from "./loop.js";

export interface VAETrainSettings {
  klWeight: number;
}

export const DEFAULT_VAE_TRAIN: Readonly<VAETrainSettings> = { klWeight: 1e-4 };

/** Where training frames come from: `[B, 256, 256, 3]` in [-1, 1], randomness from `rng`. */
export interface FrameSource {
  sampleFrames(rng: Rng, batchSize: number): Promise<tf.Tensor4D>;
}

/** Frames drawn uniformly from a dataset split (with replacement). */
export function datasetFrameSource(reader: DatasetReader, split: SplitFilter = "train"): FrameSource {
  return {
    async sampleFrames(rng, batchSize) {
      const { frames, actions } = batchToTensors(await reader.sampleBatch(rng, { batchSize, clipLength: 1, split }));
      actions.dispose();
      const [B, , H, W, C] = frames.shape;
      const out = tf.reshape(frames, [B, H, W, C]) as tf.Tensor4D;
      frames.dispose();
      return out;
    },
  };
}

export function createVAETask(
  vae: VAE,
  source: FrameSource,
  settings: Partial<VAETrainSettings> = {},
): TrainTask<tf.Tensor4D> {
  const full: VAETrainSettings = { ...DEFAULT_VAE_TRAIN, ...settings };
  return {
    kind: "vae",
    model: vae,
    settings: full,
    nextBatch: (rng, batchSize) => source.sampleFrames(rng, batchSize),
    loss: (frames, rng) => {
      const { total, recon, kl } = vae.loss(frames, { klWeight: full.klWeight, seed: rng.seed() });
      return { loss: total, extras: { recon, kl } };
    },
    disposeBatch: (frames) => frames.dispose(),
    // A finished run's checkpoint carries the latent scale fitted after training.
    adoptSavedConfig: (saved) => {
      const scale = (saved as Partial<VAEConfig> | null)?.latentScale;
      if (typeof scale === "number" && scale !== vae.config.latentScale) vae.setLatentScale(scale);
    },
  };
}
