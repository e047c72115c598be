// Worker entry: the training dashboard's runs off the page's thread (src/pages/train.md). It owns
// TensorFlow.js, runs one TrainSession (src/lib/train/session.ts) at a time with checkpoints in
// IndexedDB, decodes an uploaded video itself (WebCodecs works in workers), and answers the
// dashboard's questions about stored runs (list, metrics, export, delete, restore). Runs may start
// from the site's shipped weights: the page passes the archive's URL, read when a run asks for it.
// Bundled to src/assets/workers/train.js by scripts/prepare-site.ts.
import * as wasm from "@tensorflow/tfjs-backend-wasm";
import { parseActionLog } from "../lib/actions/index.js";
import { initBackend, type BackendChoice, GamedreamError } from "../lib/core/index.js";
import { episodeFromFrames, seedFromId, type EpisodeSource } from "../lib/data/index.js";
import { chooseDeviceSettings, probeDevice, type DeviceChoice, type DeviceOverrides } from "../lib/bench/index.js";
import { fetchWeightsArchive } from "../lib/models/index.js";
import { deleteCheckpoint, listCheckpoints } from "../lib/storage/index.js";
import { IdbCheckpointStore } from "../lib/storage/browser.js";
import { IndexedDbDatasetStore, datasetDbName, listDatasets } from "../lib/data/browser.js";
import { TrainSession, branchCheckpoint, exportCheckpoint, readStoredRun, sessionError, type SessionEvent, type TrainSessionConfig } from "../lib/train/index.js";
import { extractRgbBatches } from "../lib/video/browser.js";
import { pairFramesWithActions } from "../lib/video/index.js";

/** Uploads longer than this are cut: every frame stays in memory (192 KB each) while training. */
export const MAX_UPLOAD_FRAMES = 900;

export interface UploadedData {
  video: Blob;
  videoName: string;
  actions: string;
  actionsName: string;
}

export interface RunListing {
  run: string;
  checkpoints: { id: string; step: number; bytes: number }[];
  /** Latest good checkpoint's session (null for runs from elsewhere or with no good checkpoint). */
  session: TrainSessionConfig | null;
  step: number | null;
}

export type Request =
  | { type: "runs" }
  | { type: "history"; runs: string[] }
  | { type: "delete"; run: string; checkpoint: string }
  | { type: "export"; run: string; checkpoint: string; format: "tfjs" | "safetensors" }
  | { type: "restore"; run: string; checkpoint: string; as: string };

export type ToWorker =
  /** `shippedWeights`: URL of the shipped weights archive (src/components/weights.js), null when the build has none. */
  | { type: "init"; wasmPaths: Record<string, string>; backend: string | null; overrides: DeviceOverrides; shippedWeights: string | null }
  | { type: "start"; config: TrainSessionConfig; upload: UploadedData | null }
  | { type: "pause" }
  | { type: "resume" }
  | { type: "stop" }
  | { type: "request"; id: number; request: Request };

export type FromWorker =
  | { type: "ready"; backend: BackendChoice; device: DeviceChoice }
  | { type: "event"; event: SessionEvent }
  | { type: "upload"; done: number; total: number }
  | { type: "ended"; error: ReturnType<typeof sessionError> | null }
  | { type: "reply"; id: number; result?: unknown; error?: ReturnType<typeof sessionError> };

// tsconfig's libs describe a page (DOM), not a worker: name what this entry uses of its scope.
const scope = self as unknown as {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent<ToWorker>) => void): void;
};
const post = (message: FromWorker, transfer: Transferable[] = []) => scope.postMessage(message, transfer);

let started: Promise<void> | null = null;
let session: TrainSession | null = null;
/** True from a start until its run has ended (an upload may be decoding before the session exists). */
let busy = false;
/** Requests that arrive before the session exists (while the upload decodes) apply once it does. */
let pending: "pause" | "stop" | null = null;
const openStore = (run: string) => IdbCheckpointStore.open(run);
let shippedUrl: string | null = null;

/** Decodes the uploaded video to 256x256 RGB at 30 fps and pairs it with its action log. */
async function uploadedEpisodes(upload: UploadedData): Promise<EpisodeSource[]> {
  const log = parseActionLog(upload.actions, upload.actionsName);
  const frames: Uint8Array[] = [];
  let total = 0;
  for await (const batch of extractRgbBatches(upload.video, {
    decoder: "webcodecs",
    onProgress: (p) => {
      total = p.framesTotal;
      post({ type: "upload", done: Math.min(p.framesDone, MAX_UPLOAD_FRAMES), total: Math.min(total, MAX_UPLOAD_FRAMES) });
    },
  })) {
    const size = batch.rgb.length / batch.count;
    for (let i = 0; i < batch.count && frames.length < MAX_UPLOAD_FRAMES; i++) frames.push(batch.rgb.slice(i * size, (i + 1) * size));
    if (frames.length >= MAX_UPLOAD_FRAMES) break;
  }
  const cut = total > frames.length;
  if (cut) {
    const text = `${upload.videoName} has ${total} frames at 30 fps; training uses the first ${frames.length} (every frame is kept in memory).`;
    post({ type: "event", event: { type: "message", level: "warning", code: "TRAIN_UPLOAD_CUT", text, step: 0 } });
  }
  const pairing = pairFramesWithActions(frames.length, cut ? log.slice(0, frames.length) : log);
  const kept = frames.slice(pairing.videoStart, pairing.videoStart + pairing.actions.length);
  return [episodeFromFrames({ id: upload.videoName, seed: seedFromId(upload.videoName), source: "video", name: upload.videoName }, kept, pairing.actions)];
}

async function train(config: TrainSessionConfig, upload: UploadedData | null): Promise<void> {
  const uploaded = upload ? await uploadedEpisodes(upload) : null;
  const url = shippedUrl;
  const shippedWeights = url ? () => fetchWeightsArchive(url) : null;
  const datasets: IndexedDbDatasetStore[] = [];
  const openDataset = async (name: string) => {
    // Checked first: opening a database that does not exist would create an empty one.
    if (!(await listDatasets()).some((d) => d.name === name)) {
      throw new GamedreamError("TRAIN_DATA_MISSING", "dataset", `There is no stored dataset "${name}" in this browser any more; record or save it again, or choose other data.`, { recoverable: true });
    }
    const store = await IndexedDbDatasetStore.open(datasetDbName(name));
    datasets.push(store);
    return store;
  };
  const current = new TrainSession(config, { openStore, openDataset, uploaded, shippedWeights }, (event) => {
    const frames = event.type === "preview" ? [...event.real, ...event.generated] : event.type === "script-preview" ? [...event.real, ...event.dream] : [];
    post({ type: "event", event }, [...new Set(frames.map((a) => a.buffer))]);
  });
  session = current;
  if (pending === "pause") current.pause();
  if (pending === "stop") current.stop();
  pending = null;
  try {
    await current.run();
  } finally {
    current.dispose();
    session = null;
    for (const store of datasets) store.close();
  }
}

async function listRuns(): Promise<RunListing[]> {
  const out: RunListing[] = [];
  for (const { run } of await IdbCheckpointStore.listRuns()) {
    const store = await openStore(run);
    try {
      const checkpoints = await listCheckpoints(store);
      let stored = null;
      try {
        stored = await readStoredRun(store);
      } catch {
        // A run whose checkpoints are all damaged is still listed, so it can be deleted.
      }
      out.push({ run, checkpoints, session: stored?.session ?? null, step: stored?.step ?? null });
    } finally {
      store.close();
    }
  }
  return out.sort((a, b) => a.run.localeCompare(b.run));
}

async function answer(request: Request): Promise<{ result: unknown; transfer?: Transferable[] }> {
  if (request.type === "runs") return { result: await listRuns() };
  if (request.type === "history") {
    const histories = [];
    for (const run of request.runs) {
      const store = await openStore(run);
      try {
        histories.push({ run, metrics: (await readStoredRun(store))?.metrics ?? [] });
      } finally {
        store.close();
      }
    }
    return { result: histories };
  }
  const store = await openStore(request.run);
  try {
    if (request.type === "delete") {
      await deleteCheckpoint(store, request.checkpoint);
      return { result: null };
    }
    if (request.type === "export") {
      const file = await exportCheckpoint(store, request.run, request.checkpoint, request.format);
      return { result: file, transfer: [file.bytes.buffer as ArrayBuffer] };
    }
    const target = await openStore(request.as);
    try {
      return { result: await branchCheckpoint(store, request.checkpoint, target) };
    } finally {
      target.close();
    }
  } finally {
    store.close();
  }
}

scope.addEventListener("message", (event) => {
  const msg = event.data;
  if (msg.type === "init") {
    shippedUrl = msg.shippedWeights;
    started = (async () => {
      const backend = await initBackend({ wasm, wasmPaths: msg.wasmPaths, override: msg.backend });
      const facts = await probeDevice(backend);
      post({ type: "ready", backend, device: chooseDeviceSettings(facts, msg.overrides) });
    })();
    started.catch((e) => post({ type: "ended", error: sessionError(e) }));
  } else if (msg.type === "start") {
    if (busy) {
      post({ type: "ended", error: new GamedreamError("TRAIN_BUSY", "training", "A run is already training; stop it first.").toJSON() });
      return;
    }
    busy = true;
    pending = null;
    void (async () => {
      try {
        await started;
        await train(msg.config, msg.upload);
        post({ type: "ended", error: null });
      } catch (e) {
        post({ type: "ended", error: sessionError(e) });
      } finally {
        busy = false;
      }
    })();
  } else if (msg.type === "pause") {
    if (session) session.pause();
    else pending = "pause";
  } else if (msg.type === "resume") {
    if (session) session.resume();
    else if (pending === "pause") pending = null;
  } else if (msg.type === "stop") {
    if (session) session.stop();
    else pending = "stop";
  }
  else if (msg.type === "request") {
    void (async () => {
      try {
        await started;
        const { result, transfer } = await answer(msg.request);
        post({ type: "reply", id: msg.id, result }, transfer ?? []);
      } catch (e) {
        post({ type: "reply", id: msg.id, error: sessionError(e) });
      }
    })();
  }
});
