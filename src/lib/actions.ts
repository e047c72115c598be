/**
 * The PRD action format, one action per frame:
 * `{ movement: [forward, back, left, right] in {0,1}, camera: [yaw, pitch] in [-1,1], interaction: id }`.
 * Encoded for the model as a fixed vector: multi-hot movement (4), camera (2), one-hot interaction.
 */

/** Interaction ids; 0 is "none". The built-in game uses `use` to open doors. */
export const INTERACTIONS = ["none", "use", "jump"] as const;
export type InteractionName = (typeof INTERACTIONS)[number];

export const MOVEMENT_KEYS = ["forward", "back", "left", "right"] as const;

export interface Action {
  movement: [number, number, number, number];
  camera: [number, number];
  interaction: number;
}

/** Length of an encoded action vector: 4 movement + 2 camera + one-hot interactions. */
export const ACTION_DIM = MOVEMENT_KEYS.length + 2 + INTERACTIONS.length;

export const NO_ACTION: Readonly<Action> = Object.freeze({ movement: [0, 0, 0, 0], camera: [0, 0], interaction: 0 }) as Readonly<Action>;
