/**
 * The action format, one action per frame:
 * `{ movement: [forward, back, left, right] in {0,1}, camera: [yaw, pitch] in [-1,1], interaction: id }`.
 * Encoded for the model as a fixed vector: multi-hot movement (4), camera (2), one-hot interaction.
 *
 * Camera values are rates, not angles: yaw > 0 turns right and pitch > 0 looks up, by an amount
 * per frame proportional to the value (the game defines the full-scale rate). Keyboards, mice,
 * gamepads and touch sticks all map onto that same range here, so the model sees one action space
 * whatever the input device.
 */
import * as tf from "@tensorflow/tfjs";
import { GamedreamError } from "../core/index.js";

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

export const NO_ACTION: Readonly<Action> = Object.freeze({
  movement: [0, 0, 0, 0],
  camera: [0, 0],
  interaction: 0,
}) as Readonly<Action>;

/** Offsets of each part inside an encoded vector. */
export const ACTION_LAYOUT = {
  movement: 0,
  camera: MOVEMENT_KEYS.length,
  interaction: MOVEMENT_KEYS.length + 2,
} as const;

/** Interaction id by name, e.g. `INTERACTION_ID.use === 1`. */
export const INTERACTION_ID: Readonly<Record<InteractionName, number>> = Object.freeze(
  Object.fromEntries(INTERACTIONS.map((name, id) => [name, id])) as Record<InteractionName, number>,
);

/** A fresh, mutable copy of an action (the frozen NO_ACTION included). */
export function cloneAction(a: Readonly<Action>): Action {
  return {
    movement: [a.movement[0], a.movement[1], a.movement[2], a.movement[3]],
    camera: [a.camera[0], a.camera[1]],
    interaction: a.interaction,
  };
}

export function actionsEqual(a: Readonly<Action>, b: Readonly<Action>): boolean {
  return (
    a.interaction === b.interaction &&
    a.camera[0] === b.camera[0] &&
    a.camera[1] === b.camera[1] &&
    a.movement.every((v, i) => v === b.movement[i])
  );
}

/**
 * Merges actions from several devices held at once (keyboard, gamepad, touch pad): a movement key
 * is pressed when any device presses it, camera rates add and clamp to [-1, 1], the first device
 * with an interaction wins.
 */
export function combineActions(actions: readonly Readonly<Action>[]): Action {
  const out = cloneAction(NO_ACTION);
  for (const a of actions) {
    for (let i = 0; i < 4; i++) out.movement[i] = out.movement[i] || (a.movement[i] > 0.5 ? 1 : 0);
    for (let i = 0; i < 2; i++) out.camera[i] = Math.max(-1, Math.min(1, out.camera[i] + a.camera[i]));
    if (out.interaction === 0) out.interaction = a.interaction;
  }
  return out;
}

/**
 * An action in words, for pages: the movement keys held (above 0.5), then the camera ("turn
 * left"/"turn right" for yaw, "look up"/"look down" for pitch) and the interaction, joined by
 * " + " ("forward + turn right + use"); "none" when nothing is held. With `rates`, each camera
 * part carries its rate ("turn right 0.5"), for logs whose rates vary.
 */
export function describeAction(a: Readonly<Action>, options: { rates?: boolean } = {}): string {
  const parts: string[] = MOVEMENT_KEYS.filter((_, i) => a.movement[i] > 0.5);
  const rate = (v: number) => (options.rates ? ` ${Number(Math.abs(v).toFixed(2))}` : "");
  if (a.camera[0]) parts.push(`${a.camera[0] > 0 ? "turn right" : "turn left"}${rate(a.camera[0])}`);
  if (a.camera[1]) parts.push(`${a.camera[1] > 0 ? "look up" : "look down"}${rate(a.camera[1])}`);
  if (a.interaction) parts.push(INTERACTIONS[a.interaction] ?? `interaction ${a.interaction}`);
  return parts.length ? parts.join(" + ") : "none";
}

// ---------------------------------------------------------------------------------------------
// Validation

/** Error codes this module raises (all of type "action"). */
export type ActionErrorCode =
  | "ACTION_NOT_OBJECT"
  | "ACTION_INVALID_MOVEMENT"
  | "ACTION_INVALID_CAMERA"
  | "ACTION_UNKNOWN_INTERACTION"
  | "ACTION_INVALID_FRAME"
  | "ACTION_MISSING_FRAME"
  | "ACTION_DUPLICATE_FRAME"
  | "ACTION_LOG_PARSE"
  | "ACTION_EMPTY_LOG";

function actionError(
  code: ActionErrorCode,
  frame: number | undefined,
  field: string | undefined,
  problem: string,
  extra: Record<string, unknown> = {},
): GamedreamError {
  const where = frame === undefined ? "Action" : `Action at frame ${frame}`;
  const what = field === undefined ? "" : ` field "${field}"`;
  return new GamedreamError(code, "action", `${where}${what}: ${problem}`, {
    recoverable: true,
    details: { frame, field, ...extra },
  });
}

function describeValue(v: unknown): string {
  if (typeof v === "number") return Number.isNaN(v) ? "NaN" : String(v);
  if (v === undefined) return "missing";
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/**
 * Checks one action and returns a clean copy. Interactions may be given as an id or a name
 * (`"use"`); the copy always holds the id. Throws a GamedreamError naming the field and the
 * frame: NaN, wrong length, out of range, unknown interaction.
 */
export function validateAction(value: unknown, frame?: number): Action {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw actionError(
      "ACTION_NOT_OBJECT",
      frame,
      undefined,
      `expected an object { movement, camera, interaction }, got ${describeValue(value)}.`,
    );
  }
  const v = value as Record<string, unknown>;

  const movement = v.movement;
  if (!Array.isArray(movement) || movement.length !== MOVEMENT_KEYS.length) {
    const got = Array.isArray(movement) ? `${movement.length} values` : describeValue(movement);
    throw actionError(
      "ACTION_INVALID_MOVEMENT",
      frame,
      "movement",
      `expected 4 values [forward, back, left, right], got ${got}.`,
      { reason: "length" },
    );
  }
  movement.forEach((m, i) => {
    if (m !== 0 && m !== 1 && m !== true && m !== false) {
      const reason = typeof m === "number" && Number.isNaN(m) ? "nan" : "range";
      throw actionError(
        "ACTION_INVALID_MOVEMENT",
        frame,
        `movement[${i}] (${MOVEMENT_KEYS[i]})`,
        `expected 0 or 1, got ${describeValue(m)}.`,
        { reason },
      );
    }
  });

  const camera = v.camera;
  if (!Array.isArray(camera) || camera.length !== 2) {
    const got = Array.isArray(camera) ? `${camera.length} values` : describeValue(camera);
    throw actionError("ACTION_INVALID_CAMERA", frame, "camera", `expected 2 values [yaw, pitch], got ${got}.`, {
      reason: "length",
    });
  }
  camera.forEach((c, i) => {
    const name = `camera[${i}] (${i === 0 ? "yaw" : "pitch"})`;
    if (typeof c !== "number" || Number.isNaN(c)) {
      throw actionError(
        "ACTION_INVALID_CAMERA",
        frame,
        name,
        `expected a number in [-1, 1], got ${describeValue(c)}.`,
        { reason: "nan" },
      );
    }
    if (c < -1 || c > 1) {
      throw actionError("ACTION_INVALID_CAMERA", frame, name, `${c} is out of range; expected a number in [-1, 1].`, {
        reason: "range",
      });
    }
  });

  const interaction = parseInteraction(v.interaction, frame);
  return {
    movement: movement.map((m) => (m === true || m === 1 ? 1 : 0)) as Action["movement"],
    camera: [camera[0] === 0 ? 0 : camera[0], camera[1] === 0 ? 0 : camera[1]],
    interaction,
  };
}

function parseInteraction(value: unknown, frame?: number): number {
  const known = INTERACTIONS.map((n, i) => `${i} (${n})`).join(", ");
  if (typeof value === "string") {
    const trimmed = value.trim();
    const byName = INTERACTIONS.indexOf(trimmed as InteractionName);
    if (byName >= 0) return byName;
    if (/^\d+$/.test(trimmed)) return parseInteraction(Number(trimmed), frame);
  } else if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value < INTERACTIONS.length) {
    return value;
  }
  throw actionError(
    "ACTION_UNKNOWN_INTERACTION",
    frame,
    "interaction",
    `unknown interaction ${describeValue(value)}; known: ${known}.`,
  );
}

/** Validates a list of actions; frame indices in errors are list positions. */
export function validateActions(values: readonly unknown[]): Action[] {
  return values.map((v, i) => validateAction(v, i));
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Writes one action's vector into `out` at `offset` (ACTION_DIM floats): movement multi-hot
 * (values above 0.5 count as pressed), camera clamped to [-1, 1] (NaN becomes 0), interaction
 * one-hot (an unknown id encodes as "none"). Encoding never throws, so live input can be fed
 * straight in; validate logs before encoding them to report problems instead.
 */
export function encodeActionInto(a: Readonly<Action>, out: Float32Array, offset = 0): void {
  for (let i = 0; i < MOVEMENT_KEYS.length; i++) out[offset + ACTION_LAYOUT.movement + i] = a.movement[i] > 0.5 ? 1 : 0;
  for (let i = 0; i < 2; i++) out[offset + ACTION_LAYOUT.camera + i] = clampUnit(a.camera[i]);
  const id =
    Number.isInteger(a.interaction) && a.interaction >= 0 && a.interaction < INTERACTIONS.length ? a.interaction : 0;
  for (let i = 0; i < INTERACTIONS.length; i++) out[offset + ACTION_LAYOUT.interaction + i] = i === id ? 1 : 0;
}

/** One action -> Float32Array(ACTION_DIM). */
export function encodeAction(a: Readonly<Action>): Float32Array {
  const out = new Float32Array(ACTION_DIM);
  encodeActionInto(a, out);
  return out;
}

/** T actions -> Float32Array(T * ACTION_DIM), row-major `[T, ACTION_DIM]`. */
export function encodeActionsToArray(list: readonly Readonly<Action>[]): Float32Array {
  const out = new Float32Array(list.length * ACTION_DIM);
  list.forEach((a, t) => encodeActionInto(a, out, t * ACTION_DIM));
  return out;
}

/** T actions -> tensor `[T, ACTION_DIM]`. */
export function encodeActions(list: readonly Readonly<Action>[]): tf.Tensor2D {
  return tf.tensor2d(encodeActionsToArray(list), [list.length, ACTION_DIM]);
}

/**
 * The inverse of `encodeActionInto` for one vector at `offset`: movement thresholded at 0.5,
 * camera clamped, interaction = argmax of the one-hot part.
 */
export function decodeAction(vec: ArrayLike<number>, offset = 0): Action {
  const m = (i: number) => (vec[offset + ACTION_LAYOUT.movement + i] > 0.5 ? 1 : 0);
  let best = 0;
  for (let i = 1; i < INTERACTIONS.length; i++) {
    if (vec[offset + ACTION_LAYOUT.interaction + i] > vec[offset + ACTION_LAYOUT.interaction + best]) best = i;
  }
  return {
    movement: [m(0), m(1), m(2), m(3)],
    camera: [clampUnit(vec[offset + ACTION_LAYOUT.camera]), clampUnit(vec[offset + ACTION_LAYOUT.camera + 1])],
    interaction: best,
  };
}

/** `[T, ACTION_DIM]` (tensor or flat row-major array) -> T actions. */
export function decodeActions(encoded: tf.Tensor2D | Float32Array): Action[] {
  const data = encoded instanceof Float32Array ? encoded : (encoded.dataSync() as Float32Array);
  if (data.length % ACTION_DIM !== 0) {
    throw new GamedreamError(
      "ACTION_INVALID_ENCODING",
      "action",
      `Encoded actions have ${data.length} values, not a multiple of ACTION_DIM = ${ACTION_DIM}.`,
      { recoverable: false },
    );
  }
  const out: Action[] = [];
  for (let o = 0; o < data.length; o += ACTION_DIM) out.push(decodeAction(data, o));
  return out;
}

function clampUnit(x: number): number {
  if (Number.isNaN(x)) return 0;
  const c = x < -1 ? -1 : x > 1 ? 1 : x;
  return c === 0 ? 0 : c; // no -0, so encodings compare and print cleanly
}

// ---------------------------------------------------------------------------------------------
// Padding and truncation

export type PadMode = "repeat-last" | "no-action";

/**
 * Fits an action sequence to exactly `length` frames, aligned at frame 0:
 * - longer: the first `length` actions are kept (later ones are dropped);
 * - shorter, `"repeat-last"` (default): the last action is held, as if its keys stayed pressed
 *   (camera rates and the interaction included); an empty list pads with NO_ACTION;
 * - shorter, `"no-action"`: padded with NO_ACTION, as if every key was released.
 * Returns fresh copies; the input is not modified.
 */
export function padActions(
  list: readonly Readonly<Action>[],
  length: number,
  options: { mode?: PadMode } = {},
): Action[] {
  if (!Number.isInteger(length) || length < 0) {
    throw new GamedreamError(
      "ACTION_INVALID_LENGTH",
      "action",
      `Cannot pad actions to length ${length}; expected a whole number >= 0.`,
    );
  }
  const mode = options.mode ?? "repeat-last";
  const out = list.slice(0, length).map(cloneAction);
  const filler = mode === "repeat-last" && list.length > 0 ? list[list.length - 1] : NO_ACTION;
  while (out.length < length) out.push(cloneAction(filler));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Action logs (JSON and CSV)

export const ACTION_CSV_HEADER = ["frame", "forward", "back", "left", "right", "yaw", "pitch", "interaction"] as const;

/**
 * Orders `{frame, action}` rows into a list indexed by frame. Frames must be whole numbers
 * covering 0..N-1 exactly once (a gap is ACTION_MISSING_FRAME, a repeat ACTION_DUPLICATE_FRAME);
 * use `padActions` afterwards to fit the log to a video's frame count.
 */
function orderByFrame(rows: { frame: unknown; action: unknown; line?: number }[]): Action[] {
  const byFrame = new Map<number, Action>();
  for (const row of rows) {
    const f = typeof row.frame === "string" && row.frame.trim() !== "" ? Number(row.frame) : row.frame;
    if (typeof f !== "number" || !Number.isInteger(f) || f < 0) {
      const at = row.line === undefined ? "" : ` (line ${row.line})`;
      throw new GamedreamError(
        "ACTION_INVALID_FRAME",
        "action",
        `Action log${at} field "frame": expected a whole number >= 0, got ${describeValue(row.frame)}.`,
        { details: { field: "frame", line: row.line } },
      );
    }
    if (byFrame.has(f))
      throw actionError("ACTION_DUPLICATE_FRAME", f, "frame", "appears more than once in the log.", { line: row.line });
    byFrame.set(f, validateAction(row.action, f));
  }
  const out: Action[] = [];
  for (let f = 0; f < byFrame.size; f++) {
    const a = byFrame.get(f);
    if (a === undefined) {
      const last = Math.max(...byFrame.keys());
      throw actionError(
        "ACTION_MISSING_FRAME",
        f,
        "frame",
        `is missing from the log (frames must cover 0..${last} without gaps).`,
      );
    }
    out.push(a);
  }
  return out;
}

/**
 * Parses a JSON action log: either an array of actions (frame = position) or an array of objects
 * that each carry a `frame` number next to the action fields. Returns actions ordered by frame.
 */
export function parseActionsJson(text: string): Action[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new GamedreamError(
      "ACTION_LOG_PARSE",
      "action",
      `The action log is not valid JSON: ${(e as Error).message}.`,
      { cause: e },
    );
  }
  if (!Array.isArray(data)) {
    throw new GamedreamError(
      "ACTION_LOG_PARSE",
      "action",
      'The action log must be a JSON array of actions (optionally each with a "frame" field).',
    );
  }
  if (data.length === 0) throw new GamedreamError("ACTION_EMPTY_LOG", "action", "The action log is empty.");
  const withFrame = data.filter((d) => typeof d === "object" && d !== null && "frame" in d).length;
  if (withFrame === 0) return validateActions(data);
  if (withFrame !== data.length) {
    const i = data.findIndex((d) => !(typeof d === "object" && d !== null && "frame" in d));
    throw new GamedreamError(
      "ACTION_INVALID_FRAME",
      "action",
      `Action log entry ${i} has no "frame" field while others do; give every entry a frame or none.`,
      { details: { field: "frame", index: i } },
    );
  }
  return orderByFrame(data.map((d) => ({ frame: (d as { frame: unknown }).frame, action: d })));
}

/** Writes an action log as a JSON array of `{ frame, movement, camera, interaction }`. */
export function actionsToJson(list: readonly Readonly<Action>[]): string {
  const rows = list.map((a, frame) =>
    JSON.stringify({ frame, movement: a.movement, camera: a.camera, interaction: a.interaction }),
  );
  return `[\n${rows.join(",\n")}\n]\n`;
}

/**
 * Parses a CSV action log with the header `frame,forward,back,left,right,yaw,pitch,interaction`
 * (columns in any order; `interaction` as an id or a name). Returns actions ordered by frame.
 */
export function parseActionsCsv(text: string): Action[] {
  const lines = text
    .split(/\r?\n/)
    .map((l, i) => ({ text: l.trim(), line: i + 1 }))
    .filter((l) => l.text !== "" && !l.text.startsWith("#"));
  if (lines.length === 0) throw new GamedreamError("ACTION_EMPTY_LOG", "action", "The action log is empty.");
  const header = lines[0].text.split(",").map((h) => h.trim().toLowerCase());
  const missing = ACTION_CSV_HEADER.filter((h) => !header.includes(h));
  if (missing.length > 0) {
    throw new GamedreamError(
      "ACTION_LOG_PARSE",
      "action",
      `The CSV action log lacks column(s) ${missing.join(", ")}; expected the header ${ACTION_CSV_HEADER.join(",")}.`,
      { details: { missing } },
    );
  }
  const col = Object.fromEntries(ACTION_CSV_HEADER.map((h) => [h, header.indexOf(h)])) as Record<
    (typeof ACTION_CSV_HEADER)[number],
    number
  >;
  if (lines.length === 1)
    throw new GamedreamError("ACTION_EMPTY_LOG", "action", "The CSV action log has a header but no rows.");
  const rows = lines.slice(1).map(({ text: l, line }) => {
    const cells = l.split(",").map((c) => c.trim());
    if (cells.length !== header.length) {
      throw new GamedreamError(
        "ACTION_LOG_PARSE",
        "action",
        `CSV line ${line} has ${cells.length} cells; the header has ${header.length}.`,
        { details: { line } },
      );
    }
    const num = (c: string) => (c === "" ? Number.NaN : Number(c));
    const action = {
      movement: [num(cells[col.forward]), num(cells[col.back]), num(cells[col.left]), num(cells[col.right])],
      camera: [num(cells[col.yaw]), num(cells[col.pitch])],
      interaction: cells[col.interaction],
    };
    return { frame: cells[col.frame], action, line };
  });
  return orderByFrame(rows);
}

/** Writes an action log as CSV with the header `frame,forward,back,left,right,yaw,pitch,interaction`. */
export function actionsToCsv(list: readonly Readonly<Action>[]): string {
  const rows = list.map((a, f) => [f, ...a.movement, a.camera[0], a.camera[1], a.interaction].join(","));
  return `${ACTION_CSV_HEADER.join(",")}\n${rows.join("\n")}\n`;
}

/**
 * Parses an action log whose format is given, or guessed from the file name (`.json`/`.csv`)
 * and otherwise from the first character (`[` means JSON).
 */
export function parseActionLog(text: string, format?: "json" | "csv" | string): Action[] {
  const f = format?.toLowerCase() ?? "";
  if (f === "json" || f.endsWith(".json")) return parseActionsJson(text);
  if (f === "csv" || f.endsWith(".csv")) return parseActionsCsv(text);
  return text.trimStart().startsWith("[") ? parseActionsJson(text) : parseActionsCsv(text);
}

// ---------------------------------------------------------------------------------------------
// Input devices -> actions

/**
 * The keyboard map, as data so pages can print it. Keys are `KeyboardEvent.code` values (they
 * name physical keys, so the map holds on AZERTY and other layouts). Looking uses the I/J/K/L
 * cluster so the right hand looks while the left moves, and no key has two meanings.
 */
export const KEYMAP = {
  forward: ["KeyW", "ArrowUp"],
  back: ["KeyS", "ArrowDown"],
  left: ["KeyA", "ArrowLeft"],
  right: ["KeyD", "ArrowRight"],
  yawLeft: ["KeyJ"],
  yawRight: ["KeyL"],
  pitchUp: ["KeyI"],
  pitchDown: ["KeyK"],
  use: ["KeyE", "Enter"],
  jump: ["Space"],
} as const satisfies Record<string, readonly string[]>;

export type KeymapControl = keyof typeof KEYMAP;

/** Human labels for KEYMAP entries, for help text. */
export const KEYMAP_LABELS: Readonly<Record<KeymapControl, string>> = {
  forward: "move forward",
  back: "move back",
  left: "strafe left",
  right: "strafe right",
  yawLeft: "turn left",
  yawRight: "turn right",
  pitchUp: "look up",
  pitchDown: "look down",
  use: "use (open a door)",
  jump: "jump",
};

export interface KeyboardOptions {
  /** Mouse movement since the last frame in CSS pixels, `[dx, dy]` (dy > 0 is down). */
  mouseDelta?: [number, number];
  /** Pixels of mouse movement per frame that give a full-scale camera rate (default 24). */
  mousePixelsPerUnit?: number;
  /** Camera rate a held look key gives (default 1). */
  keyCameraRate?: number;
}

/**
 * Keyboard (+ optional mouse) state -> action. `pressed` holds `KeyboardEvent.code` values of the
 * keys down this frame. Opposite keys cancel out; key and mouse camera rates add, then clamp.
 * When `use` and `jump` are both held, `use` wins (one interaction per frame; doors matter more).
 */
export function actionFromKeyboard(pressed: Iterable<string>, options: KeyboardOptions = {}): Action {
  const down = pressed instanceof Set ? (pressed as ReadonlySet<string>) : new Set(pressed);
  const held = (c: KeymapControl) => KEYMAP[c].some((k) => down.has(k));
  const rate = options.keyCameraRate ?? 1;
  const perUnit = options.mousePixelsPerUnit ?? 24;
  const [dx, dy] = options.mouseDelta ?? [0, 0];
  const axis = (pos: boolean, neg: boolean) => (pos ? 1 : 0) - (neg ? 1 : 0);
  const fwd = axis(held("forward"), held("back"));
  const side = axis(held("right"), held("left"));
  return {
    movement: [fwd > 0 ? 1 : 0, fwd < 0 ? 1 : 0, side < 0 ? 1 : 0, side > 0 ? 1 : 0],
    camera: [
      clampUnit(axis(held("yawRight"), held("yawLeft")) * rate + dx / perUnit),
      clampUnit(axis(held("pitchUp"), held("pitchDown")) * rate - dy / perUnit),
    ],
    interaction: held("use") ? INTERACTION_ID.use : held("jump") ? INTERACTION_ID.jump : INTERACTION_ID.none,
  };
}

/**
 * A gamepad as plain numbers (the browser's `Gamepad.axes` and `buttons[i].value`), standard
 * mapping: axes 0/1 = left stick (move/strafe, y < 0 is up), axes 2/3 = right stick (look);
 * button 0 (A / cross) = jump, button 2 (X / square) = use.
 */
export interface GamepadState {
  axes: readonly number[];
  buttons: readonly number[];
}

export const GAMEPAD_MAP = { moveX: 0, moveY: 1, lookX: 2, lookY: 3, jumpButton: 0, useButton: 2 } as const;

/**
 * Gamepad -> action. Stick deflections under `deadzone` (default 0.2) count as centred; the
 * left stick presses a movement key past `moveThreshold` (default 0.5); the right stick's
 * deflection beyond the dead zone is rescaled to a camera rate in [-1, 1].
 */
export function actionFromGamepad(
  pad: GamepadState,
  options: { deadzone?: number; moveThreshold?: number } = {},
): Action {
  const dz = options.deadzone ?? 0.2;
  const th = options.moveThreshold ?? 0.5;
  const axis = (i: number) => {
    const v = pad.axes[i] ?? 0;
    return Number.isFinite(v) ? v : 0;
  };
  const look = (v: number) => (Math.abs(v) <= dz ? 0 : clampUnit((Math.sign(v) * (Math.abs(v) - dz)) / (1 - dz)));
  const mx = axis(GAMEPAD_MAP.moveX);
  const my = axis(GAMEPAD_MAP.moveY);
  const pressed = (b: number) => (pad.buttons[b] ?? 0) > 0.5;
  return {
    movement: [my < -th ? 1 : 0, my > th ? 1 : 0, mx < -th ? 1 : 0, mx > th ? 1 : 0],
    camera: [look(axis(GAMEPAD_MAP.lookX)), look(-axis(GAMEPAD_MAP.lookY))],
    interaction: pressed(GAMEPAD_MAP.useButton)
      ? INTERACTION_ID.use
      : pressed(GAMEPAD_MAP.jumpButton)
        ? INTERACTION_ID.jump
        : INTERACTION_ID.none,
  };
}

/**
 * On-screen touch controls as plain data: two virtual sticks with positions in the unit square
 * `[-1, 1]^2` (y > 0 is down, like screen coordinates) and two buttons.
 */
export interface TouchState {
  move: [number, number];
  look: [number, number];
  use: boolean;
  jump: boolean;
}

/** Touch -> action: the move stick presses a key past `moveThreshold` (default 0.35); the look stick is the camera rate. */
export function actionFromTouch(touch: TouchState, options: { moveThreshold?: number } = {}): Action {
  const th = options.moveThreshold ?? 0.35;
  const [mx, my] = touch.move;
  return {
    movement: [my < -th ? 1 : 0, my > th ? 1 : 0, mx < -th ? 1 : 0, mx > th ? 1 : 0],
    camera: [clampUnit(touch.look[0]), clampUnit(-touch.look[1])],
    interaction: touch.use ? INTERACTION_ID.use : touch.jump ? INTERACTION_ID.jump : INTERACTION_ID.none,
  };
}
