/**
 * The Training page's worker, seen from the page: the messages that cross between the page
 * (src/pages/train.md) and the training worker (src/workers/train.ts), typed once here and used
 * by both ends, and `TrainWorkerClient`, which turns them into calls: `init` (the worker picks its
 * backend and suggests settings), `start`/`pause`/`resume`/`stop` for the one run it trains at a
 * time, questions about stored runs answered by promises (`runs`, `history`, `exportCheckpoint`,
 * `restoreCheckpoint`, `deleteCheckpoint`), and `onNotice` for what the run reports as it goes.
 *
 * The client needs only `postMessage` and message events of its port, so tests drive it with a
 * made-up worker in Node.
 */
import type { BackendChoice, BackendName } from "../core/index.js";
import type { PresetName } from "../models/index.js";
import type { MetricRecord } from "./metrics.js";
import type { SessionEvent, TrainSessionConfig, sessionError } from "./session.js";

/** An error as it crosses postMessage (../core/errors.ts `GamedreamError.toJSON`). */
export type WorkerError = ReturnType<typeof sessionError>;

/** A stored run as the dashboard lists it. */
export interface RunListing {
  run: string;
  checkpoints: { id: string; step: number; bytes: number }[];
  /** Latest good checkpoint's session (null for runs from elsewhere or with no good checkpoint). */
  session: TrainSessionConfig | null;
  step: number | null;
}

/** A stored run's metrics, for the curves. */
export interface RunHistory {
  run: string;
  metrics: MetricRecord[];
}

/** An uploaded video and action log to train on; the worker decodes them (data/upload.browser.ts). */
export interface UploadedData {
  video: Blob;
  videoName: string;
  actions: Blob;
  actionsName: string;
}

/**
 * Device overrides and the suggestion the worker sends back: the fields the page uses of
 * ../bench/device.ts `DeviceOverrides` and `DeviceChoice` (the trainer sits below the benchmarks, so
 * it names their shape rather than importing them).
 */
export interface DeviceOverridesMessage {
  preset?: PresetName | null;
  batchSize?: number | null;
  backend?: BackendName | null;
}
export interface DeviceSuggestion {
  preset: PresetName;
  batchSize: number;
  /** One sentence per decision. */
  reasons: string[];
}

/** Questions about stored runs, and the answer each gets (`TrainReplies[type]`). */
export type TrainRequest =
  | { type: "runs" }
  | { type: "history"; runs: string[] }
  | { type: "delete"; run: string; checkpoint: string }
  | { type: "export"; run: string; checkpoint: string; format: "tfjs" | "safetensors" }
  | { type: "restore"; run: string; checkpoint: string; as: string };

export interface TrainReplies {
  runs: RunListing[];
  history: RunHistory[];
  delete: null;
  export: { name: string; bytes: Uint8Array };
  /** The step the new run continues from. */
  restore: { step: number };
}

export interface TrainWorkerInit {
  wasmPaths: Record<string, string>;
  /** A backend the person chose on the device page, else null (the worker picks). */
  backend: string | null;
  overrides: DeviceOverridesMessage;
  /** URL of the shipped weights archive (src/components/weights.js), null when the build has none. */
  shippedWeights: string | null;
}

export type ToTrainWorker =
  | ({ type: "init" } & TrainWorkerInit)
  | { type: "start"; config: TrainSessionConfig; upload: UploadedData | null }
  | { type: "pause" }
  | { type: "resume" }
  | { type: "stop" }
  | { type: "request"; id: number; request: TrainRequest };

export interface TrainWorkerReady {
  type: "ready";
  backend: BackendChoice;
  device: DeviceSuggestion;
}

/** What the worker reports of a run: its session's events, the upload's decoding, and the end. */
export type TrainNotice =
  | { type: "event"; event: SessionEvent }
  | { type: "upload"; done: number; total: number }
  /** A run (or the worker's start) ended; `error` says why when it failed. */
  | { type: "ended"; error: WorkerError | null };

export type FromTrainWorker =
  | TrainWorkerReady
  | TrainNotice
  | { type: "reply"; id: number; result?: unknown; error?: WorkerError };

/** The part of a Worker the client uses. */
export interface TrainWorkerPort {
  postMessage(message: ToTrainWorker, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (event: { data: FromTrainWorker }) => void): void;
  terminate?(): void;
}

/** A worker error as an Error with its code, type and details. */
function asError(error: WorkerError): Error {
  return Object.assign(new Error(error.message), error);
}

export class TrainWorkerClient {
  private nextId = 1;
  private readonly replies = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly listeners = new Set<(notice: TrainNotice) => void>();
  private readonly readyWaiters: { resolve: (ready: TrainWorkerReady) => void; reject: (error: Error) => void }[] = [];

  constructor(private readonly port: TrainWorkerPort) {
    port.addEventListener("message", ({ data }) => this.receive(data));
  }

  private receive(message: FromTrainWorker): void {
    if (message.type === "reply") {
      const pending = this.replies.get(message.id);
      this.replies.delete(message.id);
      if (message.error) pending?.reject(asError(message.error));
      else pending?.resolve(message.result);
      return;
    }
    if (message.type === "ready") {
      for (const w of this.readyWaiters.splice(0)) w.resolve(message);
      return;
    }
    // An end before the worker was ready: it could not start.
    if (message.type === "ended") {
      for (const w of this.readyWaiters.splice(0))
        w.reject(
          asError(
            message.error ?? {
              code: "TRAIN_WORKER",
              type: "internal",
              message: "The training worker failed to start.",
              recoverable: false,
            },
          ),
        );
    }
    for (const listener of this.listeners) listener(message);
  }

  /** Starts the worker's backend; resolves with the backend and the suggested settings. */
  init(init: TrainWorkerInit): Promise<TrainWorkerReady> {
    const ready = new Promise<TrainWorkerReady>((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
    this.port.postMessage({ type: "init", ...init });
    return ready;
  }

  /** Hears every event, upload progress and end of a run; returns the unsubscribe. */
  onNotice(listener: (notice: TrainNotice) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One question to the worker about stored runs; resolves with its answer. */
  request<R extends TrainRequest>(request: R): Promise<TrainReplies[R["type"]]> {
    const id = this.nextId++;
    const answer = new Promise<TrainReplies[R["type"]]>((resolve, reject) =>
      this.replies.set(id, { resolve: resolve as (value: unknown) => void, reject }),
    );
    this.port.postMessage({ type: "request", id, request });
    return answer;
  }

  runs(): Promise<RunListing[]> {
    return this.request({ type: "runs" });
  }

  history(runs: string[]): Promise<RunHistory[]> {
    return this.request({ type: "history", runs });
  }

  exportCheckpoint(
    run: string,
    checkpoint: string,
    format: "tfjs" | "safetensors",
  ): Promise<{ name: string; bytes: Uint8Array }> {
    return this.request({ type: "export", run, checkpoint, format });
  }

  /** Copies `checkpoint` of `run` into the new run `as`, which continues from it. */
  restoreCheckpoint(run: string, checkpoint: string, as: string): Promise<{ step: number }> {
    return this.request({ type: "restore", run, checkpoint, as });
  }

  deleteCheckpoint(run: string, checkpoint: string): Promise<null> {
    return this.request({ type: "delete", run, checkpoint });
  }

  /** Starts a run (one at a time: a second start ends with TRAIN_BUSY). */
  start(config: TrainSessionConfig, upload: UploadedData | null = null): void {
    this.port.postMessage({ type: "start", config, upload });
  }

  pause(): void {
    this.port.postMessage({ type: "pause" });
  }

  resume(): void {
    this.port.postMessage({ type: "resume" });
  }

  /** Stops the run after its current step and saves a checkpoint. */
  stop(): void {
    this.port.postMessage({ type: "stop" });
  }

  /** Ends the worker; unanswered questions are refused. */
  dispose(): void {
    this.port.terminate?.();
    for (const pending of this.replies.values()) pending.reject(new Error("The training worker was closed."));
    this.replies.clear();
    this.listeners.clear();
  }
}
