/**
 * Does a model follow its actions? A fixed action script (turn left, then right) played on the
 * built-in game and, from the same first frames, by the world model: the training dashboard shows
 * the two rows side by side as a run learns (../train/session.ts), so a user sees whether the dream
 * turns when the game does. Runs a PlaySession (./session.ts) without keeping host weights.
 */
import { cloneAction, NO_ACTION, type Action } from "../actions/index.js";
import { PlaySession, type PlayModel } from "./session.js";
import type { WorldModelSettings } from "./world-model.js";

function turn(yaw: number): Action {
  return { ...cloneAction(NO_ACTION), camera: [yaw, 0] };
}

/** Five frames turning left, then five turning right (camera yaw -1, then +1). */
export const TURN_SCRIPT: readonly Readonly<Action>[] = Object.freeze([
  ...Array.from({ length: 5 }, () => turn(-1)),
  ...Array.from({ length: 5 }, () => turn(1)),
]);

export interface ScriptedDream {
  /** The action held on the frame before each pair (the one that produced it). */
  actions: Action[];
  /** RGBA 256x256 frames of the built-in game, one per scripted action. */
  real: Uint8ClampedArray[];
  /** The world model's frames for the same actions, from the same start. */
  dream: Uint8ClampedArray[];
}

/**
 * Plays `script` on level `level` of the built-in game and in the world model side by side. The
 * caller keeps ownership of `model`; nothing else is left allocated.
 */
export async function scriptedDream(
  model: PlayModel,
  options: {
    level: number;
    seed: number;
    script?: readonly Readonly<Action>[];
    settings?: Partial<WorldModelSettings>;
  },
): Promise<ScriptedDream> {
  const session = await PlaySession.create({
    model,
    gameSeed: options.level,
    seed: options.seed,
    settings: options.settings,
    keepHostWeights: false,
  });
  const out: ScriptedDream = { actions: [], real: [], dream: [] };
  try {
    for (const action of options.script ?? TURN_SCRIPT) {
      const frame = await session.step(action);
      out.actions.push(frame.action);
      out.real.push(frame.real!.data);
      out.dream.push(frame.dream.data);
    }
    return out;
  } finally {
    session.dispose();
  }
}
