/**
 * The training loop shared by every model: one `Trainer` drives a `TrainTask` (what a batch is and
 * what its loss is) with AdamW, warm-up + cosine learning rate, gradient clipping and EMA, streams
 * metrics as events, and checkpoints to any `CheckpointStore` (files in Node, IndexedDB in pages
 * and workers), so the same run continues in any host. Nothing here touches Node or the DOM.
 *
 * Reproducibility: data order and noise come from two `Rng` streams whose states go into every
 * checkpoint with the weights, the EMA shadow and the Adam moments, so a run resumed from a
 * checkpoint takes exactly the steps the uninterrupted run would have taken.
 *
 *   const trainer = new Trainer(task, { steps: 1000, store, seed: 1 });
 *   trainer.on((e) => e.type === "metrics" && console.log(e.step, e.loss));
 *   await trainer.run();          // resumes from the store's newest good checkpoint first
 *   trainer.pause(); trainer.resume(); trainer.stop();   // from elsewhere, while it runs
 */
import * as tf from "@tensorflow/tfjs";
import { GamedreamError, isGamedreamError, Rng, type RngState } from "../core/index.js";
import type { Module, NamedTensors, NamedVariables } from "../nn/index.js";
import {
  DEFAULT_KEEP_CHECKPOINTS,
  assignWeights,
  captureOptimizerState,
  disposeCheckpoint,
  disposeOptimizerState,
  loadLatestCheckpoint,
  prefixNames,
  restoreOptimizerState,
  saveCheckpoint,
  withoutPrefix,
  type Checkpoint,
  type CheckpointStore,
} from "../storage/index.js";
import {
  type MetricRecord,
  type RunState,
  type StepMetrics,
  type TrainEvent,
  type TrainListener,
  memorySnapshot,
  toRecord,
} from "./metrics.js";
import {
  DEFAULT_OPTIM,
  Ema,
  adamWStep,
  clipByGlobalNorm,
  createAdamW,
  learningRateAt,
  type OptimConfig,
} from "./optim.js";

/** A model and its data, as the loop sees them. `Batch` holds tensors the task frees. */
export interface TrainTask<Batch = unknown> {
  /** `"vae"`, `"dit"`: names the weights in checkpoints (`dit.blocks.0...`, `ema.blocks.0...`). */
  readonly kind: string;
  readonly model: Module<unknown>;
  /** Draws the next batch of `batchSize` examples, all randomness from `rng`. */
  nextBatch(rng: Rng, batchSize: number): Promise<Batch>;
  /** Scalar loss of a batch (differentiable in the model's variables), noise from `rng`. */
  loss(batch: Batch, rng: Rng): { loss: tf.Scalar; extras?: Record<string, tf.Scalar> };
  disposeBatch(batch: Batch): void;
  /**
   * A measurement taken after every `every`-th step (not part of the loss, no training randomness):
   * its values join that step's metrics `extras` (DiT: the action sensitivity `actionS`).
   */
  readonly probe?: { every: number; run(): Record<string, number> };
  /** Task settings saved with the run (JSON), checked for equality on resume. */
  readonly settings?: unknown;
  /**
   * Takes over parts of a saved model config that may change after training without changing the
   * weights (VAE: the latent scale fitted at the end), before configs are compared on resume.
   */
  adoptSavedConfig?(saved: unknown): void;
}

export interface TrainerOptions {
  /** Total optimizer steps of the run (the lr schedule spans them). */
  steps: number;
  /** Examples per step; halved automatically when memory runs out. */
  batchSize?: number;
  seed?: number;
  optim?: Partial<OptimConfig>;
  store?: CheckpointStore | null;
  /** Checkpoint every N steps (and on stop and at the end). */
  checkpointEvery?: number;
  /** Checkpoints kept in the store. */
  keep?: number;
  /** Start fresh even if the store has checkpoints (they get overwritten as the run goes). */
  fresh?: boolean;
  /** Anything else worth keeping in checkpoints (dataset, CLI flags, ...). */
  runInfo?: Record<string, unknown>;
  /** Give the host's event loop a turn between steps (pages: keeps the UI alive). Default true. */
  yieldBetweenSteps?: boolean;
}

/** The checkpoint `config` of a training run. */
export interface TrainCheckpointConfig {
  kind: string;
  model: unknown;
  settings: unknown;
  optim: OptimConfig;
  steps: number;
  seed: number;
  /** The batch size in use when saved (may be below the requested one after out-of-memory). */
  batchSize: number;
  requestedBatchSize: number;
  runInfo: Record<string, unknown>;
}

export interface TrainResult {
  step: number;
  state: RunState;
  history: MetricRecord[];
  /** Step this call resumed from (0 for a fresh run). */
  resumedFrom: number;
  seconds: number;
}

const RNG_STREAMS = ["data", "noise"] as const;

/** True for allocation failures from any backend (wasm heap, WebGL/WebGPU, JS ArrayBuffers). */
export function isAllocationFailure(e: unknown): boolean {
  if (isGamedreamError(e) && e.code === "OUT_OF_MEMORY") return true;
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return /out of memory|allocation failed|failed to allocate|cannot enlarge memory|OOM|memory limit|could not allocate|ERR_OUT_OF_MEMORY/i.test(
    message,
  );
}

function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class Trainer<Batch = unknown> {
  readonly optim: OptimConfig;
  readonly steps: number;
  readonly seed: number;
  private batchSize: number;
  private readonly requestedBatchSize: number;
  private readonly variables: NamedVariables;
  private readonly optimizer: tf.AdamOptimizer;
  private readonly ema: Ema | null;
  private readonly rngs: Record<(typeof RNG_STREAMS)[number], Rng>;
  private readonly listeners = new Set<TrainListener>();
  private currentStep = 0;
  private lastSaved = -1;
  private runState: RunState = "idle";
  private pauseGate: { promise: Promise<void>; open: () => void } | null = null;
  private stopRequested = false;
  readonly history: MetricRecord[] = [];

  constructor(
    readonly task: TrainTask<Batch>,
    readonly options: TrainerOptions,
  ) {
    if (!Number.isInteger(options.steps) || options.steps < 1)
      throw new Error(`steps must be a positive integer, got ${options.steps}`);
    this.optim = { ...DEFAULT_OPTIM, ...options.optim };
    this.steps = options.steps;
    this.seed = options.seed ?? 0;
    this.requestedBatchSize = options.batchSize ?? 4;
    this.batchSize = this.requestedBatchSize;
    this.variables = task.model.variables();
    this.optimizer = createAdamW(this.optim);
    this.ema = this.optim.emaDecay > 0 ? new Ema(this.variables, this.optim.emaDecay) : null;
    const root = new Rng(this.seed);
    this.rngs = { data: new Rng(root.seed()), noise: new Rng(root.seed()) };
  }

  get step(): number {
    return this.currentStep;
  }

  get state(): RunState {
    return this.runState;
  }

  get currentBatchSize(): number {
    return this.batchSize;
  }

  /** EMA weights (names as the model's variables), or null without EMA. Owned by the trainer. */
  get emaWeights(): NamedVariables | null {
    return this.ema?.shadow ?? null;
  }

  /** Subscribes to events; returns the unsubscribe function. */
  on(listener: TrainListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: TrainEvent): void {
    for (const l of this.listeners) l(event);
  }

  private setState(state: RunState): void {
    this.runState = state;
    this.emit({ type: "state", state, step: this.currentStep });
  }

  private message(level: "info" | "warning" | "error", code: string, text: string): void {
    this.emit({ type: "message", level, code, text, step: this.currentStep });
  }

  /** Pauses after the current step. */
  pause(): void {
    if (this.pauseGate || this.runState !== "running") return;
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.pauseGate = { promise, open };
  }

  resume(): void {
    const gate = this.pauseGate;
    this.pauseGate = null;
    gate?.open();
  }

  /** Stops after the current step and saves a checkpoint; `run()` then resolves. */
  stop(): void {
    this.stopRequested = true;
    if (this.runState === "running" || this.runState === "paused") this.setState("stopping");
    this.resume();
  }

  private checkpointConfig(): TrainCheckpointConfig {
    return {
      kind: this.task.kind,
      model: this.task.model.config,
      settings: this.task.settings ?? null,
      optim: this.optim,
      steps: this.steps,
      seed: this.seed,
      batchSize: this.batchSize,
      requestedBatchSize: this.requestedBatchSize,
      runInfo: this.options.runInfo ?? {},
    };
  }

  /** Weights as checkpoints and exports store them: `<kind>.*` and `ema.*`. */
  namedWeights(): Map<string, tf.Tensor> {
    const parts: Record<string, ReadonlyMap<string, tf.Tensor>> = { [this.task.kind]: this.variables };
    if (this.ema) parts.ema = this.ema.shadow;
    return prefixNames(parts);
  }

  /** Saves a checkpoint of the current step to the store (no-op without one). */
  async saveCheckpoint(): Promise<void> {
    const store = this.options.store;
    if (!store) return;
    const started = performance.now();
    const optimizer = await captureOptimizerState(this.optimizer, prefixNames({ [this.task.kind]: this.variables }));
    try {
      const rng = Object.fromEntries(RNG_STREAMS.map((k) => [k, this.rngs[k].getState()])) as Record<string, RngState>;
      const saved = await saveCheckpoint(
        store,
        {
          step: this.currentStep,
          weights: this.namedWeights(),
          optimizer,
          rng,
          config: this.checkpointConfig(),
          metrics: this.history,
        },
        { keep: this.options.keep ?? DEFAULT_KEEP_CHECKPOINTS },
      );
      this.lastSaved = this.currentStep;
      this.emit({
        type: "checkpoint",
        step: this.currentStep,
        id: saved.id,
        bytes: saved.bytes,
        ms: performance.now() - started,
        pruned: saved.pruned,
      });
    } finally {
      disposeOptimizerState(optimizer);
    }
  }

  /** Loads the store's newest checkpoint that verifies, if any; returns its step (0 if none). */
  async restore(): Promise<number> {
    const store = this.options.store;
    if (!store || this.options.fresh) return 0;
    const { checkpoint, skipped } = await loadLatestCheckpoint<TrainCheckpointConfig, MetricRecord>(store);
    for (const s of skipped)
      this.message("warning", s.error.code, `${s.error.message} Resuming from an earlier checkpoint instead.`);
    if (!checkpoint) return 0;
    try {
      this.apply(checkpoint);
      if (checkpoint.optimizer)
        await restoreOptimizerState(
          this.optimizer,
          checkpoint.optimizer,
          prefixNames({ [this.task.kind]: this.variables }),
        );
    } finally {
      disposeCheckpoint(checkpoint);
    }
    this.emit({
      type: "resumed",
      step: checkpoint.step,
      id: checkpoint.id,
      skipped: skipped.map((s) => ({ id: s.id, code: s.error.code, message: s.error.message })),
    });
    return checkpoint.step;
  }

  private apply(checkpoint: Checkpoint<TrainCheckpointConfig, MetricRecord>): void {
    const config = checkpoint.config;
    const mismatch = (what: string, saved: unknown, now: unknown) =>
      new GamedreamError(
        "CHECKPOINT_MISMATCH",
        "training",
        `The checkpoint ${checkpoint.id} in ${this.options.store!.location} was saved by a run with a different ${what}; start a new run (another output folder) or use the same settings.`,
        { recoverable: false, details: { what, saved, now } },
      );
    if (config.kind !== this.task.kind) throw mismatch("model kind", config.kind, this.task.kind);
    this.task.adoptSavedConfig?.(config.model);
    if (!jsonEqual(config.model, this.task.model.config))
      throw mismatch("model config", config.model, this.task.model.config);
    if (!jsonEqual(config.settings, this.task.settings ?? null))
      throw mismatch("task settings", config.settings, this.task.settings ?? null);
    assignWeights(
      this.task.model,
      withoutPrefix(checkpoint.weights, this.task.kind),
      `The weights in checkpoint ${checkpoint.id}`,
    );
    if (this.ema) this.ema.assign(withoutPrefix(checkpoint.weights, "ema"));
    for (const k of RNG_STREAMS) if (checkpoint.rng[k]) this.rngs[k].setState(checkpoint.rng[k]);
    this.batchSize = Math.min(config.batchSize, this.requestedBatchSize);
    this.currentStep = checkpoint.step;
    this.lastSaved = checkpoint.step;
    this.history.length = 0;
    this.history.push(...checkpoint.metrics.filter((m) => m.step <= checkpoint.step));
  }

  /**
   * One optimizer step on `batch`: loss, gradients, clipping, AdamW, EMA. Returns the loss,
   * gradient norm and extras as numbers (one read-back per step). A non-finite loss skips the
   * update and says so. Synchronous, so a kernel profile can wrap it (../bench/perf.ts); the step
   * counter is `trainStep`'s to advance.
   */
  trainOnBatch(batch: Batch, lr: number): { loss: number; gradNorm: number; extras: Record<string, number> } {
    let extraNames: string[] = [];
    let names: string[] = [];
    const [values, ...gradList] = tf.tidy(() => {
      let extras: tf.Scalar[] = [];
      const { value, grads: raw } = tf.variableGrads(() => {
        const out = this.task.loss(batch, this.rngs.noise);
        extraNames = Object.keys(out.extras ?? {});
        // Tensors not returned from variableGrads' function are freed with its scope: keep the
        // extras, and free them once stacked.
        extras = extraNames.map((k) => tf.keep(out.extras![k]));
        return out.loss;
      }, [...this.variables.values()]);
      // A variable the loss does not reach (e.g. a frozen table) has no gradient and no update.
      names = [...this.variables.keys()].filter((n) => raw[this.variables.get(n)!.name] !== undefined);
      const byModelName: NamedTensors = new Map(names.map((n) => [n, raw[this.variables.get(n)!.name]]));
      const { grads, norm } = clipByGlobalNorm(byModelName, this.optim.clipNorm);
      const stacked = tf.stack([value, norm, ...extras]);
      tf.dispose(extras);
      return [stacked, ...grads.values()];
    });
    const grads: NamedTensors = new Map(names.map((n, i) => [n, gradList[i]]));
    try {
      const numbers = values.dataSync();
      const loss = numbers[0];
      const gradNorm = numbers[1];
      const extras = Object.fromEntries(extraNames.map((k, i) => [k, numbers[2 + i]]));
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        this.message(
          "warning",
          "TRAIN_NON_FINITE",
          `Step ${this.currentStep + 1} gave a non-finite loss or gradient (loss ${loss}, gradient norm ${gradNorm}); the update was skipped.`,
        );
      } else {
        adamWStep(this.optimizer, this.variables, grads, lr, this.optim.weightDecay);
        this.ema?.update(this.variables, this.currentStep);
      }
      return { loss, gradNorm, extras };
    } finally {
      values.dispose();
      tf.dispose([...grads.values()]);
    }
  }

  /**
   * One step as `run` takes it: draw a batch, `trainOnBatch` at the scheduled learning rate, count
   * the step, run the task's probe when due, record and emit the metrics. No checkpoint, no pause.
   * When memory runs out it halves the batch (with a message), rewinds the step's random draws and
   * returns null (take the step again); below one example it throws `TRAIN_OUT_OF_MEMORY`.
   * Benchmarks time this method, so they measure the trainer's own step.
   */
  async trainStep(): Promise<StepMetrics | null> {
    const t0 = performance.now();
    const lr = learningRateAt(this.currentStep, this.steps, this.optim);
    const dataState = this.rngs.data.getState();
    const noiseState = this.rngs.noise.getState();
    const batch = await this.task.nextBatch(this.rngs.data, this.batchSize);
    let result: ReturnType<Trainer<Batch>["trainOnBatch"]>;
    try {
      result = this.trainOnBatch(batch, lr);
    } catch (e) {
      if (!isAllocationFailure(e)) throw e;
      if (this.batchSize <= 1) {
        throw new GamedreamError(
          "TRAIN_OUT_OF_MEMORY",
          "training",
          "Training ran out of memory even with one example per batch; choose a smaller model preset or close other tabs and programs.",
          {
            recoverable: false,
            cause: e,
          },
        );
      }
      const from = this.batchSize;
      this.batchSize = Math.max(1, Math.floor(this.batchSize / 2));
      this.message(
        "warning",
        "TRAIN_BATCH_REDUCED",
        `Out of memory at batch size ${from}; continuing with batch size ${this.batchSize}.`,
      );
      // Redraw the same step's data and noise at the new size.
      this.rngs.data.setState(dataState);
      this.rngs.noise.setState(noiseState);
      return null;
    } finally {
      this.task.disposeBatch(batch);
    }
    this.currentStep += 1;
    const stepMs = performance.now() - t0;
    const probe = this.task.probe && this.currentStep % this.task.probe.every === 0 ? this.task.probe.run() : {};
    const metrics: StepMetrics = {
      step: this.currentStep,
      loss: result.loss,
      gradNorm: result.gradNorm,
      lr,
      stepMs,
      examplesPerSec: (this.batchSize * 1000) / stepMs,
      batchSize: this.batchSize,
      ...memorySnapshot(),
      extras: { ...result.extras, ...probe },
    };
    this.history.push(toRecord(metrics));
    this.emit({ type: "metrics", ...metrics });
    return metrics;
  }

  /**
   * Trains until `steps` (or `stop()`), resuming from the store first. Checkpoints every
   * `checkpointEvery` steps, on stop and at the end. When memory runs out, halves the batch
   * (with a message) and goes on; below one example it fails with `TRAIN_OUT_OF_MEMORY`.
   */
  async run(): Promise<TrainResult> {
    if (this.runState === "running" || this.runState === "paused") throw new Error("this trainer is already running");
    const started = performance.now();
    this.stopRequested = false;
    const resumedFrom = await this.restore();
    const every = this.options.checkpointEvery ?? 100;
    this.setState("running");
    try {
      while (this.currentStep < this.steps && !this.stopRequested) {
        if (this.pauseGate) {
          this.setState("paused");
          await this.pauseGate.promise;
          if (this.stopRequested) break;
          this.setState("running");
        }
        if (!(await this.trainStep())) continue;
        if (this.currentStep % every === 0) await this.saveCheckpoint();
        if (this.options.yieldBetweenSteps ?? true) await new Promise((resolve) => setTimeout(resolve, 0));
      }
      if (this.currentStep !== this.lastSaved) await this.saveCheckpoint();
      this.setState(this.currentStep >= this.steps ? "done" : "stopped");
    } catch (e) {
      this.setState("failed");
      throw e;
    }
    return {
      step: this.currentStep,
      state: this.runState,
      history: this.history,
      resumedFrom,
      seconds: (performance.now() - started) / 1000,
    };
  }

  /** Frees the optimizer state and EMA shadow (not the task's model). */
  dispose(): void {
    this.ema?.dispose();
    this.optimizer.dispose();
  }
}
