/**
 * The one way every host sets up training: `npm run train` (cli/train.ts), the Training page's
 * session (./session.ts), scripts/train-shipped.ts, the ablation script and the training benchmark
 * (../bench/perf.ts) all build their model and task here.
 *
 * - `ditConfigForVAE`: a preset's DiT config sized to the VAE's latents, with overrides.
 * - `checkDiTFitsVAE`: a DiT's latent shape against the VAE's (WEIGHTS_MISMATCH otherwise).
 * - `setupDiTTask`: the DiT (fresh from a config and seed, or starting weights whose noise schedule
 *   the run keeps), checked against its VAE, and its task on a latent clip source.
 * - `setupVAETask`: the VAE (fresh or starting weights) and its task on a frame source.
 * Loading data and weights stays with the host (files in Node, IndexedDB in pages); the trainer is
 * `new Trainer(task, options)` (./loop.ts).
 */
import { GamedreamError } from "../core/index.js";
import type { LatentClipSource } from "../data/index.js";
import type { ScheduleConfig } from "../diffusion/index.js";
import {
  createDiT,
  createVAE,
  trainedSampling,
  vaeLatentShape,
  type DiT,
  type DiTConfig,
  type SamplingDefaults,
  type VAE,
  type VAEConfig,
} from "../models/index.js";
import { DEFAULT_DIT_TRAIN, createDiTTask, type DiTTrainSettings } from "./dit-task.js";
import type { TrainTask } from "./loop.js";
import { createVAETask, type FrameSource, type VAETrainSettings } from "./vae-task.js";

/** A task's probe: measured every `every` steps, reported in that step's metric extras. */
export interface TaskProbe {
  every: number;
  run(): Record<string, number>;
}

/** `preset` sized to `vae`'s latent frame (height, width, channels), then `override` on top. */
export function ditConfigForVAE(preset: DiTConfig, vae: VAEConfig, override: Partial<DiTConfig> = {}): DiTConfig {
  const [latentHeight, latentWidth, latentChannels] = vaeLatentShape(vae);
  return { ...preset, latentHeight, latentWidth, latentChannels, ...override };
}

/**
 * Throws WEIGHTS_MISMATCH when the DiT does not take the VAE's latents. `names` word the message
 * (for example the folders or runs the two came from).
 */
export function checkDiTFitsVAE(
  dit: DiTConfig,
  vae: VAEConfig,
  names: { dit: string; vae: string } = { dit: "The DiT", vae: "the VAE" },
): void {
  const [h, w, c] = vaeLatentShape(vae);
  const { latentHeight, latentWidth, latentChannels } = dit;
  if (latentHeight === h && latentWidth === w && latentChannels === c) return;
  throw new GamedreamError(
    "WEIGHTS_MISMATCH",
    "model",
    `${names.dit} is a DiT for ${latentHeight}x${latentWidth}x${latentChannels} latents, but ${names.vae} makes ${h}x${w}x${c}; pair the DiT with the VAE it was trained with (the shipped VAE goes with the shipped DiT).`,
    { recoverable: true, details: { dit: [latentHeight, latentWidth, latentChannels], vae: [h, w, c] } },
  );
}

/** Where a DiT run's model comes from. */
export type DiTStart =
  /** A seeded initialisation of this config (use `ditConfigForVAE` for a preset). */
  | { from: "config"; config: DiTConfig; seed: number }
  /** Starting weights (fine-tuning, or a run restored from its checkpoint); their schedule, when recorded, is kept. */
  | { from: "weights"; dit: DiT; schedule: ScheduleConfig | null; name: string };

export interface DiTSetupOptions {
  start: DiTStart;
  /** The VAE whose latents the DiT learns, and how messages name it. */
  vae: VAEConfig;
  vaeName?: string;
  latents: LatentClipSource;
  /** Training settings over the defaults of ./dit-task.ts (a start's recorded schedule wins over `settings.schedule`). */
  settings?: Partial<DiTTrainSettings>;
  /**
   * Built once the model and its schedule are known (for example the action-sensitivity probe);
   * `sampling` is how the run's settings say the DiT must play (`trainedSampling`).
   */
  probe?: (dit: DiT, schedule: ScheduleConfig, sampling: Partial<SamplingDefaults>) => TaskProbe | undefined;
}

/**
 * The DiT and its training task. Throws WEIGHTS_MISMATCH (disposing a model it made or was given)
 * when the DiT does not take the VAE's latents. The caller owns the returned model (`task.model`).
 */
export function setupDiTTask(options: DiTSetupOptions): TrainTask<unknown> {
  const { start } = options;
  const dit = start.from === "config" ? createDiT(start.config, start.seed) : start.dit;
  try {
    checkDiTFitsVAE(dit.config, options.vae, {
      dit: start.from === "weights" ? start.name : "The DiT",
      vae: options.vaeName ?? "the VAE",
    });
  } catch (e) {
    dit.dispose();
    throw e;
  }
  const recorded = start.from === "weights" ? start.schedule : null;
  const settings: Partial<DiTTrainSettings> = { ...options.settings, ...(recorded ? { schedule: recorded } : {}) };
  return createDiTTask(
    dit,
    options.latents,
    settings,
    options.probe?.(dit, settings.schedule ?? DEFAULT_DIT_TRAIN.schedule, trainedSampling(settings)),
  ) as TrainTask<unknown>;
}

export interface VAESetupOptions {
  /** A seeded initialisation of this config, or starting weights. */
  start: { from: "config"; config: VAEConfig; seed: number } | { from: "weights"; vae: VAE };
  frames: FrameSource;
  settings?: Partial<VAETrainSettings>;
}

/** The VAE and its training task; the caller owns the model (`task.model`). */
export function setupVAETask(options: VAESetupOptions): TrainTask<unknown> {
  const vae = options.start.from === "config" ? createVAE(options.start.config, options.start.seed) : options.start.vae;
  return createVAETask(vae, options.frames, options.settings) as TrainTask<unknown>;
}
