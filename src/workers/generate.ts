// Worker entry: live play off the page's thread (src/pages/play.md). It owns TensorFlow.js, the
// model and a PlaySession (src/lib/play/session.ts), steps it at up to `fps` frames a second with
// the latest input the page sent, and draws both sides into OffscreenCanvases the page
// transferred (or posts the RGBA bytes where the page must draw). On the CPU (wasm) it hands each
// frame's VAE decode to a second worker (src/workers/decode.ts) and generates the next frame
// meanwhile (src/lib/play/frame-decoder.ts says why). On a lost WebGL context it hands
// the session to the page as a snapshot, which the page restores in a fresh worker. The messages
// both ways are those of src/lib/play/client.ts, whose PlayClient is the page's side.
// Bundled to src/assets/workers/generate.js by scripts/prepare-site.ts.
import * as tf from "@tensorflow/tfjs";
import * as wasm from "@tensorflow/tfjs-backend-wasm";
import { NO_ACTION, cloneAction, type Action } from "../lib/actions/index.js";
import { FRAME_SIZE, initBackend, type BackendChoice, GamedreamError, isGamedreamError } from "../lib/core/index.js";
import { fetchWeightsArchive } from "../lib/models/index.js";
import {
  DecodeWorkerClient,
  type DecodeWorkerLike,
  importModelFiles,
  loadPlayModel,
  type PlayModelHost,
  PlaySession,
  type PlayFrame,
  type PlayLatentFrame,
  type PlayModel,
  type RgbaFrame,
  type FromPlayWorker,
  type ToPlayWorker,
  type PlayFrameStats,
  type PlayModelSource,
  type PlayReady,
  type PlayReplies,
  type PlayRequest,
} from "../lib/play/index.js";
import { type StartFrames, GameplayRecorder, type RecordedEpisode } from "../lib/data/index.js";
import { IdbCheckpointStore } from "../lib/storage/browser.js";
import { readUserDatasetStart, storeUserDataset } from "../lib/data/browser.js";

// tsconfig's libs describe a page (DOM), not a worker: name what this entry uses of its scope.
const scope = self as unknown as {
  postMessage(message: FromPlayWorker, transfer: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent<ToPlayWorker>) => void): void;
};
const post = (message: FromPlayWorker, transfer: Transferable[] = []) => scope.postMessage(message, transfer);

let init: Extract<ToPlayWorker, { type: "init" }> | null = null;
let session: PlaySession | null = null;
let model: (PlayModel & { dispose(): void }) | null = null;
let input: Action = cloneAction(NO_ACTION);
let paused = false;
let wantPixels = false;
let contexts: { real: OffscreenCanvasRenderingContext2D; dream: OffscreenCanvasRenderingContext2D } | null = null;
/** Resolves when the WebGL context of the current backend is lost (never, on other backends). */
let contextLost: Promise<void> = new Promise(() => {});
let lost = false;
/** Session changes (settings, resync, reset) wait here and run between frames, never during one. */
const tasks: (() => Promise<void> | void)[] = [];
const shown: number[] = [];
const dreamTimes: number[] = [];
/** The decode worker, when frames are decoded there (wasm); null: this worker decodes. */
let decoder: DecodeWorkerClient | null = null;
/** Settles when the frame the decode worker has in hand is back and shown. */
let inflight: Promise<void> | null = null;

function typed(e: unknown): GamedreamError {
  return isGamedreamError(e)
    ? (e as GamedreamError)
    : new GamedreamError("PLAY_INTERNAL", "internal", e instanceof Error ? e.message : String(e), {
        recoverable: false,
      });
}

function fail(e: unknown, fatal = false): void {
  post({ type: "error", error: typed(e).toJSON(), fatal });
}

/** Settles once the backend of the init message has started (or failed to). */
let backendStarted: Promise<unknown> = Promise.resolve();
let recorder: GameplayRecorder | null = null;
/** The last recording, until it is saved. */
let unsaved: { level: number; episode: RecordedEpisode } | null = null;
const playHost = (shippedUrl: string | null): PlayModelHost => ({
  openStore: (run) => IdbCheckpointStore.open(run),
  shippedWeights: shippedUrl ? () => fetchWeightsArchive(shippedUrl) : null,
  listRuns: async () => (await IdbCheckpointStore.listRuns()).map((r) => r.run),
});

/** The WebGL context tfjs renders with, when the active backend is webgl. */
function webglContext(): WebGL2RenderingContext | null {
  if (tf.getBackend() !== "webgl") return null;
  return (tf.backend() as unknown as { gpgpu?: { gl: WebGL2RenderingContext } }).gpgpu?.gl ?? null;
}

function watchContext(): void {
  lost = false;
  const gl = webglContext();
  if (!gl) {
    contextLost = new Promise(() => {});
    return;
  }
  contextLost = new Promise((resolve) => {
    (gl.canvas as EventTarget).addEventListener("webglcontextlost", () => {
      lost = true;
      resolve();
    });
  });
}

async function startBackend(override: string | null): Promise<BackendChoice> {
  const choice = await initBackend({
    wasm,
    wasmPaths: init!.wasmPaths,
    override,
    loadWebgpu: () => import("@tensorflow/tfjs-backend-webgpu"),
    // With a decode worker on the second core, one wasm thread here: a second one would only
    // contend with it (a realtime frame gains nothing from two threads, docs/performance-notes.md).
    threads: init!.decodeWorkerUrl ? 1 : undefined,
  });
  watchContext();
  return choice;
}

/** The chosen model; the shipped weights fall back to untrained ones of the page's seed (a note says why), anything else fails. */
function loadModel(source: Extract<PlayModelSource, { kind: "choice" }>, seed: number) {
  return loadPlayModel(source.choice, playHost(source.shippedUrl), { seed });
}

/** Steps the session, or resolves to null when the GPU context is lost meanwhile (a lost context may never answer a readback). */
async function stepOrLost(action: Action): Promise<PlayFrame | null> {
  const frame = await Promise.race([session!.step(action), contextLost.then(() => null)]);
  if (frame && webglContext()?.isContextLost()) lost = true;
  return lost ? null : frame;
}

/**
 * A lost WebGL context cannot come back in this worker: tfjs keeps WebGL objects of the lost context
 * in module-level caches, and tensors of the old backend leak into the new one. So the session goes
 * to the page as a snapshot (kept weights, latents, game state, action log) and the page restores
 * it in a fresh worker; this one stops.
 */
function handOver(): void {
  const snapshot = session!.snapshot();
  post({ type: "lost", at: session!.frameIndex, snapshot });
  session = null;
}

function image(frame: RgbaFrame): ImageData {
  return new ImageData(frame.data as Uint8ClampedArray<ArrayBuffer>, frame.width, frame.height);
}

function draw(frame: PlayFrame): void {
  if (!contexts) return;
  if (frame.real) contexts.real.putImageData(image(frame.real), 0, 0);
  contexts.dream.putImageData(image(frame.dream), 0, 0);
}

function median(values: number[]): number {
  const s = values.slice().sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : 0;
}

async function runTasks(): Promise<void> {
  while (tasks.length) {
    try {
      await tasks.shift()!();
    } catch (e) {
      fail(e);
    }
  }
}

/** Draws a finished frame and tells the page (with its bytes when the page asked or draws itself). */
function show(frame: PlayFrame): void {
  draw(frame);
  // Before the frame's bytes are transferred to the page.
  if (recorder && frame.real) recorder.add(frame.action, frame.real.data);
  const t = performance.now();
  shown.push(t);
  while (shown.length && shown[0] < t - 1000) shown.shift();
  dreamTimes.push(frame.timings.dreamMs);
  if (dreamTimes.length > 30) dreamTimes.shift();
  const stats: PlayFrameStats = {
    index: frame.index,
    action: frame.action,
    timings: frame.timings,
    fps: shown.length,
    dreamMs: median(dreamTimes),
    numTensors: tf.memory().numTensors,
    recorded: recorder ? recorder.count : null,
  };
  if (wantPixels || !contexts) {
    const buffers = [frame.dream.data.buffer, ...(frame.real ? [frame.real.data.buffer] : [])];
    post({ type: "frame", stats, real: frame.real?.data, dream: frame.dream.data }, buffers);
  } else post({ type: "frame", stats });
}

/** Sends a generated frame's latent to the decode worker; the frame comes back whole (null if the decoder failed). */
function decodeElsewhere(frame: PlayLatentFrame): Promise<PlayFrame | null> {
  const { latent, ...rest } = frame;
  // A copy: the session keeps the latent in its window, and the message transfers (detaches) what it sends.
  return decoder!.decode(frame.index, latent.slice()).then(
    ({ dream, decodeMs }) => ({
      ...rest,
      dream: { data: dream, width: FRAME_SIZE, height: FRAME_SIZE },
      // The frame's work on both cores: generation here, decode there.
      timings: {
        ...rest.timings,
        dreamMs: rest.timings.dreamMs + decodeMs,
        totalMs: rest.timings.totalMs + decodeMs,
        decodeMs,
      },
    }),
    (e) => {
      // Go on decoding here; the frame in flight is skipped (its latent is in the window already).
      decoder?.dispose();
      decoder = null;
      post({
        type: "notice",
        level: "warning",
        code: "DECODER_FAILED",
        message: `The second worker that decodes dream frames failed (${typed(e).message}); this worker decodes them itself from now on, which is slower.`,
      });
      return null;
    },
  );
}

/** Waits until the frame the decode worker has in hand is back and shown. */
async function settle(): Promise<void> {
  await inflight;
  inflight = null;
}

async function loop(): Promise<void> {
  const interval = 1000 / init!.fps;
  for (;;) {
    // Settings, resync, reset and pause apply after the frame in flight is shown.
    if (inflight && (tasks.length || paused)) await settle();
    await runTasks();
    if (paused) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    const started = performance.now();
    if (decoder) {
      // Frame t+1 is generated here while the decode worker decodes frame t; each frame is shown
      // as soon as it is back, and one frame at most is in flight.
      const next = await session!.stepLatent(input);
      if (inflight) await settle();
      if (decoder)
        inflight = decodeElsewhere(next).then((frame) => {
          if (frame) show(frame);
        });
    } else {
      let frame: PlayFrame | null;
      try {
        frame = await stepOrLost(input);
      } catch (e) {
        if (!lost && !webglContext()?.isContextLost()) throw e;
        frame = null;
      }
      if (!frame) {
        handOver();
        return;
      }
      show(frame);
    }
    // Wait out the rest of the frame's budget; at least yield so messages (input) get through.
    const wait = interval - (performance.now() - started);
    await (wait >= 1 ? new Promise((r) => setTimeout(r, wait)) : yieldToMessages());
  }
}

const yieldChannel = new MessageChannel();
/**
 * Lets queued messages (input, settings) run, without a timer: browsers hold a chain of zero-delay
 * timers to at least 4 ms each, which a frame over its budget would pay on top.
 */
function yieldToMessages(): Promise<void> {
  return new Promise((resolve) => {
    yieldChannel.port1.onmessage = () => resolve();
    yieldChannel.port2.postMessage(null);
  });
}

/** The decode worker's script and backend start loading; null (with a notice) when it cannot be created. */
function openDecoder(url: string): DecodeWorkerClient | null {
  try {
    const worker = new Worker(url, { type: "module" }) as unknown as DecodeWorkerLike;
    return DecodeWorkerClient.open(worker, { wasmPaths: init!.wasmPaths, threads: 1 });
  } catch (e) {
    decoderNotice(e);
    return null;
  }
}

/** The session's VAE to the decode worker; the client once it can decode, or null (with a notice). */
async function loadDecoder(client: DecodeWorkerClient): Promise<DecodeWorkerClient | null> {
  try {
    await client.load(session!.snapshot().vae);
    return client;
  } catch (e) {
    client.dispose();
    decoderNotice(e);
    return null;
  }
}

function decoderNotice(e: unknown): void {
  post({
    type: "notice",
    level: "warning",
    code: "DECODER_FAILED",
    message: `A second worker to decode dream frames could not start (${typed(e).message}); this worker decodes them itself, which is slower.`,
  });
}

function between(task: () => Promise<void> | void): void {
  tasks.push(task);
}

async function answer(id: number, request: PlayRequest): Promise<void> {
  const reply = <K extends PlayRequest["type"]>(_type: K, result: PlayReplies[K]) =>
    post({ type: "reply", id, result });
  try {
    // Imports decode tensors: wait for the backend the init message is starting.
    await backendStarted;
    if (request.type === "import") {
      const host = playHost(null);
      reply("import", await importModelFiles(request.files, { openStore: host.openStore, listRuns: host.listRuns! }));
    } else if (request.type === "action-log") {
      reply("action-log", session ? session.actionLog.slice() : []);
    } else {
      // The frames stay here until they are saved, so a refused name (taken, bad) can be retried.
      if (recorder) {
        unsaved = { level: recorder.level, episode: recorder.finish() };
        recorder = null;
      }
      const frames = unsaved?.episode.frames.length ?? 0;
      if (request.save === null || !unsaved) {
        reply("record-stop", { frames, saved: null });
        return;
      }
      const { level, episode } = unsaved;
      const saved = await storeUserDataset(request.save, {
        ...episode,
        source: "game",
        name: `played on level ${level}`,
        level,
      });
      unsaved = null;
      reply("record-stop", { frames, saved });
    }
  } catch (e) {
    post({ type: "reply", id, error: typed(e).toJSON() });
  }
}

scope.addEventListener("message", (event: MessageEvent<ToPlayWorker>) => {
  const msg = event.data;
  switch (msg.type) {
    case "init":
      init = msg;
      void (async () => {
        try {
          const starting = startBackend(msg.backend);
          backendStarted = starting.catch(() => {});
          const backend = await starting;
          // On the CPU a second worker decodes frames while this one generates the next; its script
          // and backend load now, beside the model.
          const opened = msg.decodeWorkerUrl && backend.backend === "wasm" ? openDecoder(msg.decodeWorkerUrl) : null;
          let ready: PlayReady["model"];
          if (msg.model.kind === "snapshot") {
            session = PlaySession.restore(msg.model.snapshot);
            ready = { kind: "snapshot", name: "", description: msg.model.description, notes: [] };
          } else {
            let loaded;
            try {
              loaded = await loadModel(msg.model, msg.seed);
            } catch (e) {
              opened?.dispose();
              fail(e, true);
              return;
            }
            model = loaded.model;
            ready = { kind: loaded.kind, name: loaded.name, description: loaded.description, notes: loaded.notes };
            let startFrames: StartFrames | null = null;
            if (msg.start.kind === "dataset") {
              try {
                startFrames = await readUserDatasetStart(msg.start.name, Math.max(1, model.dit.config.contextFrames));
              } catch (e) {
                opened?.dispose();
                fail(e, true);
                return;
              }
            }
            session = await PlaySession.create({
              model,
              gameSeed: msg.start.kind === "game" ? msg.start.level : 0,
              startFrames,
              seed: msg.seed,
              settings: msg.settings,
            });
          }
          if (msg.canvases)
            contexts = { real: msg.canvases.real.getContext("2d")!, dream: msg.canvases.dream.getContext("2d")! };
          // On the CPU, decoding in a second worker overlaps it with the next frame's generation.
          if (opened) decoder = await loadDecoder(opened);
          const first = session.realFrame();
          if (contexts) {
            if (session.hasGame) contexts.real.putImageData(image(first), 0, 0);
            contexts.dream.putImageData(image(first), 0, 0);
          }
          const snapshotStart = msg.model.kind === "snapshot" ? msg.model.snapshot.startFrames : null;
          const frames = session.hasGame ? null : (snapshotStart ?? null);
          const start = session.hasGame
            ? {
                description: `the built-in game, level ${msg.start.kind === "game" ? msg.start.level : session.snapshot().gameSeed}`,
                why: null,
              }
            : {
                description:
                  frames?.name ?? (msg.start.kind === "dataset" ? `dataset “${msg.start.name}”` : "stored frames"),
                why: "The dream starts from stored frames (recorded or uploaded data), so there is no game to play beside it: only the dream is shown, and it answers your keys from those frames on.",
              };
          post({
            type: "ready",
            backend,
            model: ready,
            game: session.hasGame ? { level: msg.start.kind === "game" ? msg.start.level : 0 } : null,
            start,
            settings: { ...session.settings },
            decodeWorker: decoder !== null,
          });
          await loop();
        } catch (e) {
          fail(e);
        }
      })();
      break;
    case "input":
      input = msg.action;
      break;
    case "settings":
      between(() => {
        session!.configure(msg.settings);
        post({ type: "settings", settings: { ...session!.settings } });
      });
      break;
    case "pause":
      paused = msg.paused;
      break;
    case "resync":
      between(() => session!.resync());
      break;
    case "reset":
      between(() => session!.reset());
      break;
    case "pixels":
      wantPixels = msg.on;
      break;
    case "lose-context": {
      const ext = webglContext()?.getExtension("WEBGL_lose_context");
      if (ext) ext.loseContext();
      else
        post({
          type: "notice",
          level: "info",
          code: "WEBGL_NOT_ACTIVE",
          message: `There is no WebGL context to lose: play runs on ${tf.getBackend()}.`,
        });
      break;
    }
    case "record-start":
      between(() => {
        if (!session!.hasGame) {
          post({
            type: "notice",
            level: "warning",
            code: "RECORD_NO_GAME",
            message:
              "Recording saves the built-in game as you play it; this dream starts from stored frames, with no game to record. Start from the built-in game to record.",
          });
          return;
        }
        recorder = new GameplayRecorder(init!.start.kind === "game" ? init!.start.level : 0);
        recorder.begin(session!.realFrame().data);
      });
      break;
    case "request":
      void answer(msg.id, msg.request);
      break;
  }
});
