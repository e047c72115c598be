// Worker entry: live play off the page's thread (src/pages/play.md). It owns TensorFlow.js, the
// model and a PlaySession (src/lib/play-session.ts), steps it at up to `fps` frames a second with
// the latest input the page sent, and draws both sides into OffscreenCanvases the page
// transferred (or posts the RGBA bytes where the page must draw). On a lost WebGL context it hands
// the session to the page as a snapshot, which the page restores in a fresh worker.
// Bundled to src/assets/workers/generate.js by scripts/prepare-site.ts.
import * as tf from "@tensorflow/tfjs";
import * as wasm from "@tensorflow/tfjs-backend-wasm";
import { NO_ACTION, cloneAction, type Action } from "../lib/actions.js";
import { initBackend, type BackendChoice } from "../lib/backend.js";
import { createDiT } from "../lib/dit.js";
import { GamedreamError, isGamedreamError } from "../lib/errors.js";
import { fetchWeightsArchive, loadModelFromCheckpoints, loadModelFromWeights } from "../lib/model-loader.js";
import { PlaySession, type PlayFrame, type PlayModel, type PlaySnapshot, type RgbaFrame } from "../lib/play-session.js";
import { getPreset } from "../lib/presets.js";
import { IdbCheckpointStore } from "../lib/storage/store-idb.browser.js";
import { DEFAULT_DIT_TRAIN } from "../lib/train/dit-task.js";
import { createVAE } from "../lib/vae.js";
import type { WorldModelSettings } from "../lib/worldmodel.js";

/**
 * Where the model comes from: the shipped weights archive (URL from src/components/weights.js),
 * training runs in this browser's IndexedDB (a VAE run and a DiT run), a seeded initialisation, or
 * the snapshot of a session that lost its WebGL context in another worker.
 */
export type ModelSource =
  | { kind: "weights"; url: string }
  | { kind: "checkpoint"; vaeRun: string; ditRun: string }
  | { kind: "untrained"; preset: string; seed: number }
  | { kind: "snapshot"; snapshot: PlaySnapshot; description: string };

export type ToWorker =
  | {
      type: "init";
      wasmPaths: Record<string, string>;
      backend: string | null;
      model: ModelSource;
      gameSeed: number;
      seed: number;
      settings: Partial<WorldModelSettings>;
      fps: number;
      canvases: { real: OffscreenCanvas; dream: OffscreenCanvas } | null;
    }
  | { type: "input"; action: Action }
  | { type: "settings"; settings: Partial<WorldModelSettings> }
  | { type: "pause"; paused: boolean }
  | { type: "resync" }
  | { type: "reset" }
  | { type: "pixels"; on: boolean }
  | { type: "action-log"; id: number }
  | { type: "lose-context" };

export interface FrameStats {
  index: number;
  action: Action;
  timings: PlayFrame["timings"];
  /** Frames shown over the last second. */
  fps: number;
  /** Median ms of the dream (world model step + decode + readback) over the last 30 frames. */
  dreamMs: number;
  numTensors: number;
}

export type FromWorker =
  | { type: "ready"; backend: BackendChoice; model: { kind: ModelSource["kind"]; description: string }; settings: WorldModelSettings }
  | { type: "frame"; stats: FrameStats; real?: Uint8ClampedArray; dream?: Uint8ClampedArray }
  | { type: "settings"; settings: WorldModelSettings }
  | { type: "notice"; level: "info" | "warning"; code: string; message: string; backend?: BackendChoice }
  | { type: "action-log"; id: number; actions: Action[] }
  | { type: "lost"; at: number; snapshot: PlaySnapshot }
  | { type: "error"; error: ReturnType<GamedreamError["toJSON"]> };

// tsconfig's libs describe a page (DOM), not a worker: name what this entry uses of its scope.
const scope = self as unknown as {
  postMessage(message: FromWorker, transfer: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent<ToWorker>) => void): void;
};
const post = (message: FromWorker, transfer: Transferable[] = []) => scope.postMessage(message, transfer);

let init: Extract<ToWorker, { type: "init" }> | null = null;
let session: PlaySession | null = null;
let model: PlayModel & { dispose(): void } | null = null;
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

function fail(e: unknown): void {
  const error = isGamedreamError(e) ? e : new GamedreamError("PLAY_INTERNAL", "internal", e instanceof Error ? e.message : String(e), { recoverable: false });
  post({ type: "error", error: error.toJSON() });
}

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
  const choice = await initBackend({ wasm, wasmPaths: init!.wasmPaths, override, loadWebgpu: () => import("@tensorflow/tfjs-backend-webgpu") });
  watchContext();
  return choice;
}

async function loadModel(source: Exclude<ModelSource, { kind: "snapshot" }>): Promise<{ model: PlayModel & { dispose(): void }; description: string }> {
  if (source.kind === "weights") {
    const loaded = await loadModelFromWeights(".", { readFile: await fetchWeightsArchive(source.url) });
    return { model: loaded, description: `shipped weights (${loaded.preset ?? "custom"} preset, DiT step ${loaded.sources.dit.step ?? "?"})` };
  }
  if (source.kind === "checkpoint") {
    const stores = { vae: await IdbCheckpointStore.open(source.vaeRun), dit: await IdbCheckpointStore.open(source.ditRun) };
    const loaded = await loadModelFromCheckpoints(stores);
    return { model: loaded, description: `training runs in this browser (VAE "${source.vaeRun}" step ${loaded.sources.vae.step}, DiT "${source.ditRun}" step ${loaded.sources.dit.step})` };
  }
  const preset = getPreset(source.preset);
  const vae = createVAE(preset.vae, source.seed);
  const dit = createDiT(preset.dit, source.seed + 1);
  const schedule = { ...DEFAULT_DIT_TRAIN.schedule };
  return {
    model: { vae, dit, schedule, preset: preset.name, dispose: () => (vae.dispose(), dit.dispose()) },
    description: `untrained weights (${preset.name} preset, seeded initialisation ${source.seed})`,
  };
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
  contexts.real.putImageData(image(frame.real), 0, 0);
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

async function loop(): Promise<void> {
  const interval = 1000 / init!.fps;
  for (;;) {
    await runTasks();
    if (paused) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    const started = performance.now();
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
    draw(frame);
    const t = performance.now();
    shown.push(t);
    while (shown.length && shown[0] < t - 1000) shown.shift();
    dreamTimes.push(frame.timings.dreamMs);
    if (dreamTimes.length > 30) dreamTimes.shift();
    const stats: FrameStats = { index: frame.index, action: frame.action, timings: frame.timings, fps: shown.length, dreamMs: median(dreamTimes), numTensors: tf.memory().numTensors };
    if (wantPixels || !contexts) post({ type: "frame", stats, real: frame.real.data, dream: frame.dream.data }, [frame.real.data.buffer, frame.dream.data.buffer]);
    else post({ type: "frame", stats });
    // Wait out the rest of the frame's budget; at least yield so messages (input) get through.
    await new Promise((r) => setTimeout(r, Math.max(0, interval - (performance.now() - started))));
  }
}

function between(task: () => Promise<void> | void): void {
  tasks.push(task);
}

scope.addEventListener("message", (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  switch (msg.type) {
    case "init":
      init = msg;
      void (async () => {
        try {
          const backend = await startBackend(msg.backend);
          let description: string;
          if (msg.model.kind === "snapshot") {
            session = PlaySession.restore(msg.model.snapshot);
            description = msg.model.description;
          } else {
            let loaded;
            try {
              loaded = await loadModel(msg.model);
            } catch (e) {
              if (msg.model.kind === "untrained") throw e;
              const why = e instanceof Error ? e.message : String(e);
              post({ type: "notice", level: "warning", code: "PLAY_UNTRAINED", message: `The model could not be loaded (${why}); playing with untrained weights instead.` });
              loaded = await loadModel({ kind: "untrained", preset: "realtime", seed: msg.seed });
            }
            model = loaded.model;
            description = loaded.description;
            session = await PlaySession.create({ model, gameSeed: msg.gameSeed, seed: msg.seed, settings: msg.settings });
          }
          if (msg.canvases) contexts = { real: msg.canvases.real.getContext("2d")!, dream: msg.canvases.dream.getContext("2d")! };
          const first = session.realFrame();
          if (contexts) {
            contexts.real.putImageData(image(first), 0, 0);
            contexts.dream.putImageData(image(first), 0, 0);
          }
          post({ type: "ready", backend, model: { kind: msg.model.kind, description }, settings: { ...session.settings } });
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
    case "action-log":
      post({ type: "action-log", id: msg.id, actions: session ? session.actionLog.slice() : [] });
      break;
    case "lose-context": {
      const ext = webglContext()?.getExtension("WEBGL_lose_context");
      if (ext) ext.loseContext();
      else post({ type: "notice", level: "info", code: "WEBGL_NOT_ACTIVE", message: `There is no WebGL context to lose: play runs on ${tf.getBackend()}.` });
      break;
    }
  }
});
