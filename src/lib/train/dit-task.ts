/**
 * The DiT's training task: diffusion forcing on latent clips with context-noise augmentation.
 *
 * For each clip of T frames, the first k frames (k drawn uniformly from 1..T-1) are context: clean
 * latents with a small random noise level in [0, contextNoiseMax], the level given to the model
 * as it will be at generation time (GameNGen's noise augmentation, which keeps long rollouts from
 * drifting). The remaining T-k frames are the ones to predict: each gets its own noise level,
 * uniform over the schedule (diffusion forcing), and only they count in the loss.
 */
import * as tf from "@tensorflow/tfjs";
import type { DiT } from "../dit.js";
import { alphaBarTensor, diffusionLoss, makeSchedule, qSample, type Schedule, type ScheduleConfig } from "../diffusion/index.js";
import { gaussianNoise } from "../nn/noise.js";
import type { Rng } from "../rng.js";
import type { TrainTask } from "./loop.js";

export interface DiTTrainSettings {
  /** Frames per training clip (context + predicted). */
  clipLength: number;
  schedule: ScheduleConfig;
  /** Context frames get a noise level uniform in [0, contextNoiseMax] (0 = always clean). */
  contextNoiseMax: number;
  /** Min-SNR-gamma loss weighting; null = plain MSE. */
  minSnrGamma: number | null;
}

export const DEFAULT_DIT_TRAIN: Readonly<DiTTrainSettings> = {
  clipLength: 5,
  schedule: { kind: "cosine", T: 1000 },
  contextNoiseMax: 0.1,
  minSnrGamma: 5,
};

/** A batch of latent clips: `latents [B, T, h, w, c]` (scaled), `actions [B, T, A]` (conditioning). */
export interface LatentClipBatch {
  latents: tf.Tensor5D;
  actions: tf.Tensor3D;
}

/** Where latent clips come from (`LatentDataset` in ../latents.ts, or a test's synthetic data). */
export interface LatentClipSource {
  sampleClips(rng: Rng, batchSize: number, clipLength: number): LatentClipBatch;
}

/** Per-frame timesteps (fractional, in [0, T-1]) and the loss mask, drawn for B clips of T frames. */
export function drawFrameNoise(rng: Rng, batch: number, frames: number, schedule: Schedule, contextNoiseMax: number): { timesteps: Float32Array; mask: Float32Array } {
  const last = schedule.T - 1;
  const timesteps = new Float32Array(batch * frames);
  const mask = new Float32Array(batch * frames);
  for (let b = 0; b < batch; b++) {
    const context = frames > 1 ? 1 + rng.int(frames - 1) : 0;
    for (let t = 0; t < frames; t++) {
      const i = b * frames + t;
      if (t < context) {
        timesteps[i] = rng.next() * contextNoiseMax * last;
      } else {
        timesteps[i] = rng.next() * last;
        mask[i] = 1;
      }
    }
  }
  return { timesteps, mask };
}

/**
 * Masked diffusion loss of one batch: `latents [B, T, h, w, c]`, `actions [B, T, A]` -> scalar.
 * Noise levels, noise and the context split are drawn from `rng`.
 */
export function ditLoss(dit: DiT, batch: LatentClipBatch, schedule: Schedule, settings: DiTTrainSettings, rng: Rng): tf.Scalar {
  const [B, T] = batch.latents.shape;
  const { timesteps, mask } = drawFrameNoise(rng, B, T, schedule, settings.contextNoiseMax);
  return tf.tidy(() => {
    const eps = gaussianNoise(batch.latents.shape, rng);
    const alphaBar = alphaBarTensor(schedule, timesteps, [B, T, 1, 1, 1]);
    const xt = qSample(batch.latents, eps, alphaBar) as tf.Tensor5D;
    const levels = tf.tensor2d(timesteps.map((t) => t / (schedule.T - 1)), [B, T]);
    const { prediction } = dit.forward(xt, levels, batch.actions);
    return diffusionLoss({
      prediction,
      x0: batch.latents,
      eps,
      alphaBar,
      parameterization: dit.config.parameterization,
      minSnrGamma: settings.minSnrGamma ?? undefined,
      frameWeights: tf.tensor2d(mask, [B, T]),
    });
  });
}

export function createDiTTask(dit: DiT, source: LatentClipSource, settings: Partial<DiTTrainSettings> = {}): TrainTask<LatentClipBatch> {
  const full: DiTTrainSettings = { ...DEFAULT_DIT_TRAIN, ...settings };
  const schedule = makeSchedule(full.schedule);
  return {
    kind: "dit",
    model: dit,
    settings: full,
    nextBatch: async (rng, batchSize) => source.sampleClips(rng, batchSize, full.clipLength),
    loss: (batch, rng) => ({ loss: ditLoss(dit, batch, schedule, full, rng) }),
    disposeBatch: (batch) => tf.dispose([batch.latents, batch.actions]),
  };
}
