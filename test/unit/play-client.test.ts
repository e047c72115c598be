// The page's side of the play worker (src/lib/play/client.ts) against a stand-in worker: the init
// message, typed replies, errors as GamedreamErrors, and the restart from a snapshot after a lost
// WebGL context with the controls as the page left them.
import { describe, expect, it } from "vitest";
import { NO_ACTION, type Action } from "../../src/lib/actions/index.js";
import { GamedreamError } from "../../src/lib/core/index.js";
import {
  PlayClient,
  type FromPlayWorker,
  type PlayClientHandlers,
  type PlayReady,
  type PlaySnapshot,
  type PlayWorkerLike,
  type ToPlayWorker,
} from "../../src/lib/play/index.js";

type Listener = (event: { data?: unknown; message?: string }) => void;

/** A worker stand-in: records what it is sent; `emit` plays what the worker would post. */
function fakeWorker() {
  const listeners = { message: new Set<Listener>(), error: new Set<Listener>() };
  const worker = {
    sent: [] as { message: ToPlayWorker; transfer: unknown[] }[],
    terminated: false,
    postMessage(message: ToPlayWorker, transfer: unknown[] = []) {
      worker.sent.push({ message, transfer });
    },
    addEventListener(type: "message" | "error", listener: Listener) {
      listeners[type].add(listener);
    },
    terminate() {
      worker.terminated = true;
    },
    emit(message: FromPlayWorker) {
      for (const l of listeners.message) l({ data: message });
    },
    fail(message: string) {
      for (const l of listeners.error) l({ message });
    },
    types: () => worker.sent.map((s) => s.message.type),
    requests: () => worker.sent.flatMap((s) => (s.message.type === "request" ? [s.message] : [])),
  };
  return worker satisfies PlayWorkerLike;
}

const READY: PlayReady = {
  backend: {
    backend: "wasm",
    host: "browser",
    reason: "wasm",
    override: null,
    threads: 1,
    crossOriginIsolated: false,
    attempts: [],
  },
  model: {
    kind: "shipped",
    name: "shipped weights",
    description: "shipped weights (realtime preset, DiT step 3800)",
    notes: [],
  },
  game: { level: 3 },
  start: { description: "the built-in game, level 3", why: null },
  settings: { sampler: "ddim", steps: 1, contextNoise: 0.1, guidanceScale: 2, eta: 0 } as PlayReady["settings"],
  decodeWorker: false,
};

function setup(handlers: PlayClientHandlers = {}) {
  const workers: ReturnType<typeof fakeWorker>[] = [];
  let canvasSets = 0;
  const client = new PlayClient({
    createWorker: () => {
      const w = fakeWorker();
      workers.push(w);
      return w;
    },
    wasmPaths: { "tfjs-backend-wasm.wasm": "/wasm" },
    backend: null,
    model: { kind: "choice", choice: { kind: "shipped" }, shippedUrl: "/weights.tar" },
    start: { kind: "game", level: 3 },
    seed: 3,
    settings: { steps: 1 },
    fps: 30,
    canvases: () => ({ real: { id: `real-${++canvasSets}` }, dream: { id: `dream-${canvasSets}` } }) as never,
    on: handlers,
  });
  return { client, workers };
}

const forward: Action = { movement: [1, 0, 0, 0], camera: [0, 0], interaction: 0 };

describe("PlayClient", () => {
  it("starts the worker with the init message and transfers the canvases", () => {
    const { workers } = setup();
    expect(workers).toHaveLength(1);
    const [init] = workers[0].sent;
    expect(init.message).toMatchObject({
      type: "init",
      seed: 3,
      fps: 30,
      start: { kind: "game", level: 3 },
      model: { kind: "choice", choice: { kind: "shipped" } },
      canvases: { real: { id: "real-1" } },
    });
    expect(init.transfer).toEqual([{ id: "real-1" }, { id: "dream-1" }]);
    // Only the init: no handler options leak into the message.
    expect(Object.keys(init.message).sort()).toEqual([
      "backend",
      "canvases",
      "fps",
      "model",
      "seed",
      "settings",
      "start",
      "type",
      "wasmPaths",
    ]);
  });

  it("answers each request with the reply of its id; a worker error rejects as a GamedreamError", async () => {
    const { client, workers } = setup();
    const w = workers[0];
    const log = client.actionLog();
    const saved = client.stopRecording("mine");
    const [logRequest, saveRequest] = w.requests();
    expect(logRequest.request).toEqual({ type: "action-log" });
    expect(saveRequest.request).toEqual({ type: "record-stop", save: "mine" });
    expect(logRequest.id).not.toBe(saveRequest.id);
    // Replies in any order; one for nobody is ignored.
    w.emit({ type: "reply", id: 999, result: [] });
    w.emit({
      type: "reply",
      id: saveRequest.id,
      error: new GamedreamError("DATASET_EXISTS", "dataset", "A dataset named “mine” is already stored.").toJSON(),
    });
    w.emit({ type: "reply", id: logRequest.id, result: [forward] });
    expect(await log).toEqual([forward]);
    const error = await saved.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GamedreamError);
    expect(error).toMatchObject({
      code: "DATASET_EXISTS",
      type: "dataset",
      message: "A dataset named “mine” is already stored.",
    });
  });

  it("passes frames, notices and errors to the page; a worker that fails to start is a notice", () => {
    const heard: unknown[] = [];
    const { workers } = setup({
      ready: (r, from) => heard.push(["ready", r.model.kind, from]),
      frame: (stats, pixels) => heard.push(["frame", stats.index, pixels.dream?.length ?? null]),
      notice: (level, message, code) => heard.push(["notice", level, code, message]),
      error: (e, fatal) => heard.push(["error", e.code, fatal]),
    });
    const w = workers[0];
    w.emit({ type: "ready", ...READY });
    w.emit({
      type: "frame",
      stats: {
        index: 4,
        action: NO_ACTION,
        timings: {} as never,
        fps: 30,
        dreamMs: 20,
        numTensors: 10,
        recorded: null,
      },
      dream: new Uint8ClampedArray(16),
    });
    w.emit({ type: "notice", level: "info", code: "WEBGL_NOT_ACTIVE", message: "no WebGL" });
    w.emit({ type: "error", error: new GamedreamError("PLAY_PAIR_MISMATCH", "model", "no").toJSON(), fatal: true });
    w.fail("");
    expect(heard).toEqual([
      ["ready", "shipped", null],
      ["frame", 4, 16],
      ["notice", "info", "WEBGL_NOT_ACTIVE", "no WebGL"],
      ["error", "PLAY_PAIR_MISMATCH", true],
      ["notice", "error", "PLAY_WORKER_FAILED", "The generation worker failed: it could not start."],
    ]);
  });

  it("after a lost WebGL context, goes on in a fresh worker from the snapshot, with fresh canvases and the controls as they were", async () => {
    const heard: unknown[] = [];
    const { client, workers } = setup({
      lost: (at) => heard.push(["lost", at]),
      ready: (r, from) => heard.push(["ready", r.model.description, from]),
    });
    const first = workers[0];
    first.emit({ type: "ready", ...READY });
    client.input(forward);
    client.pause(true);
    client.pixels(true);
    const pending = client.actionLog();
    const snapshot = { frames: 12 } as unknown as PlaySnapshot;
    first.emit({ type: "lost", at: 12, snapshot });

    expect(first.terminated).toBe(true);
    await expect(pending).rejects.toMatchObject({ code: "PLAY_WORKER_STOPPED" });
    expect(workers).toHaveLength(2);
    const second = workers[1];
    expect(second.sent[0].message).toMatchObject({
      type: "init",
      model: { kind: "snapshot", snapshot, description: READY.model.description },
      canvases: { real: { id: "real-2" } },
    });
    expect(second.types()).toEqual(["init", "input", "pause", "pixels"]);
    expect(second.sent[1].message).toEqual({ type: "input", action: forward });
    // Messages of the old worker are no longer heard; the new one's ready says where play goes on.
    first.emit({ type: "ready", ...READY });
    second.emit({
      type: "ready",
      ...READY,
      model: { kind: "snapshot", name: "", description: READY.model.description, notes: [] },
    });
    expect(heard).toEqual([
      ["ready", READY.model.description, null],
      ["lost", 12],
      ["ready", READY.model.description, 12],
    ]);
    // Controls reach the new worker.
    client.resync();
    expect(second.types().at(-1)).toBe("resync");
    client.dispose();
    expect(second.terminated).toBe(true);
  });
});
