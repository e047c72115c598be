/**
 * The play worker (src/workers/generate.ts) and the page that drives it (src/pages/play.md) speak
 * the protocol of this file, and the page speaks it only through `PlayClient`, so the two cannot
 * drift apart: the worker types its messages with these types too.
 *
 * Layout: what the page sends (`ToPlayWorker`: one `init`, then input, settings and controls, and
 * `request`s answered by a `reply` of the same id, typed by `PlayReplies`); what the worker sends
 * (`FromPlayWorker`); then `PlayClient`, which starts the worker, types the replies, and restarts
 * a fresh worker from the session's snapshot when the WebGL context is lost.
 *
 * No DOM here: the page passes a worker factory (a fake one in test/unit/play-client.test.ts).
 */
import type { Action } from "../actions/index.js";
import { GamedreamError, type BackendChoice } from "../core/index.js";
import type { ImportedFile, PlayModelChoice } from "./model-choice.js";
import type { PlayFrame, PlaySnapshot } from "./session.js";
import type { WorldModelSettings } from "./world-model.js";

/**
 * Where the model comes from: a choice of model-choice.ts (the shipped weights archive, whose URL
 * comes from src/components/weights.js; a training run in this browser's IndexedDB; a seeded
 * initialisation), or the snapshot of a session that lost its WebGL context in another worker.
 */
export type PlayModelSource =
  | { kind: "choice"; choice: PlayModelChoice; shippedUrl: string | null }
  | { kind: "snapshot"; snapshot: PlaySnapshot; description: string };

/** Where the dream starts: the built-in game at a level, or a stored dataset's first frames (no game beside it). */
export type PlayStart = { kind: "game"; level: number } | { kind: "dataset"; name: string };

/** A typed error as it crosses the worker boundary. */
export type PlayErrorJson = ReturnType<GamedreamError["toJSON"]>;

/** A recording saved as a dataset in IndexedDB (src/lib/data/user-datasets.browser.ts `storeUserDataset`). */
export interface SavedRecording {
  name: string;
  frames: number;
  bytes: number;
  warning: string | null;
}

/** Questions the page asks the worker, each answered with a `reply` of the same id. */
export type PlayRequest =
  /** Stores imported model files as a new run (model-choice.ts `importModelFiles`). */
  | { type: "import"; files: ImportedFile[] }
  /** Ends the dataset recording; with a name, saves it as a dataset in IndexedDB. */
  | { type: "record-stop"; save: string | null }
  /** Every action played since the level started, one per frame. */
  | { type: "action-log" };

/** The result of each request. */
export interface PlayReplies {
  import: { run: string; kind: string; step: number };
  /** `frames`: how many were recorded; `saved`: null when not saved (no name, or nothing recorded). */
  "record-stop": { frames: number; saved: SavedRecording | null };
  "action-log": Action[];
}

export interface PlayInit {
  wasmPaths: Record<string, string>;
  /** `?backend=` override, or null for the fastest available. */
  backend: string | null;
  model: PlayModelSource;
  start: PlayStart;
  /** Noise seed of the dream (and the untrained weights' seed when the shipped ones cannot load). */
  seed: number;
  settings: Partial<WorldModelSettings>;
  fps: number;
  /**
   * Absolute URL of the decode worker (src/workers/decode.ts). On the CPU (wasm) the play worker
   * starts it and decodes each frame there while it generates the next; absent or null: it decodes
   * every frame itself.
   */
  decodeWorkerUrl?: string | null;
  /** Where the worker draws; null: it posts each frame's RGBA bytes instead. */
  canvases: { real: OffscreenCanvas; dream: OffscreenCanvas } | null;
}

export type ToPlayWorker =
  | ({ type: "init" } & PlayInit)
  | { type: "input"; action: Action }
  | { type: "settings"; settings: Partial<WorldModelSettings> }
  | { type: "pause"; paused: boolean }
  /** Restart the dream from the real game's last frames. */
  | { type: "resync" }
  /** Restart the level. */
  | { type: "reset" }
  /** Post the RGBA bytes of every frame (for the page's recorder) even when drawing to canvases. */
  | { type: "pixels"; on: boolean }
  /** Lose the WebGL context on purpose (to test the recovery). */
  | { type: "lose-context" }
  /** Start recording the real game as a dataset (frames and the actions held on them). */
  | { type: "record-start" }
  | { type: "request"; id: number; request: PlayRequest };

export interface PlayFrameStats {
  index: number;
  action: Action;
  timings: PlayFrame["timings"];
  /** Frames shown over the last second. */
  fps: number;
  /** Median ms of the dream (world model step + decode + readback) over the last 30 frames. */
  dreamMs: number;
  numTensors: number;
  /** Frames recorded for a dataset so far (null when not recording). */
  recorded: number | null;
}

/** The worker is playing. */
export interface PlayReady {
  backend: BackendChoice;
  model: { kind: PlayModelChoice["kind"] | "snapshot"; name: string; description: string; notes: string[] };
  /** Null when the dream starts from stored frames: then `start.why` says why no game is shown. */
  game: { level: number } | null;
  start: { description: string; why: string | null };
  settings: WorldModelSettings;
  /** Whether a second worker decodes the frames (`PlayInit.decodeWorkerUrl`). */
  decodeWorker: boolean;
}

export type FromPlayWorker =
  | ({ type: "ready" } & PlayReady)
  | { type: "frame"; stats: PlayFrameStats; real?: Uint8ClampedArray; dream?: Uint8ClampedArray }
  | { type: "settings"; settings: WorldModelSettings }
  | { type: "notice"; level: "info" | "warning"; code: string; message: string }
  | { type: "lost"; at: number; snapshot: PlaySnapshot }
  | { type: "reply"; id: number; result?: PlayReplies[keyof PlayReplies]; error?: PlayErrorJson }
  /** `fatal`: nothing can be played (e.g. a mismatched pair); the page shows the error instead of canvases. */
  | { type: "error"; error: PlayErrorJson; fatal?: boolean };

/** The part of a Worker the client uses (a real module Worker, or a fake in tests). */
export interface PlayWorkerLike {
  postMessage(message: ToPlayWorker, transfer?: Transferable[]): void;
  addEventListener(type: "message" | "error", listener: (event: { data?: unknown; message?: string }) => void): void;
  terminate(): void;
}

/** What the page hears; every handler is optional. */
export interface PlayClientHandlers {
  /** The worker plays: its first start (`restoredFrom` null), or a restart after a lost WebGL context (the frame it goes on from). */
  ready?(ready: PlayReady, restoredFrom: number | null): void;
  /** A frame was shown; `real`/`dream` hold its RGBA bytes when the worker posted them. */
  frame?(stats: PlayFrameStats, pixels: { real?: Uint8ClampedArray; dream?: Uint8ClampedArray }): void;
  settings?(settings: WorldModelSettings): void;
  notice?(level: "info" | "warning" | "error", message: string, code: string): void;
  /** A failure; `fatal`: nothing can be played. */
  error?(error: PlayErrorJson, fatal: boolean): void;
  /** The WebGL context was lost at frame `at`: the client starts a fresh worker from the kept session right after. */
  lost?(at: number): void;
}

export interface PlayClientOptions extends Omit<PlayInit, "canvases"> {
  createWorker(): PlayWorkerLike;
  /** Fresh canvases for each worker (a canvas transfers only once); absent or null: the worker posts the pixels. */
  canvases?: () => PlayInit["canvases"];
  on: PlayClientHandlers;
}

type Pending = { resolve(result: unknown): void; reject(error: Error): void };

/** A typed error back from its JSON form. */
function errorFrom(json: PlayErrorJson): GamedreamError {
  return new GamedreamError(json.code, json.type, json.message, {
    recoverable: json.recoverable,
    details: json.details,
  });
}

/**
 * The page's side of live play: one worker at a time. The controls are remembered (held input,
 * pause, pixels), so a worker restarted after a lost WebGL context goes on as the page left it.
 */
export class PlayClient {
  private worker: PlayWorkerLike | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private held: Action | null = null;
  private paused = false;
  private wantPixels = false;
  /** The frame the lost context stopped at, until the restarted worker is ready. */
  private restoringFrom: number | null = null;
  private description = "";

  constructor(private readonly options: PlayClientOptions) {
    this.start(options.model);
  }

  /** The key state held now (sent with every change; the worker plays it on each frame until the next). */
  input(action: Action): void {
    this.held = action;
    this.post({ type: "input", action });
  }

  /** New sampling settings, applied between frames; the worker answers with the settings in force. */
  configure(settings: Partial<WorldModelSettings>): void {
    this.post({ type: "settings", settings });
  }

  pause(paused: boolean): void {
    this.paused = paused;
    this.post({ type: "pause", paused });
  }

  resync(): void {
    this.post({ type: "resync" });
  }

  reset(): void {
    this.post({ type: "reset" });
  }

  /** Ask for every frame's RGBA bytes (`frame` handler) even while the worker draws to canvases. */
  pixels(on: boolean): void {
    this.wantPixels = on;
    this.post({ type: "pixels", on });
  }

  loseContext(): void {
    this.post({ type: "lose-context" });
  }

  startRecording(): void {
    this.post({ type: "record-start" });
  }

  /** Ends the dataset recording and saves it under `save` (null: keep nothing). The frames stay in the worker when saving fails, so it can be retried. */
  stopRecording(save: string | null): Promise<PlayReplies["record-stop"]> {
    return this.request({ type: "record-stop", save });
  }

  importModel(files: ImportedFile[]): Promise<PlayReplies["import"]> {
    return this.request({ type: "import", files });
  }

  actionLog(): Promise<PlayReplies["action-log"]> {
    return this.request({ type: "action-log" });
  }

  /** Ends play: the worker stops, unanswered requests reject. */
  dispose(): void {
    this.stopWorker("play ended");
  }

  private request<K extends PlayRequest["type"]>(request: Extract<PlayRequest, { type: K }>): Promise<PlayReplies[K]> {
    const id = this.nextId++;
    return new Promise<PlayReplies[K]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (result: unknown) => void, reject });
      this.post({ type: "request", id, request });
    });
  }

  private post(message: ToPlayWorker, transfer: Transferable[] = []): void {
    this.worker?.postMessage(message, transfer);
  }

  private start(model: PlayModelSource): void {
    const { createWorker, canvases, on: _on, ...init } = this.options;
    const worker = createWorker();
    this.worker = worker;
    worker.addEventListener("message", (event) => {
      if (this.worker === worker) this.receive(event.data as FromPlayWorker);
    });
    worker.addEventListener("error", (event) => {
      if (this.worker === worker)
        this.options.on.notice?.(
          "error",
          `The generation worker failed: ${event.message || "it could not start"}.`,
          "PLAY_WORKER_FAILED",
        );
    });
    const drawTo = canvases?.() ?? null;
    this.post({ type: "init", ...init, model, canvases: drawTo }, drawTo ? [drawTo.real, drawTo.dream] : []);
    if (this.held) this.post({ type: "input", action: this.held });
    if (this.paused) this.post({ type: "pause", paused: true });
    if (this.wantPixels) this.post({ type: "pixels", on: true });
  }

  private stopWorker(why: string): void {
    this.worker?.terminate();
    this.worker = null;
    for (const p of this.pending.values())
      p.reject(
        new GamedreamError(
          "PLAY_WORKER_STOPPED",
          "internal",
          `The play worker stopped before it answered (${why}); try again.`,
          { recoverable: true },
        ),
      );
    this.pending.clear();
  }

  private receive(msg: FromPlayWorker): void {
    const on = this.options.on;
    switch (msg.type) {
      case "ready": {
        const { type: _type, ...ready } = msg;
        const from = this.restoringFrom;
        this.restoringFrom = null;
        if (from === null) this.description = ready.model.description;
        on.ready?.(ready, from);
        break;
      }
      case "frame":
        on.frame?.(msg.stats, { real: msg.real, dream: msg.dream });
        break;
      case "settings":
        on.settings?.(msg.settings);
        break;
      case "notice":
        on.notice?.(msg.level, msg.message, msg.code);
        break;
      case "lost":
        // A lost WebGL context cannot come back in that worker; a fresh one goes on from the snapshot.
        on.lost?.(msg.at);
        this.restoringFrom = msg.at;
        this.stopWorker("the WebGL context was lost");
        this.start({ kind: "snapshot", snapshot: msg.snapshot, description: this.description });
        break;
      case "reply": {
        const pending = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) pending?.reject(errorFrom(msg.error));
        else pending?.resolve(msg.result);
        break;
      }
      case "error":
        on.error?.(msg.error, msg.fatal ?? false);
        break;
    }
  }
}
