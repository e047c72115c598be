/**
 * The DiT's training task: diffusion forcing on latent clips with context-noise augmentation.
 *
 * A clip of T frames splits into context frames (clean latents with a small random noise level in
 * [0, contextNoiseMax], the level given to the model as it will be at generation time: GameNGen's
 * noise augmentation, which keeps long rollouts from drifting) and target frames, the only ones
 * in the loss. Two split patterns:
 * - diffusion forcing: the first k frames are context (k uniform in 1..T-1), each later frame a
 *   target with its own noise level;
 * - last frame: frames 0..T-2 are context and only frame T-1 is a target, which is exactly the
 *   play-time situation (clean context, one noisy frame).
 * `lastFrameShare` of the clips use the second pattern.
 *
 * Target noise levels are uniform over the schedule, except that `samplerTimestepShare` of them
 * sit exactly on the timesteps a `samplerSteps`-step sampler visits (trailing spacing: 999 and 499
 * for 2 steps). The first of those, pure noise, is where the layout of the next frame must come
 * from the context and the action; uniform levels under min-SNR weighting almost never train it.
 *
 * Action dropout replaces a frame's action by the DiT's learned null action with probability
 * `actionDropout`, so one model also predicts without the action (classifier-free guidance).
 *
 * `cacheUpdate` names how play will fill the KV cache, and so what context frames must look like.
 * "context-pass" (above) trains for one more DiT pass per played frame on its clean latent.
 * "reuse-last-step" trains for a cache of each played frame's own last sampling step (the keys and
 * values of that pass), which saves the context pass: the first frame of a clip then only lends
 * its clean latent to the second frame's channels, the middle frames run at the sampler's last
 * timestep as played frames did, each with the clean latent of the frame before stacked on, and
 * the last frame is the only target. It needs `contextLatentInput` (the only way a clean latent
 * reaches the next frame) and clips of `contextFrames + 2` frames or more.
 */
import * as tf from "@tensorflow/tfjs";
import type { LatentClipBatch, LatentClipSource } from "../data/index.js";
import {
  actionPathway,
  CACHE_UPDATES,
  type CacheUpdate,
  type DiT,
  DEFAULT_DIT_SCHEDULE,
  isCacheUpdate,
} from "../models/index.js";
import {
  alphaBarTensor,
  diffusionLoss,
  makeSchedule,
  qSample,
  samplerLastTimestep,
  samplerTimesteps,
  type Schedule,
  type ScheduleConfig,
} from "../diffusion/index.js";
import { GamedreamError, type Rng } from "../core/index.js";
import { gaussianNoise } from "../nn/index.js";
import type { TrainTask } from "./loop.js";

export interface DiTTrainSettings {
  /** Frames per training clip (context + predicted). */
  clipLength: number;
  schedule: ScheduleConfig;
  /** Context frames get a noise level uniform in [0, contextNoiseMax] (0 = always clean). */
  contextNoiseMax: number;
  /** Min-SNR-gamma loss weighting; null = plain MSE of the parameterisation's target. */
  minSnrGamma: number | null;
  /** Share of clips in [0, 1] whose only target is the last frame (the rest: diffusion forcing). */
  lastFrameShare: number;
  /** Share of targets in [0, 1] whose timestep is one the sampler visits (the rest: uniform). */
  samplerTimestepShare: number;
  /** The sampler those timesteps come from: its number of steps (trailing spacing). */
  samplerSteps: number;
  /** Probability in [0, 1) that a frame's action is replaced by the null action. */
  actionDropout: number;
  /** The cache update play will use (see the file comment); absent means "context-pass". */
  cacheUpdate?: CacheUpdate;
}

/** Whether `settings` train for the "reuse-last-step" cache update (see the file comment). */
export function reusesLastStep(settings: Pick<DiTTrainSettings, "cacheUpdate">): boolean {
  return settings.cacheUpdate === "reuse-last-step";
}

export const DEFAULT_DIT_TRAIN: Readonly<DiTTrainSettings> = {
  clipLength: 3,
  schedule: { ...DEFAULT_DIT_SCHEDULE },
  contextNoiseMax: 0.1,
  minSnrGamma: null,
  lastFrameShare: 0.8,
  samplerTimestepShare: 0.5,
  samplerSteps: 2,
  actionDropout: 0.1,
};

/** The recipe before the action-conditioning work: diffusion forcing, uniform levels, min-SNR-5. */
export const DIFFUSION_FORCING_TRAIN: Readonly<Partial<DiTTrainSettings>> = {
  clipLength: 5,
  minSnrGamma: 5,
  lastFrameShare: 0,
  samplerTimestepShare: 0,
  actionDropout: 0,
};

/** What `drawFrameNoise` needs of the settings. */
export type FrameNoiseSettings = Pick<
  DiTTrainSettings,
  "contextNoiseMax" | "lastFrameShare" | "samplerTimestepShare" | "samplerSteps" | "actionDropout" | "cacheUpdate"
>;

/**
 * Per-frame timesteps (fractional, in [0, T-1]), the loss mask and the action-keep mask (0 = null
 * action), drawn for B clips of T frames.
 */
export function drawFrameNoise(
  rng: Rng,
  batch: number,
  frames: number,
  schedule: Schedule,
  settings: FrameNoiseSettings,
): { timesteps: Float32Array; mask: Float32Array; actionKeep: Float32Array } {
  const last = schedule.T - 1;
  const samplerLevels = settings.samplerTimestepShare > 0 ? samplerTimesteps(schedule.T, settings.samplerSteps) : [];
  const reuse = reusesLastStep(settings);
  const playedLevel = reuse ? samplerLastTimestep(schedule.T, settings.samplerSteps) : 0;
  const timesteps = new Float32Array(batch * frames);
  const mask = new Float32Array(batch * frames);
  const actionKeep = new Float32Array(batch * frames).fill(1);
  for (let b = 0; b < batch; b++) {
    const lastFrameOnly = !reuse && settings.lastFrameShare > 0 && rng.next() < settings.lastFrameShare;
    const context = frames <= 1 ? 0 : lastFrameOnly || reuse ? frames - 1 : 1 + rng.int(frames - 1);
    for (let t = 0; t < frames; t++) {
      const i = b * frames + t;
      if (reuse && t < context) {
        // The first frame lends its clean latent only; the others ran as played frames did.
        timesteps[i] = t === 0 ? 0 : playedLevel;
      } else if (t < context) {
        timesteps[i] = rng.next() * settings.contextNoiseMax * last;
      } else {
        const onSampler = samplerLevels.length > 0 && rng.next() < settings.samplerTimestepShare;
        timesteps[i] = onSampler ? samplerLevels[rng.int(samplerLevels.length)] : rng.next() * last;
        mask[i] = 1;
      }
      if (settings.actionDropout > 0 && rng.next() < settings.actionDropout) actionKeep[i] = 0;
    }
  }
  return { timesteps, mask, actionKeep };
}

/**
 * Masked diffusion loss of one batch: `latents [B, T, h, w, c]`, `actions [B, T, A]` -> scalar.
 * Noise levels, noise, the context split and dropped actions are drawn from `rng`. Under
 * "reuse-last-step" the DiT runs on frames 1.. with the clean latents of frames ..T-2 stacked on.
 */
export function ditLoss(
  dit: DiT,
  batch: LatentClipBatch,
  schedule: Schedule,
  settings: DiTTrainSettings,
  rng: Rng,
): tf.Scalar {
  const [B, T] = batch.latents.shape;
  const { timesteps, mask, actionKeep } = drawFrameNoise(rng, B, T, schedule, settings);
  return tf.tidy(() => {
    const eps = gaussianNoise(batch.latents.shape, rng);
    const alphaBar = alphaBarTensor(schedule, timesteps, [B, T, 1, 1, 1]);
    const xt = qSample(batch.latents, eps, alphaBar) as tf.Tensor5D;
    const levels = tf.tensor2d(
      timesteps.map((t) => t / (schedule.T - 1)),
      [B, T],
    );
    const keep = settings.actionDropout > 0 ? tf.tensor2d(actionKeep, [B, T]) : undefined;
    const frameWeights = tf.tensor2d(mask, [B, T]);
    const common = { parameterization: dit.config.parameterization, minSnrGamma: settings.minSnrGamma ?? undefined };
    if (!reusesLastStep(settings)) {
      const { prediction } = dit.forward(xt, levels, batch.actions, { actionKeep: keep });
      return diffusionLoss({ ...common, prediction, x0: batch.latents, eps, alphaBar, frameWeights });
    }
    // Frames 1..T-1 run; frame t sees the clean latent of frame t-1.
    const run = <R extends tf.Rank>(x: tf.Tensor<R>): tf.Tensor<R> => {
      const begin = x.shape.map((_, axis) => (axis === 1 ? 1 : 0));
      const size = x.shape.map((n, axis) => (axis === 1 ? n - 1 : n));
      return tf.slice(x, begin, size);
    };
    const previous = tf.slice(batch.latents, [0, 0, 0, 0, 0], [B, T - 1, ...batch.latents.shape.slice(2)]);
    const { prediction } = dit.forward(run(xt), run(levels), run(batch.actions), {
      actionKeep: keep ? run(keep) : undefined,
      previous: previous as tf.Tensor5D,
    });
    return diffusionLoss({
      ...common,
      prediction,
      x0: run(batch.latents),
      eps: run(eps),
      alphaBar: run(alphaBar),
      frameWeights: run(frameWeights),
    });
  });
}

function settingsError(message: string): GamedreamError {
  return new GamedreamError("TRAIN_SETTINGS_INVALID", "validation", message, { recoverable: true });
}

/** Throws a typed error when the settings cannot train `dit`. */
export function validateDiTTrainSettings(settings: DiTTrainSettings, dit: DiT): void {
  const share = (key: "lastFrameShare" | "samplerTimestepShare") => {
    if (!(settings[key] >= 0 && settings[key] <= 1))
      throw settingsError(`The training setting "${key}" must lie in [0, 1], got ${settings[key]}.`);
  };
  share("lastFrameShare");
  share("samplerTimestepShare");
  if (!Number.isInteger(settings.clipLength) || settings.clipLength < 1)
    throw settingsError(`"clipLength" must be a positive whole number of frames, got ${settings.clipLength}.`);
  if (!Number.isInteger(settings.samplerSteps) || settings.samplerSteps < 1)
    throw settingsError(`"samplerSteps" must be a positive whole number, got ${settings.samplerSteps}.`);
  if (!(settings.actionDropout >= 0 && settings.actionDropout < 1))
    throw settingsError(`"actionDropout" must lie in [0, 1), got ${settings.actionDropout}.`);
  if (settings.actionDropout > 0 && !actionPathway(dit.config).nullAction) {
    throw settingsError(
      `Action dropout needs a DiT with a learned null action (nullAction); this one has none: set actionDropout to 0.`,
    );
  }
  const cacheUpdate = settings.cacheUpdate ?? "context-pass";
  if (!isCacheUpdate(cacheUpdate))
    throw settingsError(
      `"cacheUpdate" must be one of ${CACHE_UPDATES.join(", ")}, got ${JSON.stringify(cacheUpdate)}.`,
    );
  if (cacheUpdate === "reuse-last-step") {
    if (!actionPathway(dit.config).contextLatentInput) {
      throw settingsError(
        `"cacheUpdate": "reuse-last-step" needs a DiT that stacks the previous clean latent on its input (contextLatentInput): its cached frames carry no clean latent of their own.`,
      );
    }
    const needed = dit.config.contextFrames + 2;
    if (settings.clipLength < needed) {
      throw settingsError(
        `"cacheUpdate": "reuse-last-step" needs clips of at least contextFrames + 2 = ${needed} frames (one that lends its latent, ${dit.config.contextFrames} of context, the target), got ${settings.clipLength}.`,
      );
    }
  }
}

/**
 * A DiT task. `probe`, when given, is measured every `probe.every` steps and reported in the
 * step's extras (for example the action sensitivity, ../play/action-control.ts).
 */
export function createDiTTask(
  dit: DiT,
  source: LatentClipSource,
  settings: Partial<DiTTrainSettings> = {},
  probe?: { every: number; run(): Record<string, number> },
): TrainTask<LatentClipBatch> {
  // Action dropout needs a learned null action: a DiT without one (saved before it existed)
  // trains without dropout unless asked for it, which validation then refuses in plain words.
  const defaults = actionPathway(dit.config).nullAction
    ? DEFAULT_DIT_TRAIN
    : { ...DEFAULT_DIT_TRAIN, actionDropout: 0 };
  const full: DiTTrainSettings = { ...defaults, ...settings };
  validateDiTTrainSettings(full, dit);
  const schedule = makeSchedule(full.schedule);
  return {
    kind: "dit",
    model: dit,
    probe,
    settings: full,
    nextBatch: async (rng, batchSize) => source.sampleClips(rng, batchSize, full.clipLength),
    loss: (batch, rng) => ({ loss: ditLoss(dit, batch, schedule, full, rng) }),
    disposeBatch: (batch) => tf.dispose([batch.latents, batch.actions]),
  };
}
