/**
 * Data out, and back in: a training run (weights + metrics + config) and a dataset (frames +
 * actions) as sets of named files, the same in every host. export.browser.ts saves them through
 * the File System Access API or a download; Node can write them to a folder. Formats:
 *
 *   run:      run.json (what this is, step, versions) · config.json · metrics.json ·
 *             model.json + group1-shard*.bin (TensorFlow.js weights manifest with SHA-256s)
 *   dataset:  manifest.json + shard-*.bin (the dataset store's own files, readable by
 *             DatasetReader) · actions.json (every episode's actions and metadata)
 *
 * A single-file export is these files in a tar archive (tar.ts).
 */
import { GamedreamError } from "../core/index.js";
import { DatasetReader, type DatasetStore } from "./dataset.js";
import {
  listCheckpoints,
  loadCheckpoint,
  saveCheckpoint,
  disposeCheckpoint,
  type CheckpointStore,
  decodeTfjsWeights,
  encodeTfjsWeights,
  APP_VERSION,
  FORMAT_VERSION,
  assertFormatCompatible,
  readTar,
  writeTar,
} from "../storage/index.js";
import type { Action } from "../actions/index.js";

export const RUN_EXPORT_FORMAT = "gamedream-run";

/** A named set of files ready to be saved; `name` is the suggested folder or archive name. */
export interface ExportBundle {
  name: string;
  files: Map<string, Uint8Array>;
}

export interface RunInfo {
  format: typeof RUN_EXPORT_FORMAT;
  formatVersion: string;
  appVersion: string;
  run: string;
  checkpoint: string;
  step: number;
  createdAt: string;
  exportedAt: string;
}

const encoder = new TextEncoder();
const json = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value, null, 2));

function parseJson(files: ReadonlyMap<string, Uint8Array>, name: string, what: string): unknown {
  const bytes = files.get(name);
  if (!bytes)
    throw new GamedreamError("IMPORT_INCOMPLETE", "storage", `${what} has no ${name}; export the run again.`, {
      recoverable: false,
      details: { file: name },
    });
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new GamedreamError("IMPORT_CORRUPT", "storage", `${name} in ${what} is not valid JSON.`, {
      recoverable: false,
      details: { file: name },
      cause: e,
    });
  }
}

/** A file name safe on every file system. */
export function safeFileName(name: string): string {
  return name.replace(/[^\w.-]+/g, "_").replace(/^[._]+/, "") || "export";
}

/**
 * The latest checkpoint of a run (or checkpoint `id`) as export files: weights only (the optimizer
 * state stays behind), config and metrics history. Weights are verified on the way out.
 */
export async function exportRun(
  store: CheckpointStore,
  run: string,
  options: { id?: string; now?: Date } = {},
): Promise<ExportBundle> {
  const ids = await listCheckpoints(store);
  const id = options.id ?? ids.at(-1)?.id;
  if (!id)
    throw new GamedreamError(
      "EXPORT_EMPTY",
      "storage",
      `Run "${run}" has no checkpoint to export yet; train at least until the first save.`,
      { details: { run } },
    );
  const checkpoint = await loadCheckpoint(store, id);
  try {
    const { modelJson, files } = await encodeTfjsWeights(checkpoint.weights, {
      config: checkpoint.config,
      step: checkpoint.step,
      extra: { run },
    });
    const info: RunInfo = {
      format: RUN_EXPORT_FORMAT,
      formatVersion: FORMAT_VERSION,
      appVersion: APP_VERSION,
      run,
      checkpoint: id,
      step: checkpoint.step,
      createdAt: checkpoint.createdAt,
      exportedAt: (options.now ?? new Date()).toISOString(),
    };
    const out = new Map<string, Uint8Array>([
      ["run.json", json(info)],
      ["config.json", json(checkpoint.config)],
      ["metrics.json", json(checkpoint.metrics)],
      ["model.json", json(modelJson)],
    ]);
    for (const [path, bytes] of files) out.set(path, bytes);
    return { name: safeFileName(`gamedream-run-${run}-${id}`), files: out };
  } finally {
    disposeCheckpoint(checkpoint);
  }
}

/** run.json of an export (what run, which step), checked to be a run export this version reads. */
export function readRunInfo(files: ReadonlyMap<string, Uint8Array>, what = "The run export"): RunInfo {
  const info = parseJson(files, "run.json", what) as RunInfo;
  if (info?.format !== RUN_EXPORT_FORMAT) {
    throw new GamedreamError(
      "IMPORT_NOT_A_RUN",
      "storage",
      `${what} is not a gamedream run export (its run.json says ${JSON.stringify(info?.format)}).`,
      { recoverable: false },
    );
  }
  assertFormatCompatible(info.formatVersion, what);
  return info;
}

/**
 * Imports exported run files into `store` as a checkpoint at the exported step (weights checked
 * against their SHA-256s first). The run continues from these weights with a fresh optimizer.
 */
export async function importRun(
  files: ReadonlyMap<string, Uint8Array>,
  store: CheckpointStore,
  what = "The run export",
): Promise<{ info: RunInfo; checkpoint: string }> {
  const info = readRunInfo(files, what);
  const config = parseJson(files, "config.json", what);
  const metrics = parseJson(files, "metrics.json", what) as unknown[];
  const modelJson = parseJson(files, "model.json", what);
  const { weights } = await decodeTfjsWeights(
    modelJson,
    async (path) => {
      const bytes = files.get(path);
      if (!bytes)
        throw new GamedreamError("IMPORT_INCOMPLETE", "storage", `${what} is missing weight shard ${path}.`, {
          recoverable: false,
          details: { file: path },
        });
      return bytes;
    },
    { requireChecksums: true, source: what },
  );
  try {
    const saved = await saveCheckpoint(store, { step: info.step, weights, rng: {}, config, metrics });
    return { info, checkpoint: saved.id };
  } finally {
    for (const t of weights.values()) t.dispose();
  }
}

/** One archive from a bundle, and back. */
export function bundleToTar(bundle: ExportBundle): Uint8Array {
  return writeTar(bundle.files);
}

export function tarToFiles(bytes: Uint8Array, what = "The file"): Map<string, Uint8Array> {
  return readTar(bytes, what);
}

export interface DatasetActionsExport {
  format: "gamedream-dataset-actions";
  appVersion: string;
  frame: { width: number; height: number; fps: number };
  action: { movementKeys: string[]; interactions: string[]; alignment: string };
  split: { heldoutFraction: number; seed: number };
  episodes: {
    id: string;
    seed: number;
    source: string;
    agent?: string;
    name?: string;
    split: string;
    frameCount: number;
    actions: Action[];
  }[];
}

/** A dataset's actions (decoded actions, one per frame) and metadata as one JSON document. */
export async function datasetActionsJson(store: DatasetStore): Promise<DatasetActionsExport> {
  const reader = await DatasetReader.open(store);
  const m = reader.manifest;
  const episodes: DatasetActionsExport["episodes"] = [];
  for (const e of reader.episodes()) {
    episodes.push({
      id: e.id,
      seed: e.seed,
      source: e.source,
      agent: e.agent,
      name: e.name,
      split: e.split,
      frameCount: e.frameCount,
      actions: await reader.readEpisodeActions(e.id),
    });
  }
  return {
    format: "gamedream-dataset-actions",
    appVersion: APP_VERSION,
    frame: { width: m.frame.width, height: m.frame.height, fps: 30 },
    action: { movementKeys: m.action.movementKeys, interactions: m.action.interactions, alignment: m.action.alignment },
    split: { heldoutFraction: m.split.heldoutFraction, seed: m.split.seed },
    episodes,
  };
}

/** A whole dataset (frames + actions) as files: its manifest, its shards and actions.json. */
export async function exportDataset(store: DatasetStore, name: string): Promise<ExportBundle> {
  const reader = await DatasetReader.open(store);
  const files = new Map<string, Uint8Array>([["manifest.json", json(reader.manifest)]]);
  for (const shard of reader.manifest.shards) {
    const bytes = await store.readShardRange(shard.file, 0, shard.bytes);
    files.set(shard.file, bytes.slice());
  }
  files.set("actions.json", json(await datasetActionsJson(store)));
  return { name: safeFileName(`gamedream-dataset-${name}`), files };
}
