/**
 * Does the dream hold still when the player does? From held-out states of the real game, the
 * player lets go of every key (no movement, still camera, no interaction) for a number of frames.
 * The real game then shows the same view (a door already sliding, or a jump already under way,
 * finish as they would), and a world model should show it too, frame after frame from its own
 * output. The scripted agents never stand still, so a model can learn that the view always moves;
 * this is the first thing a player meets who opens the Play page and waits.
 *
 * Reported: the mean PSNR of dream against real at each frame after letting go (over states), and
 * the mean over all frames with a 95% bootstrap interval over states.
 */
import * as tf from "@tensorflow/tfjs";
import { NO_ACTION, cloneAction, type Action } from "../actions/index.js";
import {
  FRAME_SIZE,
  bootstrapEstimate,
  mean,
  psnr,
  rgbaToTensor,
  type Estimate,
  type RgbaImage,
} from "../core/index.js";
import { createAgent, createGame } from "../game/index.js";
import type { LoadedModel } from "../models/index.js";
import { snapshotFrame } from "./branches.js";
import { worldModelOf, type WorldModelSettings } from "./world-model.js";

export interface StillState {
  /** Level seed and agent of the replayed episode, and the frame the player lets go at. */
  levelSeed: number;
  agent: string;
  frame: number;
  /** The last K + 1 real frames before letting go, as branch states hold them (./branches.ts). */
  context: RgbaImage[];
  /** `held[i]`: the agent's action on `context[i]` (it made `context[i + 1]`); K of them. */
  held: Action[];
  /** The real frames after 1, 2, ... frames of no action held on the last context frame. */
  real: RgbaImage[];
}

export interface StillStateOptions {
  /** Episodes to replay: a level seed and the agent that plays it (one state each). */
  episodes: readonly { seed: number; agent: string }[];
  /** K: context frames (the DiT's window). */
  contextFrames: number;
  /** Frames of standing still. */
  frames: number;
  /** The frame the player lets go at (default 40: past the level's opening view). */
  firstFrame?: number;
}

export interface StandingStillReport {
  states: number;
  frames: number;
  /** Mean PSNR (dB) of dream vs real at each frame after letting go (index 0: the first). */
  psnrByFrame: number[];
  /** Mean PSNR over every frame, with a 95% interval over states. */
  meanPsnr: Estimate;
  /** Mean PSNR at a few frame counts (1, 10, 30, 60, ... up to `frames`). */
  psnrAt: Record<string, number>;
  seconds: number;
}

/** Replays each episode to `firstFrame`, then holds no action for `frames` frames. Pure game logic. */
export function standingStillStates(options: StillStateOptions): StillState[] {
  const K = Math.max(1, options.contextFrames);
  const letGo = Math.max(K + 1, options.firstFrame ?? 40);
  const rgba = new Uint8ClampedArray(FRAME_SIZE * FRAME_SIZE * 4);
  return options.episodes.map(({ seed, agent: name }) => {
    const game = createGame({ seed });
    const agent = createAgent(name, seed);
    game.render(rgba);
    const frames: RgbaImage[] = [snapshotFrame(rgba)];
    const held: Action[] = [];
    for (let t = 0; t < letGo; t++) {
      const action = agent.act(game);
      game.step(action, rgba);
      frames.push(snapshotFrame(rgba));
      held.push(action);
      // Only the last K+1 frames and K actions are kept.
      if (frames.length > K + 1) frames.shift();
      if (held.length > K) held.shift();
    }
    const real: RgbaImage[] = [];
    for (let n = 0; n < options.frames; n++) {
      game.step(cloneAction(NO_ACTION), rgba);
      real.push(snapshotFrame(rgba));
    }
    return { levelSeed: seed, agent: name, frame: letGo, context: frames, held, real };
  });
}

const now = (): number => (typeof performance !== "undefined" ? performance.now() : Date.now());

/** Frame counts reported in `psnrAt`. */
const MARKS = [1, 10, 30, 60, 120, 300];

/** The dream of each state with no action held, against the real game's frames. */
export async function evaluateStandingStill(
  model: LoadedModel,
  states: readonly StillState[],
  options: {
    seed?: number;
    settings?: Partial<WorldModelSettings>;
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<StandingStillReport> {
  const started = now();
  const frames = Math.min(...states.map((s) => s.real.length));
  const perState: number[][] = [];
  const total = states.length * frames;
  for (const [i, state] of states.entries()) {
    const wm = worldModelOf(model, options.settings, options.seed ?? 0);
    const values: number[] = [];
    try {
      wm.start(state.context, state.held);
      for (let n = 0; n < frames; n++) {
        const out = wm.step(cloneAction(NO_ACTION));
        const score = tf.tidy(() => psnr(out.frame, rgbaToTensor(state.real[n])));
        values.push((await score.data())[0]);
        tf.dispose([score, out.frame, out.latent]);
        options.onProgress?.(i * frames + n + 1, total);
      }
    } finally {
      wm.dispose();
    }
    perState.push(values);
  }
  const psnrByFrame = Array.from({ length: frames }, (_, n) => mean(perState.map((v) => v[n])));
  const psnrAt: Record<string, number> = {};
  for (const m of MARKS) if (m <= frames) psnrAt[String(m)] = psnrByFrame[m - 1];
  return {
    states: states.length,
    frames,
    psnrByFrame,
    meanPsnr: bootstrapEstimate(
      perState.map((v) => [mean(v)]),
      mean,
      { seed: 3 },
    ),
    psnrAt,
    seconds: (now() - started) / 1000,
  };
}
