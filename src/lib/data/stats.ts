/**
 * What the data exploration page shows about a set of episodes (frames + per-frame actions):
 * recording episodes of the built-in game one frame at a time (so a page can show progress and
 * stay responsive), action histograms and motion over time (the per-episode table is in
 * episode-table.ts).
 *
 * Alignment: `actions[t]` is the action taken while frame t was on screen (it produces frame
 * t + 1), so an episode has as many actions as frames. Frames are RGB bytes `[T, 256, 256, 3]`,
 * row-major, in one Uint8Array (the dataset builder's and the ingester's byte layout).
 * No DOM and no tensors here: pages, workers and data loaders share it.
 */
import { INTERACTIONS, MOVEMENT_KEYS, cloneAction, type Action } from "../actions/index.js";
import { GamedreamError, FRAME_SIZE, RGB_FRAME_BYTES, meanAbsDiff, rgbaToRgb } from "../core/index.js";
import { createAgent, createGame } from "../game/index.js";

export interface Episode {
  /** Display name, e.g. `seed 3 · explorer`. */
  name: string;
  /** `[frameCount, 256, 256, 3]` RGB bytes. */
  frames: Uint8Array;
  frameCount: number;
  actions: Action[];
  /** Game seed and agent for built-in episodes; absent for uploads. */
  seed?: number;
  agent?: string;
}

export interface EpisodeRequest {
  seed: number;
  agent: string;
  frames: number;
}

/**
 * Plays one episode of the built-in game with a scripted agent, yielding after every frame with
 * the number of frames done, and returns the episode. Drive it with `for await`/`next()` or
 * `recordEpisode` below. The agent is seeded from the game seed, so (seed, agent) fixes the episode.
 */
export function* playEpisode({ seed, agent: agentName, frames }: EpisodeRequest): Generator<number, Episode, void> {
  if (!Number.isInteger(frames) || frames < 1) {
    throw new GamedreamError(
      "DATASET_INVALID_LENGTH",
      "dataset",
      `An episode needs a whole number of frames >= 1 (got ${frames}).`,
    );
  }
  const game = createGame({ seed });
  const agent = createAgent(agentName, seed);
  const rgb = new Uint8Array(frames * RGB_FRAME_BYTES);
  const actions: Action[] = [];
  const rgba = new Uint8ClampedArray(FRAME_SIZE * FRAME_SIZE * 4);
  rgbaToRgb(game.reset().data, rgb, 0);
  for (let t = 0; t < frames; t++) {
    const a = cloneAction(agent.act(game));
    actions.push(a);
    // The action after the last frame is logged but its frame is not kept (frames[t] + actions[t] -> frames[t+1]).
    if (t + 1 < frames) rgbaToRgb(game.step(a, rgba).data, rgb, (t + 1) * RGB_FRAME_BYTES);
    yield t + 1;
  }
  return { name: `seed ${seed} · ${agentName}`, frames: rgb, frameCount: frames, actions, seed, agent: agentName };
}

/** Runs `playEpisode` to the end (Node, workers, tests). */
export function recordEpisode(request: EpisodeRequest): Episode {
  const it = playEpisode(request);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}

/** One frame's RGB bytes (a view, not a copy). */
export function episodeFrame(episode: Episode, t: number): Uint8Array {
  return episode.frames.subarray(t * RGB_FRAME_BYTES, (t + 1) * RGB_FRAME_BYTES);
}

/**
 * Motion over time: mean absolute difference between consecutive frames, in [0, 1]. Entry t
 * compares frame t with frame t - 1; entry 0 is 0.
 */
export function motionSeries(episode: Episode): Float64Array {
  const out = new Float64Array(episode.frameCount);
  for (let t = 1; t < episode.frameCount; t++)
    out[t] = meanAbsDiff(episodeFrame(episode, t - 1), episodeFrame(episode, t));
  return out;
}

/** Camera bin edges: 9 bins over [-1, 1], the middle one holding exactly 0 (no camera motion). */
export const CAMERA_BINS: readonly { label: string; lo: number; hi: number }[] = [
  { label: "-1..-0.75", lo: -1, hi: -0.75 },
  { label: "-0.75..-0.5", lo: -0.75, hi: -0.5 },
  { label: "-0.5..-0.25", lo: -0.5, hi: -0.25 },
  { label: "-0.25..0", lo: -0.25, hi: 0 },
  { label: "0", lo: 0, hi: 0 },
  { label: "0..0.25", lo: 0, hi: 0.25 },
  { label: "0.25..0.5", lo: 0.25, hi: 0.5 },
  { label: "0.5..0.75", lo: 0.5, hi: 0.75 },
  { label: "0.75..1", lo: 0.75, hi: 1 },
];

/** Index into CAMERA_BINS: exact 0 has its own bin; open at 0, closed at +-1. */
export function cameraBin(v: number): number {
  if (v === 0) return 4;
  const c = Math.max(-1, Math.min(1, v));
  const i = Math.floor((c + 1) * 4);
  return c > 0 ? Math.min(8, i + 1) : Math.min(3, i);
}

export interface ActionHistograms {
  frames: number;
  /** Frames with each key held, in MOVEMENT_KEYS order. */
  movement: { key: (typeof MOVEMENT_KEYS)[number]; count: number }[];
  /** Frames per camera bin, for yaw and pitch. */
  camera: { axis: "yaw" | "pitch"; bin: string; index: number; count: number }[];
  /** Frames per interaction, in INTERACTIONS order ("none" included). */
  interaction: { name: (typeof INTERACTIONS)[number]; count: number }[];
}

/** Counts over every action of every episode given. */
export function actionHistograms(actionLists: readonly (readonly Action[])[]): ActionHistograms {
  const movement = MOVEMENT_KEYS.map((key) => ({ key, count: 0 }));
  const camera = (["yaw", "pitch"] as const).flatMap((axis) =>
    CAMERA_BINS.map((b, index) => ({ axis, bin: b.label, index, count: 0 })),
  );
  const interaction = INTERACTIONS.map((name) => ({ name, count: 0 }));
  let frames = 0;
  for (const list of actionLists) {
    for (const a of list) {
      frames++;
      a.movement.forEach((m, i) => (movement[i].count += m > 0.5 ? 1 : 0));
      camera[cameraBin(a.camera[0])].count++;
      camera[CAMERA_BINS.length + cameraBin(a.camera[1])].count++;
      if (a.interaction >= 0 && a.interaction < INTERACTIONS.length) interaction[a.interaction].count++;
    }
  }
  return { frames, movement, camera, interaction };
}
