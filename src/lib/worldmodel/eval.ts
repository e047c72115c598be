/**
 * Honest quality numbers for a world model (`npm run eval`, the report page), measured on
 * held-out episodes and never eyeballed:
 *
 * - Teacher-forced next frame: real context (the last K real frames before t+1, VAE-encoded,
 *   with the real actions), the real action held on frame t, one generated frame, decoded and
 *   compared with the real frame t+1. Beside it, with the same context and the same noise:
 *   copy-the-last-frame (real frame t), the same model driven by a shuffled action (the action of
 *   another sample), and the VAE's reconstruction of frame t+1 (the ceiling the DiT can reach).
 * - Rollout: the real game from a held-out episode's level seed, played by that episode's agent,
 *   and the world model started from its first K frames and driven by the same actions for N
 *   frames. Per frame: PSNR against the real frame, mean/std of both (drift to grey shows as a
 *   falling std), latent std (blow-up); a verdict on collapse.
 *
 * PSNR/SSIM use the frames' [-1, 1] range (data range 2; see ../metrics.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { decodeActions, type Action } from "../actions.js";
import type { DatasetReader, EpisodeEntry } from "../dataset.js";
import { makeSchedule } from "../diffusion/index.js";
import { GamedreamError } from "../errors.js";
import { FRAME_SIZE, rgbaToTensor, rgbToUnit, type RgbaImage } from "../frames.js";
import { createAgent } from "../game/agents.js";
import { createGame } from "../game/game.js";
import { DEFAULT_DATA_RANGE, average, frameStats, psnr, ssim } from "../metrics.js";
import { describeModel, type LoadedModel } from "../model-loader.js";
import { Rng } from "../rng.js";
import { createWorldModel, type WorldModelSettings } from "../worldmodel.js";

export const EVAL_SCHEMA = "gamedream-eval/1";

export interface EvalOptions {
  /** Teacher-forced samples, spread evenly over the held-out episodes (default 48). */
  samples?: number;
  /** Rollout length in generated frames (default 1000; 0 skips the rollout). */
  rolloutFrames?: number;
  /** Seed of the generation noise and the action shuffle (default 0). */
  seed?: number;
  /** Sampling settings; default: the model's preset defaults. */
  settings?: Partial<WorldModelSettings>;
  onProgress?: (phase: "next-frame" | "rollout", done: number, total: number) => void;
}

export interface PairMetrics {
  psnr: number;
  ssim: number;
}

export interface NextFrameReport {
  samples: number;
  episodes: string[];
  nextFrame: PairMetrics;
  copyLastFrame: PairMetrics;
  shuffledActions: PairMetrics;
  vaeRecon: PairMetrics;
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
  perFrame: { psnr: number[]; predMean: number[]; predStd: number[]; realMean: number[]; realStd: number[]; latentStd: number[] };
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
  vaeReconPsnr: number;
  nextFrameSsim: number;
  copyLastFrameSsim: number;
  shuffledActionsSsim: number;
  vaeReconSsim: number;
  nextFrame: NextFrameReport;
  rollout: RolloutReport | null;
  goals: {
    beatsCopyBy3dB: { margin: number; met: boolean };
    beatsShuffledBy2dB: { margin: number; met: boolean };
    rolloutNoCollapse: { met: boolean | null };
  };
  timings: { totalSeconds: number; nextFrameSeconds: number; rolloutSeconds: number | null };
}

const FLAT_RATIO = 0.25;
const BLOW_UP_RATIO = 4;

const now = (): number => (typeof performance !== "undefined" ? performance.now() : Date.now());

function heldoutEpisodes(reader: DatasetReader): EpisodeEntry[] {
  const episodes = reader.episodes("heldout").filter((e) => e.frameCount >= 2);
  if (episodes.length === 0) {
    throw new GamedreamError("EVAL_NO_HELDOUT", "dataset", "The dataset has no held-out episode with at least 2 frames; build it with --heldout-fraction above 0.", {
      recoverable: false,
    });
  }
  return episodes;
}

/** Targets t+1 for `count` samples spread evenly over the episodes (t >= 0, t+1 < frameCount). */
function samplePositions(episodes: EpisodeEntry[], count: number): { episode: EpisodeEntry; target: number }[] {
  const out: { episode: EpisodeEntry; target: number }[] = [];
  const perEpisode = Math.ceil(count / episodes.length);
  for (const episode of episodes) {
    const n = Math.min(perEpisode, episode.frameCount - 1, count - out.length);
    for (let i = 0; i < n; i++) out.push({ episode, target: 1 + Math.floor(((i + 0.5) * (episode.frameCount - 1)) / n) });
  }
  return out;
}

/** Teacher-forced next-frame metrics and their baselines on held-out episodes. */
export async function evaluateNextFrame(model: LoadedModel, reader: DatasetReader, options: EvalOptions = {}): Promise<NextFrameReport & { settings: WorldModelSettings }> {
  const started = now();
  const { vae, dit } = model;
  const K = Math.max(1, dit.config.contextFrames);
  const seed = options.seed ?? 0;
  const schedule = makeSchedule(model.schedule);
  const positions = samplePositions(heldoutEpisodes(reader), options.samples ?? 48);
  // Frames t-K .. t+1: K+1 context frames (the oldest one only supplies the action that made the
  // next one, as in training), then the target.
  const windows = await Promise.all(
    positions.map(async ({ episode, target }) => {
      const first = Math.max(0, target - 1 - K);
      const count = target + 1 - first;
      return { episode, target, first, count, rgb: await reader.readFrames(episode.id, first, count), held: decodeActions(await reader.readActions(episode.id, first, count)) };
    }),
  );
  const driving = windows.map((w) => w.held[w.count - 2]);
  const shuffled = new Rng(seed ^ 0x5bd1e995).shuffle(driving.map((_, i) => i)).map((i) => driving[i]);
  const sums = { next: [] as number[][], copy: [] as number[][], shuffled: [] as number[][], recon: [] as number[][] };
  let same = 0;
  let settings: WorldModelSettings | null = null;
  for (const [i, w] of windows.entries()) {
    const wm = createWorldModel({ vae, dit, schedule, preset: model.preset ?? "realtime", ...options.settings, seed: seed + i });
    settings = { ...wm.settings };
    const frames = tf.tensor4d(rgbToUnit(w.rgb), [w.count, FRAME_SIZE, FRAME_SIZE, 3]);
    const latents = tf.tidy(() => vae.encodeScaled(frames));
    const context = tf.tidy(() => tf.slice(latents, [0], [w.count - 1]) as tf.Tensor4D);
    const heldOnContext = w.held.slice(0, w.count - 2);
    try {
      wm.startFromLatents(context, heldOnContext);
      const real = wm.step(driving[i]);
      wm.startFromLatents(context, heldOnContext);
      const other = wm.step(shuffled[i]);
      if (sameAction(driving[i], shuffled[i])) same++;
      const values = tf.tidy(() => {
        const target = tf.slice(frames, [w.count - 1], [1]);
        const last = tf.slice(frames, [w.count - 2], [1]);
        const recon = vae.decodeScaled(tf.slice(latents, [w.count - 1], [1]) as tf.Tensor4D);
        const candidates = tf.concat([tf.expandDims(real.frame, 0), last, tf.expandDims(other.frame, 0), recon], 0);
        const targets = tf.tile(target, [4, 1, 1, 1]);
        return tf.concat([psnr(candidates, targets), ssim(candidates, targets)]);
      });
      const v = await values.data();
      tf.dispose([values, real.frame, real.latent, other.frame, other.latent]);
      sums.next.push([v[0], v[4]]);
      sums.copy.push([v[1], v[5]]);
      sums.shuffled.push([v[2], v[6]]);
      sums.recon.push([v[3], v[7]]);
    } finally {
      tf.dispose([frames, latents, context]);
      wm.dispose();
    }
    options.onProgress?.("next-frame", i + 1, windows.length);
  }
  const pair = (rows: number[][]): PairMetrics => ({ psnr: average(rows.map((r) => r[0])), ssim: average(rows.map((r) => r[1])) });
  return {
    samples: windows.length,
    episodes: [...new Set(positions.map((p) => p.episode.id))],
    nextFrame: pair(sums.next),
    copyLastFrame: pair(sums.copy),
    shuffledActions: pair(sums.shuffled),
    vaeRecon: pair(sums.recon),
    shuffledSameFraction: same / windows.length,
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
    throw new GamedreamError("EVAL_NO_GAME_EPISODE", "dataset", "The rollout replays a held-out built-in game episode, and this dataset has none (held-out episodes are all videos).", {
      recoverable: false,
    });
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
export async function evaluateRollout(model: LoadedModel, episode: Pick<EpisodeEntry, "id" | "seed" | "agent">, frames: number, options: EvalOptions = {}): Promise<RolloutReport> {
  const started = now();
  const { vae, dit } = model;
  const K = Math.max(1, dit.config.contextFrames);
  const game = createGame({ seed: episode.seed });
  const agent = createAgent(episode.agent ?? "explorer", episode.seed);
  const wm = createWorldModel({ vae, dit, schedule: model.schedule, preset: model.preset ?? "realtime", ...options.settings, seed: options.seed ?? 0 });
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
  const per = { psnr: [] as number[], predMean: [] as number[], predStd: [] as number[], realMean: [] as number[], realStd: [] as number[], latentStd: [] as number[] };
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
    buckets.push({ start, end, psnr: mean(per.psnr), predMean: mean(per.predMean), predStd: mean(per.predStd), realMean: mean(per.realMean), realStd: mean(per.realStd), latentStd: mean(per.latentStd) });
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
export function collapseVerdict(per: RolloutReport["perFrame"], buckets: RolloutBucket[], contextLatentStd: number): CollapseVerdict {
  const reasons: string[] = [];
  const bad = per.latentStd.findIndex((v, i) => !Number.isFinite(v) || !Number.isFinite(per.predStd[i]));
  if (bad >= 0) reasons.push(`non-finite values from frame ${bad}`);
  const flat = buckets.find((b) => b.predStd < FLAT_RATIO * b.realStd);
  if (flat) reasons.push(`frames ${flat.start}-${flat.end - 1} went flat: std ${flat.predStd.toFixed(3)} against ${flat.realStd.toFixed(3)} for the real game`);
  const blown = buckets.find((b) => b.latentStd > BLOW_UP_RATIO * contextLatentStd);
  if (blown) reasons.push(`latents blew up in frames ${blown.start}-${blown.end - 1}: std ${blown.latentStd.toFixed(3)} against ${contextLatentStd.toFixed(3)} for real frames`);
  return { collapsed: reasons.length > 0, reasons, flatRatio: FLAT_RATIO, blowUpRatio: BLOW_UP_RATIO };
}

/** Everything `npm run eval` reports. */
export async function evaluateModel(model: LoadedModel, reader: DatasetReader, options: EvalOptions = {}): Promise<EvalReport> {
  const started = now();
  const next = await evaluateNextFrame(model, reader, options);
  const frames = options.rolloutFrames ?? 1000;
  const rollout = frames > 0 ? await evaluateRollout(model, rolloutEpisode(reader), frames, options) : null;
  const { settings, ...nextFrame } = next;
  const vsCopy = next.nextFrame.psnr - next.copyLastFrame.psnr;
  const vsShuffled = next.nextFrame.psnr - next.shuffledActions.psnr;
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
    vaeReconPsnr: next.vaeRecon.psnr,
    nextFrameSsim: next.nextFrame.ssim,
    copyLastFrameSsim: next.copyLastFrame.ssim,
    shuffledActionsSsim: next.shuffledActions.ssim,
    vaeReconSsim: next.vaeRecon.ssim,
    nextFrame,
    rollout,
    goals: {
      beatsCopyBy3dB: { margin: vsCopy, met: vsCopy >= 3 },
      beatsShuffledBy2dB: { margin: vsShuffled, met: vsShuffled >= 2 },
      rolloutNoCollapse: { met: rollout ? !rollout.collapse.collapsed : null },
    },
    timings: { totalSeconds: (now() - started) / 1000, nextFrameSeconds: next.seconds, rolloutSeconds: rollout?.seconds ?? null },
  };
}
