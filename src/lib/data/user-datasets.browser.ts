/**
 * A person's own datasets in this browser (user-data.ts saves them): recordings of the built-in
 * game from the play page and uploaded videos saved from the data page. Each is an IndexedDB
 * dataset named `gamedream-dataset-<name>` (storage-manager.browser.ts), so it is listed, counted
 * against the 2 GB limit, exported and cleared with every other dataset on the storage page, and
 * training (src/workers/train.ts) reads it straight from IndexedDB.
 *
 * A dataset also exports as a WebM video (VP8 at 30 fps, encoded with WebCodecs through
 * mediabunny, every frame at its own timestamp) plus its action log (JSON, ../actions/schema.ts format),
 * the pair the ingestion path reads back. Works in pages and workers; nothing leaves the machine.
 */
import { BufferTarget, CanvasSource, Output, WebMOutputFormat } from "mediabunny";
import { actionsToJson, type Action } from "../actions/index.js";
import { DatasetReader } from "./dataset.js";
import { IndexedDbDatasetStore } from "./store-idb.browser.js";
import { GamedreamError, FRAME_SIZE, RGB_FRAME_BYTES, rgbToRgba } from "../core/index.js";
import {
  datasetDbName,
  deleteDataset,
  enforceStorageLimits,
  listDatasets,
  type DatasetSummaryRow,
} from "./storage-manager.browser.js";
import {
  checkDatasetName,
  readStartFrames,
  readViewEpisodes,
  saveUserDataset,
  type StartFrames,
  type UserEpisode,
  type ViewEpisode,
} from "./user-data.js";

export type { DatasetSummaryRow };
export { listDatasets };

/** Opens stored dataset `name`, runs `use`, closes it. */
export async function withUserDataset<T>(name: string, use: (store: IndexedDbDatasetStore) => Promise<T>): Promise<T> {
  const store = await IndexedDbDatasetStore.open(datasetDbName(name));
  try {
    return await use(store);
  } finally {
    store.close();
  }
}

/** Whether a dataset of that name is stored. */
async function exists(name: string): Promise<boolean> {
  return (await listDatasets()).some((d) => d.name === name);
}

/**
 * Saves `episode` as dataset `name` in IndexedDB and applies the storage limits (datasets are
 * never pruned: over the limit, `warning` says what to delete). A taken name is refused; a write
 * that fails (quota) leaves nothing half-saved behind.
 */
export async function storeUserDataset(
  name: string,
  episode: UserEpisode,
): Promise<{ name: string; frames: number; bytes: number; warning: string | null }> {
  const clean = checkDatasetName(name);
  if (await exists(clean)) {
    throw new GamedreamError(
      "DATASET_EXISTS",
      "dataset",
      `A dataset named “${clean}” is already stored; choose another name (or delete it on the Storage page).`,
      { recoverable: true, details: { name: clean } },
    );
  }
  let manifest;
  try {
    manifest = await withUserDataset(clean, (store) => saveUserDataset(store, clean, episode));
  } catch (e) {
    await deleteDataset(datasetDbName(clean)).catch(() => {});
    throw e;
  }
  const limits = await enforceStorageLimits();
  return { name: clean, frames: manifest.totals.frames, bytes: manifest.totals.bytes, warning: limits.warning };
}

/** Episodes of stored dataset `name` for the data page (the first `maxFrames` frames). */
export function readUserDatasetEpisodes(name: string, maxFrames: number): Promise<ViewEpisode[]> {
  return withUserDataset(name, (store) => readViewEpisodes(store, maxFrames));
}

/** The first `count` frames of stored dataset `name`, to start a dream from. */
export async function readUserDatasetStart(name: string, count: number): Promise<StartFrames> {
  // Checked first: opening a database that does not exist would create an empty one.
  if (!(await exists(name))) {
    throw new GamedreamError(
      "DATASET_NOT_FOUND",
      "dataset",
      `There is no dataset “${name}” in this browser. Record one on the Play page or save an upload on the Data page.`,
      { recoverable: true, details: { name } },
    );
  }
  return withUserDataset(name, (store) => readStartFrames(store, name, count));
}

/** A stored dataset as a video and its action log (first episode), for downloading. */
export async function exportUserDatasetVideo(
  name: string,
  options: { fps?: number } = {},
): Promise<{ video: Blob; actions: Blob; frames: number }> {
  return withUserDataset(name, async (store) => {
    const reader = await DatasetReader.open(store);
    const entry = reader.episodes()[0];
    if (!entry)
      throw new GamedreamError("DATASET_NO_EPISODE", "dataset", `Dataset “${name}” holds no episodes.`, {
        recoverable: true,
      });
    const rgb = await reader.readFrames(entry.id, 0, entry.frameCount);
    const actions = await reader.readEpisodeActions(entry.id);
    const frames = Array.from({ length: entry.frameCount }, (_, i) =>
      rgb.subarray(i * RGB_FRAME_BYTES, (i + 1) * RGB_FRAME_BYTES),
    );
    return {
      video: await encodeWebm(frames, options.fps ?? 30),
      actions: actionLogFile(actions),
      frames: frames.length,
    };
  });
}

function actionLogFile(actions: readonly Action[]): Blob {
  return new Blob([actionsToJson(actions)], { type: "application/json" });
}

/** RGB 256x256 frames as a VP8 WebM at `fps` (WebCodecs through mediabunny). */
export async function encodeWebm(frames: readonly Uint8Array[], fps: number): Promise<Blob> {
  if (typeof VideoEncoder === "undefined") {
    throw new GamedreamError(
      "VIDEO_ENCODE_UNSUPPORTED",
      "validation",
      "This browser cannot encode video (no WebCodecs VideoEncoder); download the dataset from the Storage page instead.",
      { recoverable: true },
    );
  }
  const canvas = new OffscreenCanvas(FRAME_SIZE, FRAME_SIZE);
  const ctx = canvas.getContext("2d")!;
  const target = new BufferTarget();
  const output = new Output({ format: new WebMOutputFormat(), target });
  const source = new CanvasSource(canvas, { codec: "vp8", bitrate: 4_000_000 });
  output.addVideoTrack(source, { frameRate: fps });
  await output.start();
  for (const [i, rgb] of frames.entries()) {
    ctx.putImageData(new ImageData(rgbToRgba(rgb) as Uint8ClampedArray<ArrayBuffer>, FRAME_SIZE, FRAME_SIZE), 0, 0);
    await source.add(i / fps, 1 / fps);
  }
  source.close();
  await output.finalize();
  return new Blob([target.buffer!], { type: "video/webm" });
}
