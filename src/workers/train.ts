// Worker entry: the training dashboard's runs off the page's thread (src/pages/train.md). It owns
// TensorFlow.js, runs one TrainSession (src/lib/train/session.ts) at a time with checkpoints in
// IndexedDB, decodes an uploaded video itself (WebCodecs works in workers; src/lib/data/upload.ts,
// the Data page's upload path too), and answers the dashboard's questions about stored runs (list,
// metrics, export, delete, restore). The messages it takes and sends are typed in
// src/lib/train/client.ts, whose TrainWorkerClient is the page's side. Runs may start from the
// site's shipped weights: the page passes the archive's URL, read when a run asks for it.
// Bundled to src/assets/workers/train.js by scripts/prepare-site.ts.
import * as wasm from "@tensorflow/tfjs-backend-wasm";
import { initBackend, GamedreamError } from "../lib/core/index.js";
import { uploadedEpisodeSource, type EpisodeSource } from "../lib/data/index.js";
import { chooseDeviceSettings, probeDevice } from "../lib/bench/index.js";
import { fetchWeightsArchive } from "../lib/models/index.js";
import { deleteCheckpoint, listCheckpoints } from "../lib/storage/index.js";
import { IdbCheckpointStore } from "../lib/storage/browser.js";
import { IndexedDbDatasetStore, datasetDbName, listDatasets, uploadedEpisode } from "../lib/data/browser.js";
import {
  TrainSession,
  branchCheckpoint,
  exportCheckpoint,
  readStoredRun,
  sessionError,
  type FromTrainWorker,
  type RunListing,
  type ToTrainWorker,
  type TrainReplies,
  type TrainRequest,
  type TrainSessionConfig,
  type UploadedData,
} from "../lib/train/index.js";

// tsconfig's libs describe a page (DOM), not a worker: name what this entry uses of its scope.
const scope = self as unknown as {
  postMessage(message: FromTrainWorker, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent<ToTrainWorker>) => void): void;
};
const post = (message: FromTrainWorker, transfer: Transferable[] = []) => scope.postMessage(message, transfer);

let started: Promise<void> | null = null;
let session: TrainSession | null = null;
/** True from a start until its run has ended (an upload may be decoding before the session exists). */
let busy = false;
/** Requests that arrive before the session exists (while the upload decodes) apply once it does. */
let pending: "pause" | "stop" | null = null;
const openStore = (run: string) => IdbCheckpointStore.open(run);
let shippedUrl: string | null = null;

/** The upload as one training episode, decoded here (at most data/upload.ts MAX_UPLOAD_FRAMES frames; a cut is reported). */
async function uploadedEpisodes(upload: UploadedData): Promise<EpisodeSource[]> {
  const episode = await uploadedEpisode(
    { video: upload.video, videoName: upload.videoName, log: upload.actions, logName: upload.actionsName },
    { decoder: "webcodecs", onProgress: ({ done, total }) => post({ type: "upload", done, total }) },
  );
  if (episode.cutNote)
    post({
      type: "event",
      event: { type: "message", level: "warning", code: "TRAIN_UPLOAD_CUT", text: episode.cutNote, step: 0 },
    });
  return [uploadedEpisodeSource(episode)];
}

async function train(config: TrainSessionConfig, upload: UploadedData | null): Promise<void> {
  const uploaded = upload ? await uploadedEpisodes(upload) : null;
  const url = shippedUrl;
  const shippedWeights = url ? () => fetchWeightsArchive(url) : null;
  const datasets: IndexedDbDatasetStore[] = [];
  const openDataset = async (name: string) => {
    // Checked first: opening a database that does not exist would create an empty one.
    if (!(await listDatasets()).some((d) => d.name === name)) {
      throw new GamedreamError(
        "TRAIN_DATA_MISSING",
        "dataset",
        `There is no stored dataset "${name}" in this browser any more; record or save it again, or choose other data.`,
        { recoverable: true },
      );
    }
    const store = await IndexedDbDatasetStore.open(datasetDbName(name));
    datasets.push(store);
    return store;
  };
  const current = new TrainSession(config, { openStore, openDataset, uploaded, shippedWeights }, (event) => {
    const frames =
      event.type === "preview"
        ? [...event.real, ...event.generated]
        : event.type === "script-preview"
          ? [...event.real, ...event.dream]
          : [];
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
    await withStore(run, async (store) => {
      const checkpoints = await listCheckpoints(store);
      // A run whose checkpoints are all damaged is still listed, so it can be deleted.
      const stored = await readStoredRun(store).catch(() => null);
      out.push({ run, checkpoints, session: stored?.session ?? null, step: stored?.step ?? null });
    });
  }
  return out.sort((a, b) => a.run.localeCompare(b.run));
}

/** Opens run `run`'s checkpoint store for `use`, then closes it. */
async function withStore<T>(run: string, use: (store: IdbCheckpointStore) => Promise<T>): Promise<T> {
  const store = await openStore(run);
  try {
    return await use(store);
  } finally {
    store.close();
  }
}

/** One answer per question, typed by client.ts `TrainReplies`, so the page and this worker agree. */
type Answer<K extends TrainRequest["type"]> = (
  request: Extract<TrainRequest, { type: K }>,
) => Promise<{ result: TrainReplies[K]; transfer?: Transferable[] }>;
const answers: { [K in TrainRequest["type"]]: Answer<K> } = {
  runs: async () => ({ result: await listRuns() }),
  history: async ({ runs }) => {
    const histories = [];
    for (const run of runs) histories.push({ run, metrics: (await withStore(run, readStoredRun))?.metrics ?? [] });
    return { result: histories };
  },
  delete: ({ run, checkpoint }) =>
    withStore(run, async (store) => (await deleteCheckpoint(store, checkpoint), { result: null })),
  export: ({ run, checkpoint, format }) =>
    withStore(run, async (store) => {
      const file = await exportCheckpoint(store, run, checkpoint, format);
      return { result: file, transfer: [file.bytes.buffer as ArrayBuffer] };
    }),
  restore: ({ run, checkpoint, as }) =>
    withStore(run, (store) =>
      withStore(as, async (target) => ({ result: await branchCheckpoint(store, checkpoint, target) })),
    ),
};

function answer<K extends TrainRequest["type"]>(
  request: Extract<TrainRequest, { type: K }>,
): Promise<{ result: unknown; transfer?: Transferable[] }> {
  return (answers[request.type as K] as Answer<K>)(request);
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
      post({
        type: "ended",
        error: new GamedreamError("TRAIN_BUSY", "training", "A run is already training; stop it first.").toJSON(),
      });
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
  } else if (msg.type === "request") {
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
