/**
 * Checkpoints: everything needed to continue a training run exactly (weights of one or more
 * modules, optimizer state, step, RNG states, config, metrics history), written to any
 * `CheckpointStore` (files in Node, IndexedDB in the browser, memory) in one format:
 *
 *   step-000100/meta.json        what the checkpoint holds, the SHA-256 of every shard, and its own
 *   step-000100/weights-000.bin  tensor bytes in tf.io's weights layout, cut into shards
 *
 * Every shard is verified on load; a damaged checkpoint is a typed `CHECKPOINT_CORRUPT` naming the
 * file, and `loadLatestCheckpoint` falls back to the newest one that verifies. The host-specific
 * stores live in storage/ (`store-fs.node.ts`, `store-idb.browser.ts`, `store-memory.ts`);
 * exports to TensorFlow.js manifests and safetensors in ./tfjs-manifest.ts and
 * ./safetensors.ts.
 */
import type * as tf from "@tensorflow/tfjs";
import { GamedreamError, isGamedreamError, type RngState } from "../core/index.js";
import type { NamedTensors } from "../nn/index.js";
import { type OptimizerState, disposeOptimizerState } from "./optimizer.js";
import { sha256Hex } from "./sha256.js";
import { type CheckpointStore, isQuotaError } from "./store.js";
import { type TensorSpec, decodeTensors, encodeTensors, specByteLength, splitShards } from "./tensors.js";
import { APP_VERSION, FORMAT_VERSION, assertFormatCompatible } from "./version.js";

/** Realtime models with Adam fit in one or two shards; large ones stay below per-value limits. */
export const DEFAULT_CHECKPOINT_SHARD_BYTES = 32 * 1024 * 1024;
export const DEFAULT_KEEP_CHECKPOINTS = 3;

const META_FILE = "meta.json";
const CHECKPOINT_FORMAT = "gamedream-checkpoint";

/** What a trainer hands to `saveCheckpoint`. `Config` and `Metric` must be JSON-serialisable. */
export interface CheckpointInput<Config = unknown, Metric = unknown> {
  /** Optimizer steps taken so far (a non-negative integer); names the checkpoint. */
  step: number;
  /** Weights of every module, with prefixes (`vae.`, `dit.`, `ema.`); see `prefixNames`. */
  weights: ReadonlyMap<string, tf.Tensor>;
  optimizer?: OptimizerState | null;
  /** Named RNG streams (`{ train: rng.getState() }`). */
  rng: Record<string, RngState>;
  config: Config;
  /** Metrics history so far. NaN and Infinity become null, as in any JSON. */
  metrics?: Metric[];
}

/** A loaded checkpoint. Its tensors are new and owned by the caller: `disposeCheckpoint` frees them. */
export interface Checkpoint<Config = unknown, Metric = unknown> {
  id: string;
  step: number;
  weights: NamedTensors;
  optimizer: OptimizerState | null;
  rng: Record<string, RngState>;
  config: Config;
  metrics: Metric[];
  /** ISO 8601 time of the save. */
  createdAt: string;
  formatVersion: string;
  appVersion: string;
}

export interface CheckpointInfo {
  id: string;
  step: number;
  bytes: number;
}

export interface ShardInfo {
  path: string;
  bytes: number;
  sha256: string;
}

/** A checkpoint `loadLatestCheckpoint` passed over, and why. */
export interface SkippedCheckpoint {
  id: string;
  step: number;
  error: GamedreamError;
}

/** meta.json, format 1.x. */
interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  formatVersion: string;
  appVersion: string;
  step: number;
  createdAt: string;
  rng: Record<string, RngState>;
  config: unknown;
  metrics: unknown[];
  optimizer: { className: string; config: Record<string, unknown>; scalars: Record<string, number> } | null;
  /** Weights (group "model") then optimizer slots (group "optimizer"); bytes concatenated in this order. */
  tensors: TensorSpec[];
  shards: ShardInfo[];
  /** SHA-256 of this object serialised without this field, so a damaged meta.json is caught too. */
  metaSha256?: string;
}

/** `step-000100`: zero-padded so names sort by step in a file browser. */
export function checkpointId(step: number): string {
  return `step-${String(step).padStart(6, "0")}`;
}

function stepOfId(id: string): number | null {
  const m = /^step-(\d+)$/.exec(id);
  return m ? Number(m[1]) : null;
}

function corrupt(
  id: string,
  file: string,
  problem: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): GamedreamError {
  return new GamedreamError("CHECKPOINT_CORRUPT", "storage", `Checkpoint ${id} is damaged: ${file} ${problem}.`, {
    recoverable: true,
    details: { id, file, ...details },
    cause,
  });
}

/**
 * Writes a checkpoint named after its step (replacing one of the same step) and returns what was
 * written. With `keep`, prunes to the newest `keep` afterwards. A full disk or storage quota is a
 * typed `STORAGE_QUOTA`; either way a failed save leaves every earlier checkpoint intact.
 */
export async function saveCheckpoint<Config, Metric>(
  store: CheckpointStore,
  input: CheckpointInput<Config, Metric>,
  options: { shardBytes?: number; keep?: number; now?: Date } = {},
): Promise<CheckpointInfo & { shards: ShardInfo[]; pruned: string[] }> {
  if (!Number.isInteger(input.step) || input.step < 0)
    throw new Error(`checkpoint step must be a non-negative integer, got ${input.step}`);
  const id = checkpointId(input.step);
  const slots = input.optimizer?.slots ?? new Map<string, tf.Tensor>();
  const { specs, data } = await encodeTensors([...input.weights, ...slots]);
  specs.forEach((s, i) => (s.group = i < input.weights.size ? "model" : "optimizer"));

  const files = new Map<string, Uint8Array>();
  const shards: ShardInfo[] = [];
  for (const [i, shard] of splitShards(data, options.shardBytes ?? DEFAULT_CHECKPOINT_SHARD_BYTES).entries()) {
    const path = `weights-${String(i).padStart(3, "0")}.bin`;
    files.set(path, shard);
    shards.push({ path, bytes: shard.byteLength, sha256: await sha256Hex(shard) });
  }
  const optimizer = input.optimizer ?? null;
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    formatVersion: FORMAT_VERSION,
    appVersion: APP_VERSION,
    step: input.step,
    createdAt: (options.now ?? new Date()).toISOString(),
    rng: input.rng,
    config: input.config,
    metrics: input.metrics ?? [],
    optimizer: optimizer && { className: optimizer.className, config: optimizer.config, scalars: optimizer.scalars },
    tensors: specs,
    shards,
  };
  const metaSha256 = await sha256Hex(new TextEncoder().encode(JSON.stringify(meta)));
  files.set(META_FILE, new TextEncoder().encode(JSON.stringify({ ...meta, metaSha256 })));

  try {
    await store.write(id, files);
  } catch (e) {
    if (isQuotaError(e)) {
      throw new GamedreamError(
        "STORAGE_QUOTA",
        "storage",
        `Not enough storage to save checkpoint ${id} in ${store.location}. Earlier checkpoints are intact; free space (delete old runs or checkpoints) and save again.`,
        { recoverable: true, details: { id, location: store.location }, cause: e },
      );
    }
    throw new GamedreamError(
      "STORAGE_WRITE_FAILED",
      "storage",
      `Could not save checkpoint ${id} in ${store.location}: ${(e as Error).message}. Earlier checkpoints are intact.`,
      {
        recoverable: true,
        details: { id, location: store.location },
        cause: e,
      },
    );
  }
  const pruned = options.keep === undefined ? [] : await pruneCheckpoints(store, options.keep);
  const bytes = [...files.values()].reduce((n, f) => n + f.byteLength, 0);
  return { id, step: input.step, bytes, shards, pruned };
}

/** Checkpoints in the store, oldest step first. */
export async function listCheckpoints(store: CheckpointStore): Promise<CheckpointInfo[]> {
  const out: CheckpointInfo[] = [];
  for (const { id, bytes } of await store.list()) {
    const step = stepOfId(id);
    if (step !== null) out.push({ id, step, bytes });
  }
  return out.sort((a, b) => a.step - b.step);
}

/** A checkpoint's meta.json, parsed and checked to be a gamedream checkpoint description. */
async function readMeta(store: CheckpointStore, id: string): Promise<CheckpointMeta> {
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(await store.read(id, META_FILE)));
  } catch (e) {
    throw corrupt(id, META_FILE, "is missing or unreadable", {}, e);
  }
  if (typeof meta !== "object" || meta === null || meta.format !== CHECKPOINT_FORMAT)
    throw corrupt(id, META_FILE, "is not a gamedream checkpoint description");
  return meta;
}

/** Reads meta.json and every shard, checking version and checksums; makes no tensors. */
async function readVerified(
  store: CheckpointStore,
  id: string,
): Promise<{ meta: CheckpointMeta; shards: Uint8Array[] }> {
  const meta = await readMeta(store, id);
  assertFormatCompatible(meta.formatVersion, `Checkpoint ${id}`);
  const { metaSha256, ...rest } = meta;
  if (metaSha256 !== (await sha256Hex(new TextEncoder().encode(JSON.stringify(rest))))) {
    throw corrupt(id, META_FILE, "does not match its own checksum");
  }
  const shards: Uint8Array[] = [];
  for (const shard of meta.shards) {
    let bytes: Uint8Array;
    try {
      bytes = await store.read(id, shard.path);
    } catch (e) {
      throw corrupt(id, shard.path, "is missing", {}, e);
    }
    if (bytes.byteLength !== shard.bytes)
      throw corrupt(id, shard.path, `holds ${bytes.byteLength} bytes, expected ${shard.bytes}`);
    const actual = await sha256Hex(bytes);
    if (actual !== shard.sha256)
      throw corrupt(id, shard.path, "does not match its SHA-256", { expected: shard.sha256, actual });
    shards.push(bytes);
  }
  let described: number;
  try {
    described = meta.tensors.reduce((n, s) => n + specByteLength(s), 0);
  } catch (e) {
    throw corrupt(id, META_FILE, "lists a tensor this version cannot read", {}, e);
  }
  const stored = shards.reduce((n, s) => n + s.byteLength, 0);
  if (described !== stored)
    throw corrupt(id, META_FILE, `describes ${described} bytes of tensors but the shards hold ${stored}`);
  return { meta, shards };
}

/**
 * What a checkpoint describes (step, config, when it was made) from its meta.json alone: no shard
 * is read or verified, so listings stay cheap. Load the checkpoint before trusting its weights.
 */
export async function readCheckpointSummary<Config = unknown>(
  store: CheckpointStore,
  id: string,
): Promise<{ id: string; step: number; config: Config; createdAt: string }> {
  const meta = await readMeta(store, id);
  return { id, step: meta.step, config: meta.config as Config, createdAt: meta.createdAt };
}

/** Checks a checkpoint's version and every checksum without loading tensors; throws what `loadCheckpoint` would. */
export async function verifyCheckpoint(store: CheckpointStore, id: string): Promise<void> {
  await readVerified(store, id);
}

/**
 * Loads and verifies one checkpoint. Errors: `CHECKPOINT_NOT_FOUND`, `CHECKPOINT_CORRUPT` (names
 * the file), `INCOMPATIBLE_VERSION` (written by another major format version).
 */
export async function loadCheckpoint<Config = unknown, Metric = unknown>(
  store: CheckpointStore,
  id: string,
): Promise<Checkpoint<Config, Metric>> {
  if (!(await store.list()).some((c) => c.id === id)) {
    throw new GamedreamError("CHECKPOINT_NOT_FOUND", "storage", `There is no checkpoint ${id} in ${store.location}.`, {
      details: { id, location: store.location },
    });
  }
  const { meta, shards } = await readVerified(store, id);
  const tensors = decodeTensors(shards, meta.tensors);
  const weights: NamedTensors = new Map();
  const slots: NamedTensors = new Map();
  for (const spec of meta.tensors)
    (spec.group === "optimizer" ? slots : weights).set(spec.name, tensors.get(spec.name)!);
  return {
    id,
    step: meta.step,
    weights,
    optimizer: meta.optimizer && { ...meta.optimizer, slots },
    rng: meta.rng,
    config: meta.config as Config,
    metrics: meta.metrics as Metric[],
    createdAt: meta.createdAt,
    formatVersion: meta.formatVersion,
    appVersion: meta.appVersion,
  };
}

/**
 * The newest checkpoint that loads and verifies, plus the newer ones passed over and why (show
 * them to the user: they mean lost progress). `checkpoint` is null when the store has none that
 * loads; a run then starts fresh.
 */
export async function loadLatestCheckpoint<Config = unknown, Metric = unknown>(
  store: CheckpointStore,
): Promise<{ checkpoint: Checkpoint<Config, Metric> | null; skipped: SkippedCheckpoint[] }> {
  const skipped: SkippedCheckpoint[] = [];
  for (const { id, step } of (await listCheckpoints(store)).reverse()) {
    try {
      return { checkpoint: await loadCheckpoint<Config, Metric>(store, id), skipped };
    } catch (e) {
      if (!isGamedreamError(e) || e.code === "CHECKPOINT_NOT_FOUND") throw e;
      skipped.push({ id, step, error: e as GamedreamError });
    }
  }
  return { checkpoint: null, skipped };
}

export async function deleteCheckpoint(store: CheckpointStore, id: string): Promise<void> {
  await store.remove(id);
}

/** Deletes all but the newest `keep` checkpoints (by step); returns the deleted ids. */
export async function pruneCheckpoints(
  store: CheckpointStore,
  keep: number = DEFAULT_KEEP_CHECKPOINTS,
): Promise<string[]> {
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep must be a positive integer, got ${keep}`);
  const all = await listCheckpoints(store);
  const doomed = all.slice(0, Math.max(0, all.length - keep)).map((c) => c.id);
  for (const id of doomed) await store.remove(id);
  return doomed;
}

/** Frees a loaded checkpoint's tensors (weights and optimizer slots). */
export function disposeCheckpoint(checkpoint: Pick<Checkpoint, "weights" | "optimizer">): void {
  for (const t of checkpoint.weights.values()) t.dispose();
  if (checkpoint.optimizer) disposeOptimizerState(checkpoint.optimizer);
}
