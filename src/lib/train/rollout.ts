/**
 * A plain autoregressive latent rollout with the DiT's KV cache: context frames enter the cache at
 * the context noise level (noised to it, as in training), each new frame is sampled from noise by
 * a few-step sampler whose denoiser runs only the new frame's tokens against the cache, then
 * becomes context itself. Used by `npm run sample` and the held-out check until the world-model
 * module (src/lib/worldmodel.ts) replaces it. Actions follow ../latents.ts: a frame is
 * conditioned on the action whose effect it shows.
 */
import * as tf from "@tensorflow/tfjs";
import type { DiT, KVCache } from "../dit.js";
import { type SamplerName, type Schedule, alphaBarAt, qSample, sample } from "../diffusion/index.js";
import { gaussianNoise } from "../nn/noise.js";
import type { Rng } from "../rng.js";

export interface RolloutSampling {
  schedule: Schedule;
  sampler: SamplerName;
  steps: number;
  eta: number;
  /** Noise level in [0, 1] at which frames become context. */
  contextNoiseLevel: number;
}

export class LatentRollout {
  private readonly cache: KVCache;

  constructor(
    readonly dit: DiT,
    readonly sampling: RolloutSampling,
    private readonly rng: Rng,
  ) {
    this.cache = dit.createCache();
  }

  /** Makes `latent [B, h, w, c]` (scaled, clean) context, conditioned on `action [B, A]`. */
  push(latent: tf.Tensor4D, action: tf.Tensor2D): void {
    const { schedule, contextNoiseLevel } = this.sampling;
    const ab = alphaBarAt(schedule, contextNoiseLevel * (schedule.T - 1));
    const noised = tf.tidy(() => qSample(latent, gaussianNoise(latent.shape, this.rng), ab) as tf.Tensor4D);
    this.dit.appendFrame(this.cache, noised, contextNoiseLevel, action);
    noised.dispose();
  }

  /** Samples the next frame `[B, h, w, c]` under `action [B, A]` (not yet context: `push` it). */
  next(action: tf.Tensor2D, batch = action.shape[0]): tf.Tensor4D {
    const { latentHeight: h, latentWidth: w, latentChannels: c } = this.dit.config;
    const { schedule, sampler, steps, eta } = this.sampling;
    const xT = gaussianNoise([batch, h, w, c], this.rng);
    const denoiser = (xt: tf.Tensor, t: number) => this.dit.forwardFrame(this.cache, xt as tf.Tensor4D, t / (schedule.T - 1), action).prediction;
    const x0 = sample(denoiser, xT, { sampler, schedule, parameterization: this.dit.config.parameterization, steps, eta, seed: this.rng }) as tf.Tensor4D;
    xT.dispose();
    return x0;
  }

  dispose(): void {
    this.cache.dispose();
  }
}
