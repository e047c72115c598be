/**
 * Datasets of (frames, actions) episodes for training world models: built from game episodes
 * or from ingested videos with action logs, split into train / held-out by episode seed, stored
 * as binary shards plus a `manifest.json`, and read back as random clips without decoding the
 * whole dataset.
 *
 * Alignment (the same for game and video): `actions[t]` is the input held while frame `t` was on
 * screen; its effect first shows in frame `t + 1`. So a model predicting frame `t + 1` conditions
 * on frames `<= t` and actions `<= t`.
 *
 * Shard layout (one file per shard, every episode wholly inside one shard):
 *   [frames: uint8 RGB, frameCount x 256 x 256 x 3][actions: float32 little-endian, frameCount x ACTION_DIM]
 * Episode `e` occupies frames `e.offset .. e.offset + e.frameCount - 1` of shard `e.shard`.
 *
 * Storage is behind `DatasetStore`: a directory in Node (./store-dir.node.ts), IndexedDB in browsers
 * (./store-idb.browser.ts), or memory (here; tests, data loaders, pages).
 */
import * as tf from "@tensorflow/tfjs";
import {
  ACTION_DIM,
  INTERACTIONS,
  MOVEMENT_KEYS,
  decodeActions,
  encodeActionInto,
  validateAction,
  type Action,
} from "../actions/index.js";
import {
  GamedreamError,
  FRAME_CHANNELS,
  FRAME_SIZE,
  RGB_FRAME_BYTES,
  rgbToUnit,
  rgbaToRgb,
  Rng,
  concatBytes,
} from "../core/index.js";
import { createAgent, createGame } from "../game/index.js";

export const DATASET_FORMAT = "gamedream-dataset";
export const DATASET_VERSION = 1;
/** Frames per shard before a new one starts (~100 MB of RGB at 256x256). */
export const DEFAULT_SHARD_FRAMES = 512;
const ACTION_BYTES = ACTION_DIM * 4;

// ---------------------------------------------------------------------------------------------
// Episode sources: what the builder consumes

export interface EpisodeMeta {
  /** Unique within a dataset; used in file-free references (`ClipRef.episode`). */
  id: string;
  /** Decides the train / held-out split: episodes sharing a seed share a split. */
  seed: number;
  source: "game" | "video";
  /** Which scripted agent played (game episodes). */
  agent?: string;
  /** Free text, e.g. the video's file name. */
  name?: string;
}

/** One frame and the input held while it was on screen. */
export interface EpisodeStep {
  /** RGB uint8, row-major `[256, 256, 3]` (196,608 bytes). */
  rgb: Uint8Array;
  action: Action;
}

/**
 * An episode the builder can write. `steps()` is called once and must yield exactly
 * `frameCount` steps, in order; it may be lazy (a game being played, a video being decoded).
 * Ingested videos: build one with `episodeFromFrames`.
 */
export interface EpisodeSource {
  meta: EpisodeMeta;
  frameCount: number;
  steps(): Iterable<EpisodeStep> | AsyncIterable<EpisodeStep>;
}

/**
 * An episode from frames already at 256x256 RGB (e.g. the output of video ingestion) and an
 * action log aligned to them. Counts must match: fit the log first with `padActions(log, n)`.
 */
export function episodeFromFrames(
  meta: EpisodeMeta,
  frames: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  actions: readonly Action[],
): EpisodeSource {
  return {
    meta,
    frameCount: actions.length,
    async *steps() {
      let t = 0;
      for await (const rgb of frames) {
        if (t >= actions.length) break;
        yield { rgb, action: actions[t] };
        t++;
      }
      if (t < actions.length) {
        throw new GamedreamError(
          "DATASET_FRAME_COUNT_MISMATCH",
          "dataset",
          `Episode "${meta.id}" has ${t} frames but ${actions.length} actions; pad or truncate the action log to the frame count first.`,
          { details: { frames: t, actions: actions.length } },
        );
      }
    },
  };
}

/** A stable 31-bit seed for an episode that has none (e.g. a video), from its id (FNV-1a). */
export function seedFromId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 0) & 0x7fffffff;
}

export interface GameEpisodesOptions {
  /** Dataset seed: fixes every episode's level seed and agent seed. */
  seed: number;
  episodes: number;
  frames: number;
  /** Agents, assigned round-robin (default: random, wall, explorer). */
  agents?: readonly string[];
}

/** Episode seeds drawn from the dataset seed; distinct, so each episode has its own level. */
export function gameEpisodeSeeds(seed: number, episodes: number): number[] {
  const rng = new Rng(seed);
  const seeds = new Set<number>();
  while (seeds.size < episodes) seeds.add(rng.seed());
  return [...seeds];
}

/** Built-in game episodes: episode i plays level `gameEpisodeSeeds(seed)[i]` with agent i mod n. */
export function gameEpisodeSources(options: GameEpisodesOptions): EpisodeSource[] {
  const agents = options.agents ?? ["random", "wall", "explorer"];
  return gameEpisodeSeeds(options.seed, options.episodes).map((episodeSeed, i) => {
    const agent = agents[i % agents.length];
    createAgent(agent, 0); // fail early on an unknown agent name
    return {
      meta: {
        id: `game-${String(i).padStart(4, "0")}-${agent}-s${episodeSeed}`,
        seed: episodeSeed,
        source: "game" as const,
        agent,
      },
      frameCount: options.frames,
      *steps() {
        const game = createGame({ seed: episodeSeed });
        const player = createAgent(agent, episodeSeed);
        const rgba = new Uint8ClampedArray(FRAME_SIZE * FRAME_SIZE * 4);
        game.render(rgba);
        for (let t = 0; t < options.frames; t++) {
          const action = player.act(game);
          yield { rgb: rgbaToRgb(rgba), action };
          if (t + 1 < options.frames) game.step(action, rgba);
        }
      },
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Split

export type Split = "train" | "heldout";

/**
 * Held-out seeds: the distinct seeds are sorted, shuffled with `splitSeed`, and the first
 * `round(n * fraction)` are held out, at least one (when fraction > 0 and n >= 2) and at most
 * n - 1 (when fraction < 1). Train and held-out seeds are disjoint by construction.
 */
export function heldoutSeeds(seeds: readonly number[], fraction: number, splitSeed = 0): Set<number> {
  if (!(fraction >= 0 && fraction <= 1)) {
    throw new GamedreamError(
      "DATASET_BAD_SPLIT",
      "dataset",
      `The held-out fraction must be between 0 and 1, got ${fraction}.`,
    );
  }
  const unique = [...new Set(seeds)].sort((a, b) => a - b);
  let k = Math.round(unique.length * fraction);
  if (fraction > 0 && unique.length >= 2) k = Math.max(1, k);
  if (fraction < 1) k = Math.min(k, unique.length - 1);
  return new Set(new Rng(splitSeed).shuffle(unique).slice(0, Math.max(0, k)));
}

// ---------------------------------------------------------------------------------------------
// Manifest and storage

export interface EpisodeEntry extends EpisodeMeta {
  frameCount: number;
  split: Split;
  /** Shard file holding the episode. */
  shard: string;
  /** Index of the episode's first frame within the shard. */
  offset: number;
}

export interface ShardEntry {
  file: string;
  frameCount: number;
  /** Byte offset of the actions block (= frameCount x 196,608). */
  actionsOffset: number;
  bytes: number;
  sha256: string;
}

export interface DatasetManifest {
  format: typeof DATASET_FORMAT;
  version: typeof DATASET_VERSION;
  frame: { width: number; height: number; channels: number; dtype: "uint8" };
  action: { dim: number; dtype: "float32"; movementKeys: string[]; interactions: string[]; alignment: string };
  split: {
    heldoutFraction: number;
    seed: number;
    train: { episodes: number; frames: number };
    heldout: { episodes: number; frames: number };
  };
  episodes: EpisodeEntry[];
  shards: ShardEntry[];
  totals: { episodes: number; frames: number; bytes: number };
  /** How it was made (CLI flags, tool versions); free-form. */
  createdWith?: Record<string, unknown>;
}

/** Appends bytes to one shard; `close` returns its size and SHA-256 (hex). */
export interface ShardWriter {
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<{ bytes: number; sha256: string }>;
}

/** Where shards and the manifest live. Implementations: MemoryDatasetStore, DirectoryDatasetStore (Node), IndexedDbDatasetStore (browser). */
export interface DatasetStore {
  /** Words for messages: "directory /tmp/ds", "memory", "IndexedDB gamedream-ds". */
  readonly description: string;
  createShard(file: string): Promise<ShardWriter>;
  readShardRange(file: string, offset: number, length: number): Promise<Uint8Array>;
  /** SHA-256 (hex) of a whole stored shard, for verification. */
  hashShard(file: string): Promise<string>;
  writeManifest(manifest: DatasetManifest): Promise<void>;
  /** Throws DATASET_NOT_FOUND when there is none. */
  readManifest(): Promise<DatasetManifest>;
}

/** SHA-256 hex with WebCrypto (browsers, workers, Node >= 20). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function datasetNotFound(where: string, cause?: unknown): GamedreamError {
  return new GamedreamError(
    "DATASET_NOT_FOUND",
    "dataset",
    `No dataset manifest in ${where}; build one with \`npm run dataset -- --out DIR\`.`,
    { cause },
  );
}

export function shardNotFound(file: string, where: string): GamedreamError {
  return new GamedreamError(
    "DATASET_SHARD_MISSING",
    "dataset",
    `Shard "${file}" is missing from ${where}; the dataset is incomplete.`,
    { recoverable: false },
  );
}

/**
 * A shard writer for stores that keep a shard as one value (memory, IndexedDB): collects the
 * chunks, then hands the whole shard to `keep` and reports its size and SHA-256.
 */
export function bufferedShardWriter(keep: (bytes: Uint8Array) => Promise<void> | void): ShardWriter {
  const chunks: Uint8Array[] = [];
  return {
    write: async (bytes) => void chunks.push(bytes.slice()),
    close: async () => {
      const all = concatBytes(chunks);
      chunks.length = 0;
      await keep(all);
      return { bytes: all.length, sha256: await sha256Hex(all) };
    },
  };
}

/** Everything in memory: tests, data loaders, a page's freshly generated dataset. */
export class MemoryDatasetStore implements DatasetStore {
  readonly description = "memory";
  readonly shards = new Map<string, Uint8Array>();
  private manifest: DatasetManifest | null = null;

  async createShard(file: string): Promise<ShardWriter> {
    return bufferedShardWriter((all) => void this.shards.set(file, all));
  }

  async readShardRange(file: string, offset: number, length: number): Promise<Uint8Array> {
    const shard = this.shards.get(file);
    if (shard === undefined) throw shardNotFound(file, this.description);
    return shard.subarray(offset, offset + length);
  }

  async hashShard(file: string): Promise<string> {
    const shard = this.shards.get(file);
    if (shard === undefined) throw shardNotFound(file, this.description);
    return sha256Hex(shard);
  }

  async writeManifest(manifest: DatasetManifest): Promise<void> {
    this.manifest = structuredClone(manifest);
  }

  async readManifest(): Promise<DatasetManifest> {
    if (this.manifest === null) throw datasetNotFound(this.description);
    return structuredClone(this.manifest);
  }
}

// ---------------------------------------------------------------------------------------------
// Building

export interface BuildProgress {
  episode: number;
  episodes: number;
  framesDone: number;
  framesTotal: number;
}

export interface BuildOptions {
  /** Fraction of episode seeds held out (default 0.25). */
  heldoutFraction?: number;
  splitSeed?: number;
  shardFrames?: number;
  createdWith?: Record<string, unknown>;
  /** Called after every frame written. */
  onProgress?: (p: BuildProgress) => void;
}

function shardName(i: number): string {
  return `shard-${String(i).padStart(4, "0")}.bin`;
}

/** Writes episodes into shards and the manifest; returns the manifest. */
export async function buildDataset(
  store: DatasetStore,
  sources: readonly EpisodeSource[],
  options: BuildOptions = {},
): Promise<DatasetManifest> {
  const fraction = options.heldoutFraction ?? 0.25;
  const splitSeed = options.splitSeed ?? 0;
  const shardFrames = options.shardFrames ?? DEFAULT_SHARD_FRAMES;
  if (sources.length === 0)
    throw new GamedreamError("DATASET_EMPTY", "dataset", "A dataset needs at least one episode.");
  const ids = new Set<string>();
  for (const s of sources) {
    if (ids.has(s.meta.id))
      throw new GamedreamError(
        "DATASET_DUPLICATE_EPISODE",
        "dataset",
        `Two episodes share the id "${s.meta.id}"; ids must be unique.`,
      );
    ids.add(s.meta.id);
    if (!Number.isInteger(s.frameCount) || s.frameCount < 1) {
      throw new GamedreamError(
        "DATASET_EMPTY_EPISODE",
        "dataset",
        `Episode "${s.meta.id}" has ${s.frameCount} frames; it needs at least one.`,
      );
    }
  }
  const heldout = heldoutSeeds(
    sources.map((s) => s.meta.seed),
    fraction,
    splitSeed,
  );
  const framesTotal = sources.reduce((n, s) => n + s.frameCount, 0);

  const episodes: EpisodeEntry[] = [];
  const shards: ShardEntry[] = [];
  let writer: ShardWriter | null = null;
  let shardActions: Uint8Array[] = [];
  let shardCount = 0;
  const closeShard = async () => {
    if (writer === null) return;
    for (const a of shardActions) await writer.write(a);
    const { bytes, sha256 } = await writer.close();
    shards.push({
      file: shardName(shards.length),
      frameCount: shardCount,
      actionsOffset: shardCount * RGB_FRAME_BYTES,
      bytes,
      sha256,
    });
    writer = null;
    shardActions = [];
    shardCount = 0;
  };

  let framesDone = 0;
  for (const [e, source] of sources.entries()) {
    if (writer !== null && shardCount + source.frameCount > shardFrames) await closeShard();
    writer ??= await store.createShard(shardName(shards.length));
    const actions = new Uint8Array(source.frameCount * ACTION_BYTES);
    const view = new DataView(actions.buffer);
    const vec = new Float32Array(ACTION_DIM);
    let t = 0;
    for await (const step of source.steps()) {
      if (t >= source.frameCount) break;
      if (!(step.rgb instanceof Uint8Array) || step.rgb.length !== RGB_FRAME_BYTES) {
        throw new GamedreamError(
          "DATASET_BAD_FRAME",
          "dataset",
          `Episode "${source.meta.id}" frame ${t} has ${step.rgb?.length ?? 0} bytes; expected 256x256 RGB (${RGB_FRAME_BYTES} bytes).`,
        );
      }
      encodeActionInto(validateAction(step.action, t), vec);
      for (let i = 0; i < ACTION_DIM; i++) view.setFloat32((t * ACTION_DIM + i) * 4, vec[i], true);
      await writer.write(step.rgb);
      t++;
      framesDone++;
      options.onProgress?.({ episode: e, episodes: sources.length, framesDone, framesTotal });
    }
    if (t !== source.frameCount) {
      throw new GamedreamError(
        "DATASET_FRAME_COUNT_MISMATCH",
        "dataset",
        `Episode "${source.meta.id}" promised ${source.frameCount} frames but yielded ${t}.`,
      );
    }
    episodes.push({
      ...source.meta,
      frameCount: t,
      split: heldout.has(source.meta.seed) ? "heldout" : "train",
      shard: shardName(shards.length),
      offset: shardCount,
    });
    shardActions.push(actions);
    shardCount += t;
  }
  await closeShard();

  const count = (split: Split) => {
    const list = episodes.filter((e) => e.split === split);
    return { episodes: list.length, frames: list.reduce((n, e) => n + e.frameCount, 0) };
  };
  const manifest: DatasetManifest = {
    format: DATASET_FORMAT,
    version: DATASET_VERSION,
    frame: { width: FRAME_SIZE, height: FRAME_SIZE, channels: FRAME_CHANNELS, dtype: "uint8" },
    action: {
      dim: ACTION_DIM,
      dtype: "float32",
      movementKeys: [...MOVEMENT_KEYS],
      interactions: [...INTERACTIONS],
      alignment: "actions[t] is the input held during frame t; its effect shows in frame t+1",
    },
    split: { heldoutFraction: fraction, seed: splitSeed, train: count("train"), heldout: count("heldout") },
    episodes,
    shards,
    totals: { episodes: episodes.length, frames: framesDone, bytes: shards.reduce((n, s) => n + s.bytes, 0) },
    ...(options.createdWith === undefined ? {} : { createdWith: options.createdWith }),
  };
  await store.writeManifest(manifest);
  return manifest;
}

// ---------------------------------------------------------------------------------------------
// Reading

/** A window of `length` frames of one episode, starting at `start`. */
export interface ClipRef {
  episode: string;
  start: number;
  length: number;
}

/** One or more clips as raw bytes and encoded actions; convert with `batchToTensors`. */
export interface ClipBatch {
  refs: ClipRef[];
  batchSize: number;
  clipLength: number;
  /** RGB uint8 `[B, T, 256, 256, 3]`. */
  frames: Uint8Array;
  /** Encoded actions `[B, T, ACTION_DIM]`. */
  actions: Float32Array;
}

export type SplitFilter = Split | "all";

export interface ClipOptions {
  clipLength: number;
  split?: SplitFilter;
}

export class DatasetReader {
  private readonly byId = new Map<string, EpisodeEntry>();
  private readonly shardByFile = new Map<string, ShardEntry>();
  private readonly actionCache = new Map<string, Float32Array>();

  private constructor(
    readonly store: DatasetStore,
    readonly manifest: DatasetManifest,
  ) {
    for (const e of manifest.episodes) this.byId.set(e.id, e);
    for (const s of manifest.shards) this.shardByFile.set(s.file, s);
  }

  /**
   * What opening checked: shards hashed, their bytes and the milliseconds it took (null when
   * opened with `verify: false`).
   */
  verification: { shards: number; bytes: number; ms: number } | null = null;

  /**
   * Reads and checks the manifest (format, version, frame size, action size), then verifies every
   * shard's SHA-256 against it (`verify()`), as checkpoints are: a damaged dataset throws
   * DATASET_CORRUPT here, before anything trains or is evaluated on it. Hashed once, at open;
   * reads after that trust the bytes (the hot path never hashes). `verify: false` skips the check
   * for callers that only read the manifest's numbers.
   */
  static async open(store: DatasetStore, options: { verify?: boolean } = {}): Promise<DatasetReader> {
    const m = await store.readManifest();
    if (m.format !== DATASET_FORMAT || m.version !== DATASET_VERSION) {
      throw new GamedreamError(
        "DATASET_BAD_VERSION",
        "dataset",
        `${store.description} holds "${m.format}" version ${m.version}; this build reads ${DATASET_FORMAT} version ${DATASET_VERSION}.`,
        { recoverable: false },
      );
    }
    if (
      m.frame.width !== FRAME_SIZE ||
      m.frame.height !== FRAME_SIZE ||
      m.frame.channels !== FRAME_CHANNELS ||
      m.action.dim !== ACTION_DIM
    ) {
      throw new GamedreamError(
        "DATASET_BAD_VERSION",
        "dataset",
        `${store.description} has ${m.frame.width}x${m.frame.height}x${m.frame.channels} frames and ${m.action.dim}-d actions; expected ${FRAME_SIZE}x${FRAME_SIZE}x${FRAME_CHANNELS} and ${ACTION_DIM}.`,
        { recoverable: false },
      );
    }
    const reader = new DatasetReader(store, m);
    if (options.verify ?? true) await reader.verify();
    return reader;
  }

  episodes(split: SplitFilter = "all"): EpisodeEntry[] {
    return this.manifest.episodes.filter((e) => split === "all" || e.split === split);
  }

  episode(id: string): EpisodeEntry {
    const e = this.byId.get(id);
    if (e === undefined)
      throw new GamedreamError("DATASET_UNKNOWN_EPISODE", "dataset", `No episode "${id}" in this dataset.`);
    return e;
  }

  private checkRange(e: EpisodeEntry, start: number, count: number): void {
    if (
      !Number.isInteger(start) ||
      !Number.isInteger(count) ||
      start < 0 ||
      count < 0 ||
      start + count > e.frameCount
    ) {
      throw new GamedreamError(
        "DATASET_OUT_OF_RANGE",
        "dataset",
        `Frames ${start}..${start + count - 1} are outside episode "${e.id}" (${e.frameCount} frames).`,
      );
    }
  }

  /** RGB uint8 `[count, 256, 256, 3]` of one episode (one contiguous read). */
  async readFrames(id: string, start = 0, count?: number): Promise<Uint8Array> {
    const e = this.episode(id);
    const n = count ?? e.frameCount - start;
    this.checkRange(e, start, n);
    return this.store.readShardRange(e.shard, (e.offset + start) * RGB_FRAME_BYTES, n * RGB_FRAME_BYTES);
  }

  /** Encoded actions `[count, ACTION_DIM]` of one episode (a shard's actions are read once and cached). */
  async readActions(id: string, start = 0, count?: number): Promise<Float32Array> {
    const e = this.episode(id);
    const n = count ?? e.frameCount - start;
    this.checkRange(e, start, n);
    let all = this.actionCache.get(e.shard);
    if (all === undefined) {
      const shard = this.shardByFile.get(e.shard);
      if (shard === undefined) throw shardNotFound(e.shard, this.store.description);
      const bytes = await this.store.readShardRange(shard.file, shard.actionsOffset, shard.frameCount * ACTION_BYTES);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      all = new Float32Array(shard.frameCount * ACTION_DIM);
      for (let i = 0; i < all.length; i++) all[i] = view.getFloat32(i * 4, true);
      this.actionCache.set(e.shard, all);
    }
    return all.slice((e.offset + start) * ACTION_DIM, (e.offset + start + n) * ACTION_DIM);
  }

  /** Decoded actions of a whole episode. */
  async readEpisodeActions(id: string): Promise<Action[]> {
    return decodeActions(await this.readActions(id));
  }

  /** Every window of `clipLength` frames, `stride` apart (default: non-overlapping), in dataset order. */
  clipRefs(options: ClipOptions & { stride?: number }): ClipRef[] {
    const { clipLength } = options;
    const stride = options.stride ?? clipLength;
    if (!Number.isInteger(clipLength) || clipLength < 1 || !Number.isInteger(stride) || stride < 1) {
      throw new GamedreamError(
        "DATASET_BAD_CLIP",
        "dataset",
        `Clip length and stride must be whole numbers >= 1 (got ${clipLength} and ${stride}).`,
      );
    }
    const refs: ClipRef[] = [];
    for (const e of this.episodes(options.split)) {
      for (let start = 0; start + clipLength <= e.frameCount; start += stride)
        refs.push({ episode: e.id, start, length: clipLength });
    }
    return refs;
  }

  /** `clipRefs` shuffled with a seed: one epoch's order. */
  shuffledClipRefs(options: ClipOptions & { stride?: number; seed: number }): ClipRef[] {
    return new Rng(options.seed).shuffle(this.clipRefs(options));
  }

  /** `batchSize` clips drawn uniformly over all valid windows (with replacement). */
  sampleClipRefs(rng: Rng, options: ClipOptions & { batchSize: number }): ClipRef[] {
    const episodes = this.episodes(options.split).filter((e) => e.frameCount >= options.clipLength);
    const windows = episodes.map((e) => e.frameCount - options.clipLength + 1);
    const total = windows.reduce((a, b) => a + b, 0);
    if (total === 0) throw this.noClips(options);
    return Array.from({ length: options.batchSize }, () => {
      let k = rng.int(total);
      let i = 0;
      while (k >= windows[i]) k -= windows[i++];
      return { episode: episodes[i].id, start: k, length: options.clipLength };
    });
  }

  private noClips(options: ClipOptions): GamedreamError {
    const longest = Math.max(0, ...this.episodes(options.split).map((e) => e.frameCount));
    return new GamedreamError(
      "DATASET_CLIP_TOO_LONG",
      "dataset",
      `No ${options.split ?? "all"} episode has ${options.clipLength} frames (the longest has ${longest}); use shorter clips or longer episodes.`,
    );
  }

  /** Reads clips (all the same length) into one batch. */
  async readBatch(refs: readonly ClipRef[]): Promise<ClipBatch> {
    if (refs.length === 0) throw new GamedreamError("DATASET_BAD_CLIP", "dataset", "A batch needs at least one clip.");
    const T = refs[0].length;
    if (refs.some((r) => r.length !== T))
      throw new GamedreamError("DATASET_BAD_CLIP", "dataset", "Clips in one batch must have the same length.");
    const frames = new Uint8Array(refs.length * T * RGB_FRAME_BYTES);
    const actions = new Float32Array(refs.length * T * ACTION_DIM);
    for (const [b, r] of refs.entries()) {
      frames.set(await this.readFrames(r.episode, r.start, T), b * T * RGB_FRAME_BYTES);
      actions.set(await this.readActions(r.episode, r.start, T), b * T * ACTION_DIM);
    }
    return { refs: [...refs], batchSize: refs.length, clipLength: T, frames, actions };
  }

  /** A random batch: `sampleClipRefs` then `readBatch`. */
  async sampleBatch(rng: Rng, options: ClipOptions & { batchSize: number }): Promise<ClipBatch> {
    return this.readBatch(this.sampleClipRefs(rng, options));
  }

  /**
   * Shuffled epochs of non-overlapping (or `stride`-apart) clips, `batchSize` at a time; a last
   * incomplete batch is dropped. Runs `epochs` times (default 1), reshuffling each epoch.
   */
  async *batches(
    options: ClipOptions & { batchSize: number; seed: number; stride?: number; epochs?: number },
  ): AsyncGenerator<ClipBatch> {
    const rng = new Rng(options.seed);
    const refs = this.clipRefs(options);
    if (refs.length < options.batchSize) throw this.noClips(options);
    for (let epoch = 0; epoch < (options.epochs ?? 1); epoch++) {
      rng.shuffle(refs);
      for (let i = 0; i + options.batchSize <= refs.length; i += options.batchSize)
        yield await this.readBatch(refs.slice(i, i + options.batchSize));
    }
  }

  /**
   * Recomputes every shard's SHA-256; throws DATASET_CORRUPT on the first mismatch, naming the
   * shard and what to do (`datasetCorrupt`). Records what it checked in `verification`.
   */
  async verify(): Promise<void> {
    const started = performance.now();
    let bytes = 0;
    for (const s of this.manifest.shards) {
      const actual = await this.store.hashShard(s.file);
      if (actual !== s.sha256) throw datasetCorrupt(this.manifest, s, actual, this.store.description);
      bytes += s.bytes;
    }
    this.verification = { shards: this.manifest.shards.length, bytes, ms: performance.now() - started };
  }
}

/**
 * The error for a shard whose bytes no longer match its manifest checksum: which shard, where,
 * and the fix (a game dataset is rebuilt, a video one re-ingested; the bytes cannot be repaired).
 */
export function datasetCorrupt(
  manifest: DatasetManifest,
  shard: ShardEntry,
  actual: string,
  where: string,
): GamedreamError {
  const sources = new Set(manifest.episodes.filter((e) => e.shard === shard.file).map((e) => e.source));
  const fixes: string[] = [];
  if (sources.has("game") || sources.size === 0)
    fixes.push(
      "rebuild it (`npm run dataset -- --out DIR`; in the browser, delete it on the Storage page and record it again)",
    );
  if (sources.has("video"))
    fixes.push(
      "re-ingest the video (`npm run ingest -- VIDEO --out DIR`; in the browser, delete it on the Storage page and save the upload again)",
    );
  return new GamedreamError(
    "DATASET_CORRUPT",
    "dataset",
    `Shard "${shard.file}" of the dataset in ${where} is damaged: its SHA-256 is ${actual.slice(0, 12)}… but the manifest recorded ${shard.sha256.slice(0, 12)}… when it was written. Nothing was trained or evaluated on it; ${fixes.join(", or ")}.`,
    { recoverable: false, details: { shard: shard.file, expected: shard.sha256, actual } },
  );
}

/**
 * Batch -> tensors: frames `[B, T, 256, 256, 3]` float32 in [-1, 1], actions `[B, T, ACTION_DIM]`.
 * The caller owns (and disposes) both.
 */
export function batchToTensors(batch: ClipBatch): { frames: tf.Tensor5D; actions: tf.Tensor3D } {
  const { batchSize: B, clipLength: T } = batch;
  return {
    frames: tf.tensor5d(rgbToUnit(batch.frames), [B, T, FRAME_SIZE, FRAME_SIZE, FRAME_CHANNELS]),
    actions: tf.tensor3d(batch.actions, [B, T, ACTION_DIM]),
  };
}
