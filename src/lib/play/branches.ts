/**
 * Branch points of the real game, for measuring whether a world model obeys its actions: the game
 * is replayed by a scripted agent to a state, and from that one state it is stepped twice, with two
 * actions that differ in one factor (yaw -1 vs +1, forward vs none, pitch -1 vs +1). The two real
 * next frames are what the two dreams from the same context should look like.
 *
 * Pure game logic (no tensors): the frames are RGBA images, the actions `Action`s, so branches
 * can be built in Node, in a page or in a worker, and cached as plain data.
 */
import { cloneAction, type Action } from "../actions/index.js";
import { FRAME_SIZE, type RgbaImage } from "../core/index.js";
import { createAgent, createGame } from "../game/index.js";

export const BRANCH_FACTORS = ["yaw", "forward", "pitch"] as const;
export type BranchFactor = (typeof BRANCH_FACTORS)[number];

export interface BranchPair {
  factor: BranchFactor;
  a: Action;
  b: Action;
  /** The real frame after holding `a` (resp. `b`) on the state's last context frame. */
  realA: RgbaImage;
  realB: RgbaImage;
}

export interface BranchState {
  /** Level seed and agent of the replayed episode, and the frame index branched from. */
  levelSeed: number;
  agent: string;
  frame: number;
  /** Frames t-K .. t (the last one is on screen when the action is held). */
  context: RgbaImage[];
  /** `held[i]`: the action held on `context[i]`, for i < K (it made `context[i + 1]`). */
  held: Action[];
  pairs: BranchPair[];
}

export interface BranchOptions {
  /** Episodes to replay: a level seed and the agent that plays it. */
  episodes: readonly { seed: number; agent: string }[];
  /** Branch points per episode (default 8). */
  statesPerEpisode?: number;
  /** K: context frames before the branch frame (the DiT's window). */
  contextFrames: number;
  /** First branch frame (default 24) and frames between branch points (default 17). */
  firstFrame?: number;
  spacing?: number;
  factors?: readonly BranchFactor[];
}

/** The agent's action with one factor set to the pair's two values. */
export function branchActions(base: Readonly<Action>, factor: BranchFactor): [Action, Action] {
  const a = cloneAction(base);
  const b = cloneAction(base);
  switch (factor) {
    case "yaw":
      a.camera[0] = -1;
      b.camera[0] = 1;
      break;
    case "pitch":
      a.camera[1] = -1;
      b.camera[1] = 1;
      break;
    case "forward":
      a.movement = [1, 0, 0, 0];
      b.movement = [0, 0, 0, 0];
      break;
  }
  return [a, b];
}

/** A copy of the game's RGBA frame buffer as an image (the buffer is drawn over by the next step). */
export function snapshotFrame(data: Uint8ClampedArray): RgbaImage {
  return { data: data.slice(), width: FRAME_SIZE, height: FRAME_SIZE };
}

/** Replays each episode and branches it at `statesPerEpisode` evenly spaced frames. */
export function gameBranches(options: BranchOptions): BranchState[] {
  const K = Math.max(1, options.contextFrames);
  const perEpisode = options.statesPerEpisode ?? 8;
  const first = Math.max(K, options.firstFrame ?? 24);
  const spacing = Math.max(1, options.spacing ?? 17);
  const factors = options.factors ?? BRANCH_FACTORS;
  const states: BranchState[] = [];
  const rgba = new Uint8ClampedArray(FRAME_SIZE * FRAME_SIZE * 4);
  const scratch = new Uint8ClampedArray(FRAME_SIZE * FRAME_SIZE * 4);
  for (const episode of options.episodes) {
    const game = createGame({ seed: episode.seed });
    const agent = createAgent(episode.agent, episode.seed);
    game.render(rgba);
    const frames: RgbaImage[] = [snapshotFrame(rgba)];
    const held: Action[] = [];
    const last = first + spacing * (perEpisode - 1);
    for (let t = 0; t <= last; t++) {
      const action = agent.act(game);
      if (t >= first && (t - first) % spacing === 0) {
        const snapshot = game.state;
        const pairs = factors.map((factor) => {
          const [a, b] = branchActions(action, factor);
          game.setState(snapshot);
          game.step(a, scratch);
          const realA = snapshotFrame(scratch);
          game.setState(snapshot);
          game.step(b, scratch);
          return { factor, a, b, realA, realB: snapshotFrame(scratch) };
        });
        game.setState(snapshot);
        states.push({
          levelSeed: episode.seed,
          agent: episode.agent,
          frame: t,
          context: frames.slice(-(K + 1)),
          held: held.slice(-K),
          pairs,
        });
      }
      game.step(action, rgba);
      frames.push(snapshotFrame(rgba));
      held.push(action);
      // Only the last K+1 frames are ever needed.
      if (frames.length > K + 1) frames.shift();
      if (held.length > K) held.shift();
    }
  }
  return states;
}
