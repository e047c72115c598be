/**
 * Honest quality numbers for a world model (`npm run eval`, the report page), measured on
 * held-out episodes and never eyeballed:
 *
 * - Teacher-forced next frame: real context (the last K real frames before t+1, VAE-encoded,
 *   with the real actions), the real action held on frame t, one generated frame, decoded and
 *   compared with the real frame t+1. Beside it, with the same context and the same noise:
 *   copy-the-last-frame (real frame t), the same model driven by a shuffled action (the action of
 *   another sample), by the previous action repeated (the action held on frame t-1), and the mean
 *   of its frames over random actions (references that need no knowledge of the action taken), and
 *   the VAE's reconstruction of frame t+1 (the ceiling the DiT can reach). Each figure comes with a
 *   95% bootstrap interval over samples.
 * - Action control: S and D on branches of the real game from held-out states
 *   (./action-control.ts).
 * - Rollout: the real game from a held-out episode's level seed, played by that episode's agent,
 *   and the world model started from its first K frames and driven by the same actions for N
 *   frames. Per frame: PSNR against the real frame, mean/std of both (drift to grey shows as a
 *   falling std), latent std (blow-up); a verdict on collapse.
 * - Standing still: from held-out states the player holds no key; the dream should keep showing
 *   the real game's (still) view (./standing-still.ts).
 *
 * PSNR/SSIM use the frames' [-1, 1] range (data range 2; see ../core/image-metrics.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { decodeActions, type Action } from "../actions/index.js";
import type { DatasetReader, EpisodeEntry } from "../data/index.js";
import type { ScheduleConfig } from "../diffusion/index.js";
import {
  GamedreamError,
  FRAME_SIZE,
  rgbaToTensor,
  rgbToUnit,
  type RgbaImage,
  DEFAULT_DATA_RANGE,
  average,
  frameStats,
  psnr,
  ssim,
  Rng,
  bootstrapEstimate,
  mean,
  type Estimate,
} from "../core/index.js";
import { createAgent, randomAction, createGame } from "../game/index.js";
import { describeModel, type DiT, type LoadedModel, type SamplingDefaults, type VAE } from "../models/index.js";
import { worldModelOf, type WorldModelSettings } from "./world-model.js";
import {
  disposeBranchProbe,
  encodeBranchProbe,
  evaluateActionControl,
  latentActionSensitivity,
  type ActionControlReport,
  type LatentBranchProbe,
} from "./action-control.js";
import { gameBranches, type BranchState } from "./branches.js";
import { evaluateStandingStill, standingStillStates, type StandingStillReport } from "./standing-still.js";

export const EVAL_SCHEMA = "gamedream-eval/2";

/** Random actions whose dreams are averaged for the "mean over random actions" reference. */
export const RANDOM_ACTION_DRAWS = 4;

export interface EvalOptions {
  /** Teacher-forced samples, spread evenly over the held-out episodes (default 256). */
  samples?: number;
  /** Held-out game states branched for S and D (default 40; 0 skips action control). */
  branchStates?: number;
  /** Rollout length in generated frames (default 1000; 0 skips the rollout). */
  rolloutFrames?: number;
  /** Frames of standing still from each of up to `STILL_STATES` held-out states (default 60; 0 skips). */
  stillFrames?: number;
  /** Seed of the generation noise and the action shuffle (default 0). */
  seed?: number;
  /** Sampling settings; default: the model's preset defaults. */
  settings?: Partial<WorldModelSettings>;
  onProgress?: (phase: EvalPhase, done: number, total: number) => void;
}

export type EvalPhase = "next-frame" | "action-control" | "rollout" | "standing-still";

/** Held-out states (one per held-out game episode, at most this many) for the standing-still test. */
export const STILL_STATES = 8;

export interface PairMetrics {
  psnr: number;
  ssim: number;
  /** 95% bootstrap interval of the mean PSNR over samples. */
  psnrInterval: [number, number];
}

export interface NextFrameReport {
  samples: number;
  episodes: string[];
  nextFrame: PairMetrics;
  copyLastFrame: PairMetrics;
  shuffledActions: PairMetrics;
  repeatPreviousAction: PairMetrics;
  randomActionsMean: PairMetrics;
  vaeRecon: PairMetrics;
  /** Mean per-sample PSNR differences of the model with the true action, with intervals. */
  gaps: { overCopyLast: Estimate; overShuffled: Estimate; overRepeatPrevious: Estimate; overRandomMean: Estimate };
  /** Share of samples whose shuffled action happened to equal the real one (common: agents hold keys). */
  shuffledSameFraction: number;
  seconds: number;
}

export interface RolloutBucket {
  start: number;
  end: number;
  psnr: number;
  predMean: number;
  predStd: number;
  realMean: number;
  realStd: number;
  latentStd: number;
}

export interface CollapseVerdict {
  collapsed: boolean;
  reasons: string[];
  /** Flat: a bucket's mean frame std below `flatRatio` x the real frames' std in that bucket. */
  flatRatio: number;
  /** Blow-up: a bucket's mean latent std above `blowUpRatio` x the real context latents' std. */
  blowUpRatio: number;
}

export interface RolloutReport {
  frames: number;
  levelSeed: number;
  agent: string;
  episode: string;
  contextFrames: number;
  /** Std of the real context's scaled latents, the blow-up yardstick. */
  contextLatentStd: number;
  buckets: RolloutBucket[];
  perFrame: {
    psnr: number[];
    predMean: number[];
    predStd: number[];
    realMean: number[];
    realStd: number[];
    latentStd: number[];
  };
  collapse: CollapseVerdict;
  /** End to end per generated frame: all sampling steps, context update, VAE decode, readback. */
  msPerFrame: { median: number; mean: number; p90: number };
  seconds: number;
}

export interface EvalReport {
  schema: typeof EVAL_SCHEMA;
  createdAt: string;
  model: Record<string, unknown>;
  settings: WorldModelSettings;
  seed: number;
  dataRange: number;
  nextFramePsnr: number;
  copyLastFramePsnr: number;
  shuffledActionsPsnr: number;
  repeatPreviousActionPsnr: number;
  randomActionsMeanPsnr: number;
  vaeReconPsnr: number;
  /** Median action sensitivity S and mean action discrimination D (dB), null when skipped. */
  actionSensitivity: number | null;
  actionDiscrimination: number | null;
  nextFrameSsim: number;
  copyLastFrameSsim: number;
  shuffledActionsSsim: number;
  vaeReconSsim: number;
  nextFrame: NextFrameReport;
  actionControl: ActionControlReport | null;
  rollout: RolloutReport | null;
  /** The dream while the player holds no key (./standing-still.ts); null when skipped. */
  standingStill: StandingStillReport | null;
  goals: {
    beatsCopyBy3dB: { margin: number; met: boolean };
    beatsShuffledBy2dB: { margin: number; met: boolean };
    sensitivityAtLeastHalf: { value: number | null; met: boolean | null };
    discriminationAtLeast3dB: { value: number | null; met: boolean | null };
    rolloutNoCollapse: { met: boolean | null };
    /** The dream's mean pixel std over the rollout within 25% of the game's. */
    rolloutStdWithin25Percent: { ratio: number | null; met: boolean | null };
  };
  timings: {
    totalSeconds: number;
    nextFrameSeconds: number;
    actionControlSeconds: number | null;
    rolloutSeconds: number | null;
    standingStillSeconds: number | null;
  };
}

const FLAT_RATIO = 0.25;
const BLOW_UP_RATIO = 4;

const now = (): number => (typeof performance !== "undefined" ? performance.now() : Date.now());

function heldoutEpisodes(reader: DatasetReader): EpisodeEntry[] {
  const episodes = reader.episodes("heldout").filter((e) => e.frameCount >= 2);
  if (episodes.length === 0) {
    throw new GamedreamError(
      "EVAL_NO_HELDOUT",
      "dataset",
      "The dataset has no held-out episode with at least 2 frames; build it with --heldout-fraction above 0.",
      {
        recoverable: false,
      },
    );
  }
  return episodes;
}

/** Targets t+1 for `count` samples spread evenly over the episodes (t >= 0, t+1 < frameCount). */
function samplePositions(episodes: EpisodeEntry[], count: number): { episode: EpisodeEntry; target: number }[] {
  const out: { episode: EpisodeEntry; target: number }[] = [];
  const perEpisode = Math.ceil(count / episodes.length);
  for (const episode of episodes) {
    const n = Math.min(perEpisode, episode.frameCount - 1, count - out.length);
    for (let i = 0; i < n; i++)
      out.push({ episode, target: 1 + Math.floor(((i + 0.5) * (episode.frameCount - 1)) / n) });
  }
  return out;
}

/** Teacher-forced next-frame metrics and their baselines on held-out episodes. */
export async function evaluateNextFrame(
  model: LoadedModel,
  reader: DatasetReader,
  options: EvalOptions = {},
): Promise<NextFrameReport & { settings: WorldModelSettings }> {
  const started = now();
  const { vae, dit } = model;
  const K = Math.max(1, dit.config.contextFrames);
  const seed = options.seed ?? 0;
  const positions = samplePositions(heldoutEpisodes(reader), options.samples ?? 256);
  const randomActions = new Rng(seed ^ 0x2545f491);
  // Frames t-K .. t+1: K+1 context frames (the oldest one only supplies the action that made the
  // next one, as in training), then the target. Read one window at a time: 256 windows of
  // 256x256 frames would hold a gigabyte.
  const window = async ({ episode, target }: (typeof positions)[number]) => {
    const first = Math.max(0, target - 1 - K);
    const count = target + 1 - first;
    return {
      count,
      rgb: await reader.readFrames(episode.id, first, count),
      held: decodeActions(await reader.readActions(episode.id, first, count)),
    };
  };
  // The action held on frame t, which made the target t+1.
  const driving: Action[] = [];
  for (const p of positions) driving.push(decodeActions(await reader.readActions(p.episode.id, p.target - 1, 1))[0]);
  const shuffled = new Rng(seed ^ 0x5bd1e995).shuffle(driving.map((_, i) => i)).map((i) => driving[i]);
  const rows = {
    next: [] as number[][],
    copy: [] as number[][],
    shuffled: [] as number[][],
    repeat: [] as number[][],
    random: [] as number[][],
    recon: [] as number[][],
  };
  let same = 0;
  let settings: WorldModelSettings | null = null;
  for (const [i, position] of positions.entries()) {
    const w = await window(position);
    const wm = worldModelOf(model, options.settings, seed + i);
    settings = { ...wm.settings };
    const frames = tf.tensor4d(rgbToUnit(w.rgb), [w.count, FRAME_SIZE, FRAME_SIZE, 3]);
    const latents = tf.tidy(() => vae.encodeScaled(frames));
    const context = tf.tidy(() => tf.slice(latents, [0], [w.count - 1]) as tf.Tensor4D);
    const heldOnContext = w.held.slice(0, w.count - 2);
    // The action held on frame t-1 (for t = 0, which has none, the true one).
    const previous = w.count >= 3 ? w.held[w.count - 3] : driving[i];
    const dreams: tf.Tensor3D[] = [];
    try {
      wm.startFromLatents(context, heldOnContext);
      for (const action of [
        driving[i],
        shuffled[i],
        previous,
        ...Array.from({ length: RANDOM_ACTION_DRAWS }, () => randomAction(randomActions)),
      ]) {
        wm.reset();
        const out = wm.step(action);
        out.latent.dispose();
        dreams.push(out.frame);
      }
      if (sameAction(driving[i], shuffled[i])) same++;
      const values = tf.tidy(() => {
        const target = tf.slice(frames, [w.count - 1], [1]);
        const last = tf.slice(frames, [w.count - 2], [1]);
        const recon = vae.decodeScaled(tf.slice(latents, [w.count - 1], [1]) as tf.Tensor4D);
        const randomMean = tf.expandDims(tf.mean(tf.stack(dreams.slice(3)), 0), 0);
        const candidates = tf.concat(
          [
            tf.expandDims(dreams[0], 0),
            last,
            tf.expandDims(dreams[1], 0),
            tf.expandDims(dreams[2], 0),
            randomMean,
            recon,
          ],
          0,
        );
        const targets = tf.tile(target, [6, 1, 1, 1]);
        return tf.concat([psnr(candidates, targets), ssim(candidates, targets)]);
      });
      const v = await values.data();
      values.dispose();
      rows.next.push([v[0], v[6]]);
      rows.copy.push([v[1], v[7]]);
      rows.shuffled.push([v[2], v[8]]);
      rows.repeat.push([v[3], v[9]]);
      rows.random.push([v[4], v[10]]);
      rows.recon.push([v[5], v[11]]);
    } finally {
      tf.dispose([frames, latents, context, ...dreams]);
      wm.dispose();
    }
    options.onProgress?.("next-frame", i + 1, positions.length);
  }
  const pair = (r: number[][]): PairMetrics => {
    const interval = bootstrapEstimate(
      r.map((x) => [x[0]]),
      mean,
      { seed: 3 },
    );
    return {
      psnr: average(r.map((x) => x[0])),
      ssim: average(r.map((x) => x[1])),
      psnrInterval: [interval.low, interval.high],
    };
  };
  const gap = (other: number[][]) =>
    bootstrapEstimate(
      rows.next.map((x, i) => [x[0] - other[i][0]]),
      mean,
      { seed: 4 },
    );
  return {
    samples: positions.length,
    episodes: [...new Set(positions.map((p) => p.episode.id))],
    nextFrame: pair(rows.next),
    copyLastFrame: pair(rows.copy),
    shuffledActions: pair(rows.shuffled),
    repeatPreviousAction: pair(rows.repeat),
    randomActionsMean: pair(rows.random),
    vaeRecon: pair(rows.recon),
    gaps: {
      overCopyLast: gap(rows.copy),
      overShuffled: gap(rows.shuffled),
      overRepeatPrevious: gap(rows.repeat),
      overRandomMean: gap(rows.random),
    },
    shuffledSameFraction: same / positions.length,
    seconds: (now() - started) / 1000,
    settings: settings!,
  };
}

function sameAction(a: Readonly<Action>, b: Readonly<Action>): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A held-out game episode to replay: level seed and agent. */
function rolloutEpisode(reader: DatasetReader): EpisodeEntry {
  const game = reader.episodes("heldout").find((e) => e.source === "game" && e.agent !== undefined);
  if (!game) {
    throw new GamedreamError(
      "EVAL_NO_GAME_EPISODE",
      "dataset",
      "The rollout replays a held-out built-in game episode, and this dataset has none (held-out episodes are all videos).",
      {
        recoverable: false,
      },
    );
  }
  return game;
}

function percentileOf(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.round(q * (sorted.length - 1)))];
}

/**
 * Autoregressive rollout against the real game: the held-out episode's level and agent, the model
 * started from the first K real frames and driven by the agent's actions for `frames` frames.
 */
export async function evaluateRollout(
  model: LoadedModel,
  episode: Pick<EpisodeEntry, "id" | "seed" | "agent">,
  frames: number,
  options: EvalOptions = {},
): Promise<RolloutReport> {
  const started = now();
  const { vae, dit } = model;
  const K = Math.max(1, dit.config.contextFrames);
  const game = createGame({ seed: episode.seed });
  const agent = createAgent(episode.agent ?? "explorer", episode.seed);
  const wm = worldModelOf(model, options.settings, options.seed ?? 0);
  const rgba = new Uint8ClampedArray(FRAME_SIZE * FRAME_SIZE * 4);
  game.render(rgba);
  const images: RgbaImage[] = [];
  const held: Action[] = [];
  for (let i = 0; i < K; i++) {
    images.push({ data: rgba.slice(), width: FRAME_SIZE, height: FRAME_SIZE });
    const a = agent.act(game);
    held.push(a);
    game.step(a, rgba);
  }
  const contextStd = tf.tidy(() => {
    const clip = tf.stack(images.map((im) => rgbaToTensor(im))) as tf.Tensor4D;
    return frameStats(tf.reshape(vae.encodeScaled(clip), [1, -1])).std;
  });
  const contextLatentStd = (await contextStd.data())[0];
  contextStd.dispose();
  const per = {
    psnr: [] as number[],
    predMean: [] as number[],
    predStd: [] as number[],
    realMean: [] as number[],
    realStd: [] as number[],
    latentStd: [] as number[],
  };
  const ms: number[] = [];
  try {
    wm.start(images, held);
    let action = held[K - 1];
    for (let n = 0; n < frames; n++) {
      const t0 = now();
      const out = wm.step(action);
      await out.frame.data();
      ms.push(now() - t0);
      const values = tf.tidy(() => {
        const real = rgbaToTensor({ data: rgba, width: FRAME_SIZE, height: FRAME_SIZE });
        const pred = frameStats(out.frame);
        const truth = frameStats(real);
        const latent = frameStats(out.latent);
        return tf.concat([psnr(out.frame, real), pred.mean, pred.std, truth.mean, truth.std, latent.std]);
      });
      const v = await values.data();
      tf.dispose([values, out.frame, out.latent]);
      per.psnr.push(v[0]);
      per.predMean.push(v[1]);
      per.predStd.push(v[2]);
      per.realMean.push(v[3]);
      per.realStd.push(v[4]);
      per.latentStd.push(v[5]);
      action = agent.act(game);
      game.step(action, rgba);
      options.onProgress?.("rollout", n + 1, frames);
    }
  } finally {
    wm.dispose();
  }
  const bucketSize = Math.max(1, Math.ceil(frames / 10));
  const buckets: RolloutBucket[] = [];
  for (let start = 0; start < frames; start += bucketSize) {
    const end = Math.min(frames, start + bucketSize);
    const mean = (xs: number[]) => average(xs.slice(start, end));
    buckets.push({
      start,
      end,
      psnr: mean(per.psnr),
      predMean: mean(per.predMean),
      predStd: mean(per.predStd),
      realMean: mean(per.realMean),
      realStd: mean(per.realStd),
      latentStd: mean(per.latentStd),
    });
  }
  return {
    frames,
    levelSeed: episode.seed,
    agent: agent.name,
    episode: episode.id,
    contextFrames: K,
    contextLatentStd,
    buckets,
    perFrame: per,
    collapse: collapseVerdict(per, buckets, contextLatentStd),
    msPerFrame: { median: percentileOf(ms, 0.5), mean: average(ms), p90: percentileOf(ms, 0.9) },
    seconds: (now() - started) / 1000,
  };
}

/** Collapse = non-finite values, frames going flat (drift to grey) or latents blowing up. */
export function collapseVerdict(
  per: RolloutReport["perFrame"],
  buckets: RolloutBucket[],
  contextLatentStd: number,
): CollapseVerdict {
  const reasons: string[] = [];
  const bad = per.latentStd.findIndex((v, i) => !Number.isFinite(v) || !Number.isFinite(per.predStd[i]));
  if (bad >= 0) reasons.push(`non-finite values from frame ${bad}`);
  const flat = buckets.find((b) => b.predStd < FLAT_RATIO * b.realStd);
  if (flat)
    reasons.push(
      `frames ${flat.start}-${flat.end - 1} went flat: std ${flat.predStd.toFixed(3)} against ${flat.realStd.toFixed(3)} for the real game`,
    );
  const blown = buckets.find((b) => b.latentStd > BLOW_UP_RATIO * contextLatentStd);
  if (blown)
    reasons.push(
      `latents blew up in frames ${blown.start}-${blown.end - 1}: std ${blown.latentStd.toFixed(3)} against ${contextLatentStd.toFixed(3)} for real frames`,
    );
  return { collapsed: reasons.length > 0, reasons, flatRatio: FLAT_RATIO, blowUpRatio: BLOW_UP_RATIO };
}

/** Held-out episodes of the built-in game that can be replayed: their level seed and agent are known. */
function heldoutGameEpisodes(reader: DatasetReader): { seed: number; agent: string; frameCount: number }[] {
  return reader
    .episodes("heldout")
    .filter((e) => e.source === "game" && e.agent !== undefined && e.seed !== undefined)
    .map((e) => ({ seed: e.seed!, agent: e.agent!, frameCount: e.frameCount }));
}

/** Held-out game episodes branched for action control: `states` states spread over them. */
export function heldoutBranches(reader: DatasetReader, contextFrames: number, states: number) {
  const games = heldoutGameEpisodes(reader);
  if (games.length === 0 || states === 0) return [];
  const perEpisode = Math.max(1, Math.ceil(states / games.length));
  const frames = Math.min(...games.map((e) => e.frameCount));
  const spacing = Math.max(1, Math.floor((frames - 24) / perEpisode));
  const branches = gameBranches({
    episodes: games,
    statesPerEpisode: perEpisode,
    contextFrames,
    spacing,
  });
  return branches.slice(0, states);
}

/**
 * The action-sensitivity probe of a DiT training run, as a factory of the trainer's task probe:
 * latent S (`latentActionSensitivity`) on the branch states `branchesFor(contextFrames)` gives
 * (real game, levels the run does not train on; `heldoutBranches` for a dataset's held-out levels),
 * encoded once by `vae`, measured every `every` steps (playing as `sampling` says: a DiT trained
 * for "reuse-last-step" with it) and reported as `actionS`. The factory gives
 * undefined when there is no branch state; its `dispose()` frees what it encoded.
 */
export function actionSensitivityProbe(
  vae: VAE,
  branchesFor: (contextFrames: number) => readonly BranchState[],
  every: number,
) {
  const encoded: LatentBranchProbe[] = [];
  const make = (
    dit: DiT,
    schedule: ScheduleConfig,
    sampling: Partial<SamplingDefaults> = {},
  ): { every: number; run(): Record<string, number> } | undefined => {
    if (every <= 0) return undefined;
    const branches = branchesFor(Math.max(1, dit.config.contextFrames));
    if (branches.length === 0) return undefined;
    const probe = encodeBranchProbe(vae, branches);
    encoded.push(probe);
    return {
      every,
      run: () => ({ actionS: latentActionSensitivity(vae, dit, schedule, probe, { defaults: sampling }) }),
    };
  };
  /** Frees the encoded branches of every probe made. */
  const dispose = () => encoded.splice(0).forEach(disposeBranchProbe);
  return Object.assign(make, { dispose });
}

/** The standing-still test from up to `STILL_STATES` held-out game episodes (null when there is none or it is skipped). */
async function evaluateHeldoutStandingStill(
  model: LoadedModel,
  reader: DatasetReader,
  options: EvalOptions,
): Promise<StandingStillReport | null> {
  const frames = options.stillFrames ?? 60;
  const games = heldoutGameEpisodes(reader).slice(0, STILL_STATES);
  if (frames === 0 || games.length === 0) return null;
  const states = standingStillStates({
    episodes: games,
    contextFrames: Math.max(1, model.dit.config.contextFrames),
    frames,
  });
  return evaluateStandingStill(model, states, {
    seed: options.seed,
    settings: options.settings,
    onProgress: (done, total) => options.onProgress?.("standing-still", done, total),
  });
}

/** Everything `npm run eval` reports. */
export async function evaluateModel(
  model: LoadedModel,
  reader: DatasetReader,
  options: EvalOptions = {},
): Promise<EvalReport> {
  const started = now();
  const next = await evaluateNextFrame(model, reader, options);
  const branches = heldoutBranches(reader, Math.max(1, model.dit.config.contextFrames), options.branchStates ?? 40);
  const control =
    branches.length > 0
      ? await evaluateActionControl(model, branches, {
          seed: options.seed,
          settings: options.settings,
          onProgress: (done, total) => options.onProgress?.("action-control", done, total),
        })
      : null;
  const frames = options.rolloutFrames ?? 1000;
  const rollout = frames > 0 ? await evaluateRollout(model, rolloutEpisode(reader), frames, options) : null;
  const standingStill = await evaluateHeldoutStandingStill(model, reader, options);
  const { settings, ...nextFrame } = next;
  const vsCopy = next.nextFrame.psnr - next.copyLastFrame.psnr;
  const vsShuffled = next.nextFrame.psnr - next.shuffledActions.psnr;
  const S = control ? control.sensitivity.value : null;
  const D = control ? control.discrimination.value : null;
  const stdRatio = rollout ? average(rollout.perFrame.predStd) / average(rollout.perFrame.realStd) : null;
  return {
    schema: EVAL_SCHEMA,
    createdAt: new Date().toISOString(),
    model: describeModel(model),
    settings,
    seed: options.seed ?? 0,
    dataRange: DEFAULT_DATA_RANGE,
    nextFramePsnr: next.nextFrame.psnr,
    copyLastFramePsnr: next.copyLastFrame.psnr,
    shuffledActionsPsnr: next.shuffledActions.psnr,
    repeatPreviousActionPsnr: next.repeatPreviousAction.psnr,
    randomActionsMeanPsnr: next.randomActionsMean.psnr,
    vaeReconPsnr: next.vaeRecon.psnr,
    actionSensitivity: S,
    actionDiscrimination: D,
    nextFrameSsim: next.nextFrame.ssim,
    copyLastFrameSsim: next.copyLastFrame.ssim,
    shuffledActionsSsim: next.shuffledActions.ssim,
    vaeReconSsim: next.vaeRecon.ssim,
    nextFrame,
    actionControl: control,
    rollout,
    standingStill,
    goals: {
      beatsCopyBy3dB: { margin: vsCopy, met: vsCopy >= 3 },
      beatsShuffledBy2dB: { margin: vsShuffled, met: vsShuffled >= 2 },
      sensitivityAtLeastHalf: { value: S, met: S === null ? null : S >= 0.5 },
      discriminationAtLeast3dB: { value: D, met: D === null ? null : D >= 3 },
      rolloutNoCollapse: { met: rollout ? !rollout.collapse.collapsed : null },
      rolloutStdWithin25Percent: { ratio: stdRatio, met: stdRatio === null ? null : Math.abs(stdRatio - 1) <= 0.25 },
    },
    timings: {
      totalSeconds: (now() - started) / 1000,
      nextFrameSeconds: next.seconds,
      actionControlSeconds: control?.seconds ?? null,
      rolloutSeconds: rollout?.seconds ?? null,
      standingStillSeconds: standingStill?.seconds ?? null,
    },
  };
}
