/**
 * Does the world model obey its actions? Measured from branches of the real game
 * (./branches.ts): from one state, the real game stepped with two actions that differ in one
 * factor, and the model dreaming both next frames from the same context and the same noise.
 *
 * - Action sensitivity S = |dream_a - dream_b|^2 / |real_a - real_b|^2 per pair, reported as the
 *   median: 0 means the action is ignored, 1 that its full effect is reproduced (above 1: an
 *   exaggerated effect).
 * - Action discrimination D = PSNR(dream_a, real_a) - PSNR(dream_a, real_b), in dB, averaged over
 *   both members of each pair: how much closer each dream lands to its own real frame than to the
 *   other branch's.
 * Pairs whose two real frames are (almost) equal tell nothing (pitch at its limit, walking into a
 * wall) and are skipped and counted. Intervals are 95% bootstrap intervals over states.
 *
 * `latentActionSensitivity` is the cheap form logged while training: S in latent space on a small
 * probe set encoded once, with no decoding, so a run that is not learning its actions shows it
 * within minutes.
 */
import * as tf from "@tensorflow/tfjs";
import type { Action } from "../actions/index.js";
import { makeSchedule, type Schedule, type ScheduleConfig } from "../diffusion/index.js";
import type { DiT, LoadedModel, PresetName, SamplingDefaults, VAE } from "../models/index.js";
import { rgbaToTensor, mse, psnr, bootstrapEstimate, mean, median, type Estimate } from "../core/index.js";
import {
  createWorldModel,
  worldModelOf,
  type StepOutput,
  type WorldModel,
  type WorldModelSettings,
} from "./world-model.js";
import { BRANCH_FACTORS, type BranchFactor, type BranchState } from "./branches.js";

/** Below this mean squared difference (in [-1, 1] units) the two real frames count as equal. */
export const MIN_REAL_DIFFERENCE = 1e-5;

export interface ActionControlSample {
  state: number;
  factor: BranchFactor;
  sensitivity: number;
  discrimination: number;
}

export interface FactorReport {
  samples: number;
  sensitivity: Estimate;
  discrimination: Estimate;
}

export interface ActionControlReport {
  states: number;
  samples: number;
  /** Pairs skipped because the real game did not change between the two actions. */
  skipped: number;
  /** Median S with its interval. */
  sensitivity: Estimate;
  /** Mean D (dB) with its interval. */
  discrimination: Estimate;
  perFactor: Partial<Record<BranchFactor, FactorReport>>;
  perSample: ActionControlSample[];
  seconds: number;
}

export interface ActionControlOptions {
  seed?: number;
  settings?: Partial<WorldModelSettings>;
  onProgress?: (done: number, total: number) => void;
}

const now = (): number => (typeof performance !== "undefined" ? performance.now() : Date.now());

/** Both dreams of a pair from the world model's start state: the same context and the same noise. */
function dreamPair(wm: WorldModel, pair: { a: Action; b: Action }): [StepOutput, StepOutput] {
  wm.reset();
  const a = wm.step(pair.a);
  wm.reset();
  return [a, wm.step(pair.b)];
}

/** Medians of S and means of D, overall and per factor, with intervals over states. */
export function summarizeActionControl(
  samples: ActionControlSample[],
  states: number,
  skipped: number,
  seconds: number,
): ActionControlReport {
  const byState = (rows: ActionControlSample[], key: "sensitivity" | "discrimination") => {
    const groups = new Map<number, number[]>();
    for (const r of rows) groups.set(r.state, [...(groups.get(r.state) ?? []), r[key]]);
    return [...groups.values()];
  };
  const estimate = (rows: ActionControlSample[]) => ({
    samples: rows.length,
    sensitivity: bootstrapEstimate(byState(rows, "sensitivity"), median, { seed: 1 }),
    discrimination: bootstrapEstimate(byState(rows, "discrimination"), mean, { seed: 2 }),
  });
  const all = estimate(samples);
  const perFactor: Partial<Record<BranchFactor, FactorReport>> = {};
  for (const factor of BRANCH_FACTORS) {
    const rows = samples.filter((s) => s.factor === factor);
    if (rows.length) perFactor[factor] = estimate(rows);
  }
  return {
    states,
    samples: samples.length,
    skipped,
    sensitivity: all.sensitivity,
    discrimination: all.discrimination,
    perFactor,
    perSample: samples,
    seconds,
  };
}

/** S and D of a world model on branches of the real game, in pixel space. */
export async function evaluateActionControl(
  model: LoadedModel,
  branches: readonly BranchState[],
  options: ActionControlOptions = {},
): Promise<ActionControlReport> {
  const started = now();
  const seed = options.seed ?? 0;
  const samples: ActionControlSample[] = [];
  let skipped = 0;
  for (const [i, state] of branches.entries()) {
    const wm = worldModelOf(model, options.settings, seed + i);
    try {
      wm.start(state.context, state.held);
      for (const pair of state.pairs) {
        const [dreamA, dreamB] = dreamPair(wm, pair);
        const values = tf.tidy(() => {
          const realA = rgbaToTensor(pair.realA);
          const realB = rgbaToTensor(pair.realB);
          const [a, b] = [dreamA.frame, dreamB.frame];
          return tf.concat([
            mse(a, b),
            mse(realA, realB),
            psnr(a, realA),
            psnr(a, realB),
            psnr(b, realB),
            psnr(b, realA),
          ]);
        });
        const [dreamDiff, realDiff, aa, ab, bb, ba] = await values.data();
        tf.dispose([values, dreamA.frame, dreamA.latent, dreamB.frame, dreamB.latent]);
        if (realDiff < MIN_REAL_DIFFERENCE) {
          skipped++;
          continue;
        }
        samples.push({
          state: i,
          factor: pair.factor,
          sensitivity: dreamDiff / realDiff,
          discrimination: (aa - ab + (bb - ba)) / 2,
        });
      }
    } finally {
      wm.dispose();
    }
    options.onProgress?.(i + 1, branches.length);
  }
  return summarizeActionControl(samples, branches.length, skipped, (now() - started) / 1000);
}

/** Branches encoded once into scaled latents, for `latentActionSensitivity`. */
export interface LatentBranchProbe {
  states: { context: tf.Tensor4D; held: Action[]; pairs: { a: Action; b: Action; realDiff: number }[] }[];
}

/** Encodes the branches' context frames; keeps only pairs whose real latents differ. */
export function encodeBranchProbe(vae: VAE, branches: readonly BranchState[]): LatentBranchProbe {
  const states = branches.map((state) => {
    const context = tf.tidy(() =>
      vae.encodeScaled(tf.stack(state.context.map((im) => rgbaToTensor(im))) as tf.Tensor4D),
    );
    const pairs = state.pairs
      .map((pair) => {
        const realDiff = tf.tidy(() => {
          const z = vae.encodeScaled(tf.stack([rgbaToTensor(pair.realA), rgbaToTensor(pair.realB)]) as tf.Tensor4D);
          const [za, zb] = tf.split(z, 2);
          return tf.mean(tf.squaredDifference(za, zb)).dataSync()[0];
        });
        return { a: pair.a, b: pair.b, realDiff };
      })
      .filter((p) => p.realDiff > MIN_REAL_DIFFERENCE);
    return { context, held: state.held, pairs };
  });
  return { states };
}

export function disposeBranchProbe(probe: LatentBranchProbe): void {
  for (const s of probe.states) s.context.dispose();
}

/**
 * Median latent-space S of `dit` on an encoded probe: `|z_a - z_b|^2 / |z_real_a - z_real_b|^2`
 * with both dreams from the same context and noise. Synchronous (one readback per pair).
 */
export function latentActionSensitivity(
  vae: VAE,
  dit: DiT,
  schedule: ScheduleConfig | Schedule,
  probe: LatentBranchProbe,
  options: {
    preset?: PresetName;
    seed?: number;
    /** Sampling defaults over the preset's (how the DiT's training says it plays: `trainedSampling`). */
    defaults?: Partial<SamplingDefaults>;
    settings?: Partial<WorldModelSettings>;
  } = {},
): number {
  const ratios: number[] = [];
  const resolved = "alphaBar" in schedule ? schedule : makeSchedule(schedule);
  for (const [i, state] of probe.states.entries()) {
    if (state.pairs.length === 0) continue;
    const wm = createWorldModel({
      vae,
      dit,
      schedule: resolved,
      preset: options.preset ?? "realtime",
      defaults: options.defaults,
      ...options.settings,
      seed: (options.seed ?? 0) + i,
    });
    try {
      wm.startFromLatents(state.context, state.held);
      for (const pair of state.pairs) {
        const [a, b] = dreamPair(wm, pair);
        const diff = tf.tidy(() => tf.mean(tf.squaredDifference(a.latent, b.latent)).dataSync()[0]);
        tf.dispose([a.frame, a.latent, b.frame, b.latent]);
        ratios.push(diff / pair.realDiff);
      }
    } finally {
      wm.dispose();
    }
  }
  return median(ratios);
}
