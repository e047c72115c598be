/**
 * Data a person brings, as datasets like any other (dataset.ts): their own play of the built-in
 * game, recorded frame by frame with the actions they held, or an uploaded video with its action
 * log. Both are saved as one-episode datasets with nothing held out (all of it is for training);
 * the play page can start a dream from a dataset's first frames, and the data page can view one.
 *
 * Alignment is the dataset's: `actions[t]` is the input held while frame `t` was on screen. While
 * recording, the frame on screen waits until the action held on it is known (the next step).
 *
 * Host-independent: the browser stores datasets in IndexedDB (user-datasets.browser.ts), tests in
 * memory.
 */
import { NO_ACTION, cloneAction, type Action } from "../actions/index.js";
import {
  DatasetReader,
  buildDataset,
  episodeFromFrames,
  seedFromId,
  type DatasetManifest,
  type DatasetStore,
  type EpisodeMeta,
} from "./dataset.js";
import { GamedreamError, RGB_FRAME_BYTES, rgbaToRgb } from "../core/index.js";

/** Stored frames to dream from instead of the built-in game (e.g. the start of an uploaded video). */
export interface StartFrames {
  /** Words for messages: the dataset and episode. */
  name: string;
  /** RGB uint8 frames `[256, 256, 3]`, oldest first; the last K seed the dream. */
  frames: Uint8Array[];
  /** `actions[t]` was held while `frames[t]` was on screen (the dataset alignment). */
  actions: Action[];
}

/** Frames a recording keeps at most: each is 192 KB of RGB in memory until it is saved (20 s at 30 fps). */
export const MAX_RECORDED_FRAMES = 600;

/** A dataset name: letters, digits, spaces, `.`, `_`, `-`; 1 to 64 characters. */
export function checkDatasetName(name: string): string {
  const clean = name.trim();
  if (!/^[\w .-]{1,64}$/.test(clean)) {
    throw new GamedreamError(
      "DATASET_BAD_NAME",
      "validation",
      `“${name}” cannot name a dataset: use 1 to 64 letters, digits, spaces, dots, dashes or underscores.`,
      { recoverable: true },
    );
  }
  return clean;
}

/** Frames and the actions held on them, ready to store. */
export interface RecordedEpisode {
  /** RGB uint8 frames `[256, 256, 3]`. */
  frames: Uint8Array[];
  actions: Action[];
}

/**
 * Records the built-in game as it is played: `begin` with the frame on screen, then `add` the
 * action held on it and the frame it produced, once per step. Stops taking frames at `maxFrames`.
 */
export class GameplayRecorder {
  private readonly frames: Uint8Array[] = [];
  private readonly actions: Action[] = [];
  private pending: Uint8Array | null = null;

  constructor(
    readonly level: number,
    private readonly maxFrames = MAX_RECORDED_FRAMES,
  ) {}

  /** Frames recorded so far (each with its action). */
  get count(): number {
    return this.frames.length;
  }

  get full(): boolean {
    return this.frames.length >= this.maxFrames;
  }

  /** The frame on screen when recording starts (RGBA 256x256). */
  begin(rgba: ArrayLike<number>): void {
    this.pending = rgbaToRgb(rgba);
  }

  /** `action` was held on the pending frame and produced `next` (RGBA). False once full. */
  add(action: Readonly<Action>, next: ArrayLike<number>): boolean {
    if (this.pending === null)
      throw new GamedreamError(
        "RECORDING_NOT_STARTED",
        "internal",
        "add() before begin(): a recording starts from the frame on screen.",
        { recoverable: false },
      );
    if (this.full) return false;
    this.frames.push(this.pending);
    this.actions.push(cloneAction(action));
    this.pending = rgbaToRgb(next);
    return true;
  }

  /** What was recorded (the last frame on screen has no action yet and is left out). */
  finish(): RecordedEpisode {
    this.pending = null;
    return { frames: this.frames.splice(0), actions: this.actions.splice(0) };
  }
}

/** What a user dataset holds and where it came from. */
export interface UserEpisode extends RecordedEpisode {
  /** "game": the person played the built-in game; "video": an uploaded recording. */
  source: "game" | "video";
  /** Words: the video's file name, or "played on level N". */
  name: string;
  /** The game level played (game recordings). */
  level?: number;
}

/**
 * Stores one episode as a dataset in `store` (every frame for training, none held out). An upload
 * without an action log gets "no action" on every frame, which `createdWith` records.
 */
export async function saveUserDataset(
  store: DatasetStore,
  dataset: string,
  episode: UserEpisode,
): Promise<DatasetManifest> {
  const name = checkDatasetName(dataset);
  if (episode.frames.length === 0) {
    throw new GamedreamError(
      "DATASET_EMPTY",
      "dataset",
      `There are no frames to save as “${name}”: record or upload some first.`,
      { recoverable: true },
    );
  }
  if (episode.actions.length !== episode.frames.length) {
    throw new GamedreamError(
      "DATASET_FRAME_COUNT_MISMATCH",
      "dataset",
      `“${name}” has ${episode.frames.length} frames but ${episode.actions.length} actions.`,
      { recoverable: true },
    );
  }
  const id = episode.source === "game" ? `played-level-${episode.level ?? 0}` : episode.name;
  const meta: EpisodeMeta = {
    id,
    seed: episode.level ?? seedFromId(id),
    source: episode.source,
    name: episode.name,
    ...(episode.source === "game" ? { agent: "person" } : {}),
  };
  return buildDataset(store, [episodeFromFrames(meta, episode.frames, episode.actions)], {
    heldoutFraction: 0,
    createdWith: {
      by: episode.source === "game" ? "play page recording" : "data page upload",
      name,
      ...(episode.level !== undefined ? { level: episode.level } : {}),
    },
  });
}

/** Frames, as one episode's RGB bytes back to back, with its actions (the data page's episode shape). */
export interface ViewEpisode {
  name: string;
  frames: Uint8Array;
  frameCount: number;
  actions: Action[];
}

/** A stored dataset's episodes for viewing, at most `maxFrames` frames in all (the first ones). */
export async function readViewEpisodes(store: DatasetStore, maxFrames: number): Promise<ViewEpisode[]> {
  const reader = await DatasetReader.open(store);
  const out: ViewEpisode[] = [];
  let left = maxFrames;
  for (const e of reader.episodes()) {
    if (left <= 0) break;
    const count = Math.min(e.frameCount, left);
    left -= count;
    const actions = (await reader.readEpisodeActions(e.id)).slice(0, count);
    out.push({ name: e.name ?? e.id, frames: await reader.readFrames(e.id, 0, count), frameCount: count, actions });
  }
  return out;
}

/**
 * The first `count` frames of a stored dataset's first episode (or `episode`), to start a dream
 * from (`StartFrames` above).
 */
export async function readStartFrames(
  store: DatasetStore,
  dataset: string,
  count: number,
  episode?: string,
): Promise<StartFrames> {
  const reader = await DatasetReader.open(store);
  const entry = episode ? reader.episodes().find((e) => e.id === episode) : reader.episodes()[0];
  if (!entry) {
    throw new GamedreamError(
      "DATASET_NO_EPISODE",
      "dataset",
      episode ? `Dataset “${dataset}” has no episode “${episode}”.` : `Dataset “${dataset}” holds no episodes.`,
      { recoverable: true },
    );
  }
  const n = Math.max(1, Math.min(count, entry.frameCount));
  const rgb = await reader.readFrames(entry.id, 0, n);
  const actions = (await reader.readEpisodeActions(entry.id)).slice(0, n);
  const frames = Array.from({ length: n }, (_, i) => rgb.slice(i * RGB_FRAME_BYTES, (i + 1) * RGB_FRAME_BYTES));
  while (actions.length < n) actions.push(cloneAction(NO_ACTION));
  return { name: `dataset “${dataset}” (${entry.name ?? entry.id})`, frames, actions };
}
