/**
 * Pairs a video's 30 fps frames with an action log (parsed by ../actions/schema.ts), one action per frame.
 *
 * Alignment is by time: log entry k happened at `offsetS + k / logFps` (seconds from the video's
 * first frame), and video frame i takes the entry in force at its centre, `(i + 0.5) / 30` - the
 * rule resample.ts applies to video frames. With the defaults (`logFps` 30, `offsetS` 0) this is
 * alignment by frame index: frame i gets entry i. A 60 Hz log keeps every other entry; a 20 Hz
 * log holds each entry for 1.5 frames.
 *
 * Length mismatch policy (`mismatch`), where "covered" frames are those whose centre falls inside
 * the log's span:
 * - `"error"` (default): more than `toleranceFrames` (default 1) uncovered frames or unused log
 *   entries is an ACTION_LENGTH_MISMATCH error that gives both lengths and the fix; within the
 *   tolerance the gap is padded by holding the last action.
 * - `"trim"`: keep only covered frames; unused entries are dropped.
 * - `"pad-repeat"` / `"pad-none"`: keep every frame; uncovered frames hold the nearest action
 *   (the first before the log starts, the last after it ends) or get NO_ACTION
 *   (`padActions` modes of ../actions/schema.ts). Unused entries are dropped.
 */
import { GamedreamError } from "../core/index.js";
import { NO_ACTION, cloneAction, type Action } from "../actions/index.js";
import { TARGET_FPS, TIE_EPSILON_S } from "./resample.js";

export type MismatchPolicy = "error" | "trim" | "pad-repeat" | "pad-none";

export interface PairingOptions {
  /** Rate of the log's `frame` column (entries per second); default 30. */
  logFps?: number;
  /** When log entry 0 happened, in seconds from the video's first frame (negative: before it). */
  offsetS?: number;
  mismatch?: MismatchPolicy;
  toleranceFrames?: number;
}

export interface Pairing {
  /** First video frame kept (above 0 only when `trim` drops frames before the log starts). */
  videoStart: number;
  /** One action per kept video frame. */
  actions: Action[];
  videoFrames: number;
  logEntries: number;
  /** Kept frames that no log entry covers (padded). */
  padded: number;
  /** Video frames dropped (trim). */
  droppedFrames: number;
  /** Log entries no kept frame uses, beyond those a higher log rate skips by design. */
  unusedEntries: number;
}

/** The log entry in force at video frame i's centre (may be < 0 or >= entries). */
function entryAt(i: number, logFps: number, offsetS: number): number {
  const t = (i + 0.5) / TARGET_FPS - offsetS;
  return Math.floor(t * logFps + TIE_EPSILON_S * logFps);
}

export function pairFramesWithActions(
  videoFrames: number,
  log: readonly Readonly<Action>[],
  options: PairingOptions = {},
): Pairing {
  const logFps = options.logFps ?? TARGET_FPS;
  const offsetS = options.offsetS ?? 0;
  const policy = options.mismatch ?? "error";
  const tolerance = options.toleranceFrames ?? 1;
  if (!(logFps > 0) || !Number.isFinite(offsetS)) {
    throw new GamedreamError(
      "ACTION_INVALID_ALIGNMENT",
      "action",
      `Action log rate must be above 0 and the offset finite (got ${logFps} per second, offset ${offsetS} s).`,
    );
  }
  if (log.length === 0) throw new GamedreamError("ACTION_EMPTY_LOG", "action", "The action log is empty.");

  const index = Array.from({ length: videoFrames }, (_, i) => entryAt(i, logFps, offsetS));
  const covered = index.filter((k) => k >= 0 && k < log.length).length;
  const uncovered = videoFrames - covered;
  // Entries after the last frame's centre (or before the first) that no frame could use.
  const lastUsable = videoFrames > 0 ? index[videoFrames - 1] : -1;
  const firstUsable = videoFrames > 0 ? index[0] : 0;
  const unusedEntries = Math.max(0, log.length - 1 - lastUsable) + Math.max(0, Math.min(log.length, firstUsable));

  if (policy === "error" && (uncovered > tolerance || unusedEntries > tolerance)) {
    const logSeconds = (log.length / logFps).toFixed(2);
    const videoSeconds = (videoFrames / TARGET_FPS).toFixed(2);
    throw new GamedreamError(
      "ACTION_LENGTH_MISMATCH",
      "action",
      `The action log does not match the video: ${log.length} entries at ${logFps}/s (${logSeconds} s) against ${videoFrames} frames at 30 fps (${videoSeconds} s); ` +
        `${uncovered} frame(s) have no action and ${unusedEntries} entr(y/ies) have no frame. Fix the log rate or offset, or choose a policy: trim, pad-repeat or pad-none.`,
      { details: { videoFrames, logEntries: log.length, logFps, offsetS, uncovered, unusedEntries } },
    );
  }

  if (policy === "trim") {
    const keep = index.map((k, i) => [k, i] as const).filter(([k]) => k >= 0 && k < log.length);
    const videoStart = keep.length ? keep[0][1] : 0;
    return {
      videoStart,
      actions: keep.map(([k]) => cloneAction(log[k])),
      videoFrames,
      logEntries: log.length,
      padded: 0,
      droppedFrames: videoFrames - keep.length,
      unusedEntries,
    };
  }

  // "error" within tolerance holds the nearest action, as "pad-repeat" does.
  const fill = (k: number): Readonly<Action> => {
    if (k >= 0 && k < log.length) return log[k];
    if (policy === "pad-none") return NO_ACTION;
    return k < 0 ? log[0] : log[log.length - 1];
  };
  return {
    videoStart: 0,
    actions: index.map((k) => cloneAction(fill(k))),
    videoFrames,
    logEntries: log.length,
    padded: uncovered,
    droppedFrames: 0,
    unusedEntries,
  };
}
