/**
 * A training run as the dashboard (src/pages/train.md) starts it, the same in its Web Worker
 * (src/workers/train.ts) and in Node (tests): builds the data in memory (built-in game episodes,
 * or episodes the host decoded from an uploaded video), creates the model and its `Trainer`
 * (train.ts) with a checkpoint store the host opens, forwards the trainer's events, and adds
 * preview frames every N steps: for a DiT, a short world-model rollout from real context frames
 * beside the real frames; for a VAE, reconstructions. Plus what the dashboard does with stored
 * runs: read a run's settings and metrics, export a checkpoint (TensorFlow.js manifest in a tar,
 * or safetensors), branch a new run from an older checkpoint.
 *
 * A run's settings are kept in its checkpoints (`runInfo.session`), so a run stored in IndexedDB
 * continues with the settings it started with, whatever the form shows now; only the step target
 * comes from the new request.
 *
 * Models start seeded, from a stored run, or from the weights the site ships (one tar archive the
 * host reads, see `TrainSessionHost.shippedWeights`): fine-tuning the shipped DiT on the shipped
 * VAE's latents, so previews decode real frames from the first step. When the shipped weights
 * cannot be loaded (none in this build, damaged, or saved for another architecture) the session
 * says why in plain words and starts that model seeded instead; the run records the start it
 * really used, so continuing it later rebuilds the same models.
 */
import * as tf from "@tensorflow/tfjs";
import {
  type EpisodeSource,
  DatasetReader,
  MemoryDatasetStore,
  buildDataset,
  gameEpisodeSeeds,
  gameEpisodeSources,
  type DatasetStore,
  bundleToTar,
  exportRun,
  safeFileName,
  LatentDataset,
} from "../data/index.js";
import { TURN_SCRIPT, actionSensitivityProbe, createWorldModel, gameBranches, scriptedDream } from "../play/index.js";
import {
  createDiT,
  type DiT,
  type DiTConfig,
  loadDiTFromCheckpoints,
  loadVAEFromCheckpoints,
  type LoadedDiT,
  type LoadedVAE,
  getPreset,
  type PresetName,
  createVAE,
  vaeLatentShape,
  type ModelStart,
  type VAE,
  type VAEConfig,
  shippedOrSeeded,
  trainedSampling,
  type SamplingDefaults,
  type ShippedOrSeeded,
  type ShippedWeights,
} from "../models/index.js";
import {
  GamedreamError,
  isGamedreamError,
  rgbToRgba,
  rgbToUnit,
  rgbaToUnit,
  unitToRgba,
  FRAME_SIZE,
  psnr,
  concatBytes,
} from "../core/index.js";
import { countParameters, type Module } from "../nn/index.js";
import {
  disposeCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  loadLatestCheckpoint,
  saveCheckpoint,
  withoutPrefix,
  type CheckpointStore,
  encodeSafetensors,
  type ReadBytes,
} from "../storage/index.js";
import { Trainer, type TrainCheckpointConfig, type TrainTask } from "./loop.js";
import type { MetricRecord, RunState, TrainEvent } from "./metrics.js";
import type { DiTTrainSettings } from "./dit-task.js";
import { datasetFrameSource } from "./vae-task.js";
import {
  checkDiTFitsVAE,
  ditConfigForVAE,
  setupDiTTask,
  setupVAETask,
  type DiTStart,
  type VAESetupOptions,
} from "./setup.js";

/** Where the training frames come from. */
export type TrainDataSpec =
  /** Built-in game episodes (src/lib/data/dataset.ts `gameEpisodeSources`). */
  | { kind: "game"; seed: number; episodes: number; frames: number }
  /** Episodes the host decoded from an uploaded video and action log (passed as `host.uploaded`). */
  | { kind: "upload"; name: string; frames: number }
  /** A dataset stored on this device (a recording of the built-in game, a saved upload), read through `host.openDataset`. */
  | { kind: "stored"; name: string };

/** Everything that defines a dashboard run (plain data: crosses postMessage, kept in checkpoints). */
export interface TrainSessionConfig {
  /** Run name: the checkpoint store's name (IndexedDB) and the label in charts. */
  run: string;
  model: "dit" | "vae";
  preset: PresetName;
  data: TrainDataSpec;
  /** Train until this step (a continued run keeps its steps and goes on to this target). */
  steps: number;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  seed: number;
  /** Frames per DiT training clip (context + predicted). */
  clipLength: number;
  checkpointEvery: number;
  keep: number;
  /** Preview every N steps (0: never). */
  previewEvery: number;
  /**
   * DiT runs on the built-in game: measure the action sensitivity S every N steps (0: never), on
   * levels the run does not train on; reported as `actionS` in that step's metrics. Absent in runs
   * saved before it existed: those use the default.
   */
  probeEvery?: number;
  previewFrames: number;
  /** The model's starting weights (a stored run of the same kind: fine-tuning). */
  init: ModelStart;
  /** DiT runs: the VAE whose latents the DiT learns. */
  vae: ModelStart;
  /** Model config changes over the preset (tests use tiny models). */
  override?: { vae?: Partial<VAEConfig>; dit?: Partial<DiTConfig> };
}

export const DEFAULT_SESSION: Readonly<Omit<TrainSessionConfig, "run">> = {
  model: "dit",
  preset: "realtime",
  data: { kind: "game", seed: 1, episodes: 2, frames: 48 },
  steps: 200,
  batchSize: 2,
  lr: 3e-4,
  warmupSteps: 20,
  seed: 0,
  clipLength: 3,
  checkpointEvery: 25,
  keep: 3,
  previewEvery: 25,
  probeEvery: 50,
  previewFrames: 4,
  init: { kind: "seeded" },
  vae: { kind: "seeded" },
};

/** Preview frames: real frames and the model's (rollout or reconstruction), RGBA 256x256 each. */
export interface SessionPreview {
  type: "preview";
  step: number;
  kind: "rollout" | "reconstruction";
  width: number;
  height: number;
  /** Frame indices in the episode. */
  frames: number[];
  real: Uint8ClampedArray[];
  generated: Uint8ClampedArray[];
  /** PSNR (dB) of each generated frame against the real one. */
  psnr: number[];
  ms: number;
}

/** The dream and the real game playing the same fixed action script (action-script.ts), RGBA 256x256 each. */
export interface ScriptPreview {
  type: "script-preview";
  step: number;
  /** The game level both start from. */
  level: number;
  /** Words for each scripted action ("turn left"). */
  labels: string[];
  real: Uint8ClampedArray[];
  dream: Uint8ClampedArray[];
  width: number;
  height: number;
  ms: number;
}

export type SessionEvent =
  | TrainEvent
  | ScriptPreview
  | { type: "phase"; phase: "data" | "encode"; done: number; total: number }
  | {
      type: "ready";
      config: TrainSessionConfig;
      parameters: number;
      episodes: number;
      frames: number;
      notes: string[];
      continued: boolean;
    }
  | SessionPreview
  | { type: "finished"; step: number; state: RunState; resumedFrom: number; seconds: number };

export type SessionListener = (event: SessionEvent) => void;

export interface TrainSessionHost {
  /** The checkpoint store of a run (IndexedDB in a worker, memory in tests). */
  openStore(run: string): Promise<CheckpointStore>;
  /** A stored dataset by name (IndexedDB in a worker); needed when `data.kind` is "stored". */
  openDataset?(name: string): Promise<DatasetStore>;
  /** Episodes of uploaded data, decoded by the host; needed when `data.kind` is "upload". */
  uploaded?: readonly EpisodeSource[] | null;
  /**
   * Reads the shipped weights archive (../models/loader.ts `fetchWeightsArchive` in a worker); absent
   * or null when the build ships none. Called at most once a session.
   */
  shippedWeights?: (() => Promise<ReadBytes>) | null;
}

/** What a stored run holds at its latest good checkpoint. */
export interface StoredRun {
  step: number;
  checkpoint: string;
  /** The dashboard settings it was started with (null: a run from elsewhere, e.g. the CLI). */
  session: TrainSessionConfig | null;
  kind: string;
  /** The model config of its weights. */
  model: unknown;
  /** The training task's settings (DiT: clip length, noise schedule...). */
  settings: unknown;
  metrics: MetricRecord[];
  createdAt: string;
}

/** The latest checkpoint of a run that verifies, without keeping its tensors; null when it has none. */
export async function readStoredRun(store: CheckpointStore): Promise<StoredRun | null> {
  const { checkpoint } = await loadLatestCheckpoint<TrainCheckpointConfig, MetricRecord>(store);
  if (!checkpoint) return null;
  disposeCheckpoint(checkpoint);
  const config = checkpoint.config;
  const session = (config?.runInfo?.session ?? null) as TrainSessionConfig | null;
  return {
    step: checkpoint.step,
    checkpoint: checkpoint.id,
    session,
    kind: config?.kind,
    model: config?.model,
    settings: config?.settings ?? null,
    metrics: checkpoint.metrics,
    createdAt: checkpoint.createdAt,
  };
}

/**
 * One checkpoint as a file to save: `"tfjs"` is the run export of export.ts (TensorFlow.js
 * manifest with SHA-256s, config, metrics) in one tar; `"safetensors"` holds the EMA weights when
 * the checkpoint has them (what samples best), else the raw ones, under PyTorch-style names.
 */
export async function exportCheckpoint(
  store: CheckpointStore,
  run: string,
  id: string,
  format: "tfjs" | "safetensors",
): Promise<{ name: string; bytes: Uint8Array }> {
  if (format === "tfjs") {
    const bundle = await exportRun(store, run, { id });
    return { name: `${bundle.name}.tar`, bytes: bundleToTar(bundle) };
  }
  const checkpoint = await loadCheckpoint<TrainCheckpointConfig>(store, id);
  try {
    const kind = checkpoint.config?.kind ?? "model";
    const ema = withoutPrefix(checkpoint.weights, "ema");
    const weights = ema.size > 0 ? ema : withoutPrefix(checkpoint.weights, kind);
    const bytes = await encodeSafetensors(weights.size > 0 ? weights : checkpoint.weights, {
      format: "gamedream",
      kind,
      step: String(checkpoint.step),
      weights: ema.size > 0 ? "ema" : "raw",
      config: JSON.stringify(checkpoint.config?.model ?? null),
    });
    return { name: `${safeFileName(`gamedream-${run}-${id}`)}.safetensors`, bytes };
  } finally {
    disposeCheckpoint(checkpoint);
  }
}

/**
 * Copies checkpoint `id` (weights, optimizer state, RNG states, config, metrics up to it) into
 * another run's store, where training continues from it exactly; the source run is untouched.
 */
export async function branchCheckpoint(
  from: CheckpointStore,
  id: string,
  to: CheckpointStore,
): Promise<{ step: number }> {
  if ((await listCheckpoints(to)).length > 0) {
    throw new GamedreamError(
      "TRAIN_RUN_EXISTS",
      "training",
      `${to.location} already holds checkpoints; choose a new run name for the restored checkpoint.`,
      { recoverable: true },
    );
  }
  const checkpoint = await loadCheckpoint<TrainCheckpointConfig, MetricRecord>(from, id);
  try {
    await saveCheckpoint(to, {
      step: checkpoint.step,
      weights: checkpoint.weights,
      optimizer: checkpoint.optimizer,
      rng: checkpoint.rng,
      config: checkpoint.config,
      metrics: checkpoint.metrics.filter((m) => m.step <= checkpoint.step),
    });
    return { step: checkpoint.step };
  } finally {
    disposeCheckpoint(checkpoint);
  }
}

const yieldToHost = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Fixed frames every preview shows, read once. */
interface PreviewClip {
  episode: string;
  /** DiT: scaled latents of the K context frames `[K, h, w, c]`. */
  context: Float32Array | null;
  /** Encoded actions held on each frame of the episode (ACTION_DIM each). */
  held: Float32Array[];
  /** Index of the first previewed frame. */
  start: number;
  /** RGB bytes of the previewed frames. */
  rgb: Uint8Array[];
}

/**
 * A dashboard run. `run()` builds data and model, then trains until `config.steps` or `stop()`;
 * `pause()` / `resume()` / `stop()` work from the moment it is created.
 */
export class TrainSession {
  private trainer: Trainer<unknown> | null = null;
  private pauseRequested = false;
  private stopRequested = false;
  private preview: Promise<void> = Promise.resolve();
  private readonly owned: Module<unknown>[] = [];

  constructor(
    private config: TrainSessionConfig,
    private readonly host: TrainSessionHost,
    private readonly emit: SessionListener,
  ) {}

  get step(): number {
    return this.trainer?.step ?? 0;
  }

  pause(): void {
    this.pauseRequested = true;
    this.trainer?.pause();
  }

  resume(): void {
    this.pauseRequested = false;
    this.trainer?.resume();
  }

  stop(): void {
    this.stopRequested = true;
    this.trainer?.stop();
  }

  private message(code: string, text: string, level: "info" | "warning" = "info"): void {
    this.emit({ type: "message", level, code, text, step: this.step });
  }

  /** Builds everything and trains; resolves when the run ends (done, stopped) and rejects on failure. */
  async run(): Promise<void> {
    const store = await this.host.openStore(this.config.run);
    const stored = await readStoredRun(store);
    const notes: string[] = [];
    if (stored?.session) {
      const steps = Math.max(this.config.steps, stored.step);
      this.config = { ...stored.session, run: this.config.run, steps };
      notes.push(
        `Continuing run "${this.config.run}" from step ${stored.step} with the settings it started with; it trains until step ${steps}.`,
      );
    } else if (stored) {
      throw new GamedreamError(
        "TRAIN_RUN_FOREIGN",
        "training",
        `Run "${this.config.run}" holds checkpoints that were not made by this dashboard; choose another run name.`,
        { recoverable: true },
      );
    }
    const preset = getPreset(this.config.preset);
    const reader = await this.buildData(this.config);
    const vaeConfig = { ...preset.vae, ...this.config.override?.vae } as VAEConfig;
    let task: TrainTask<unknown>;
    let vae: VAE;
    let dit: DiT | null = null;
    if (this.config.model === "vae") {
      const start: VAESetupOptions["start"] = stored
        ? { from: "config", config: stored.model as VAEConfig, seed: this.config.seed }
        : { from: "weights", vae: await this.startVAE("init", vaeConfig, this.config.seed, notes) };
      task = setupVAETask({ start, frames: datasetFrameSource(reader, "train") });
      vae = start.from === "config" ? this.own(task.model as VAE) : start.vae;
      this.previewClip = await this.readPreviewClip(reader, null, 0, this.config.previewFrames);
    } else {
      vae = await this.startVAE("vae", vaeConfig, this.config.seed + 1, notes);
      let start: DiTStart;
      let settings: Partial<DiTTrainSettings> = { clipLength: this.config.clipLength };
      if (stored) {
        // A continued run: its checkpoint restores the weights and its settings are the ones it started with.
        start = { from: "config", config: stored.model as DiTConfig, seed: this.config.seed };
        settings = (stored.settings as DiTTrainSettings | null) ?? settings;
      } else {
        // Fine-tuning keeps the noise schedule the weights were trained with.
        const started = await this.startDiT(ditConfigForVAE(preset.dit, vae.config, this.config.override?.dit), notes);
        start = { from: "weights", dit: started.dit, schedule: started.schedule, name: "The DiT" };
      }
      // Before the slow encoding: the DiT must take this VAE's latents.
      checkDiTFitsVAE(start.from === "config" ? start.config : start.dit.config, vae.config);
      const latents = await LatentDataset.encode(reader, vae, {
        split: "train",
        onProgress: (done, total) => this.emit({ type: "phase", phase: "encode", done, total }),
      });
      task = setupDiTTask({ start, vae: vae.config, latents, settings, probe: this.actionProbe(vae) });
      const trained = start.from === "config" ? this.own(task.model as DiT) : start.dit;
      dit = trained;
      this.previewClip = await this.readPreviewClip(
        reader,
        latents,
        trained.config.contextFrames,
        this.config.previewFrames,
      );
    }
    // Fallbacks above may have changed the starts: the run records the ones it really used.
    const config = this.config;

    // Previews run between steps: the next batch waits for them, so they see one step's weights.
    const gated: TrainTask<unknown> = {
      ...task,
      nextBatch: async (rng, n) => (await this.preview, task.nextBatch(rng, n)),
    };
    const trainer = new Trainer(gated, {
      steps: config.steps,
      batchSize: config.batchSize,
      seed: config.seed,
      store,
      checkpointEvery: config.checkpointEvery,
      keep: config.keep,
      optim: { lr: config.lr, warmupSteps: config.warmupSteps },
      runInfo: { session: config },
    });
    this.trainer = trainer;
    trainer.on((e) => {
      // `Trainer.run()` forgets a stop asked for before it starts (e.g. while data was building):
      // stop as soon as it runs, which saves a checkpoint of the starting weights.
      if (e.type === "state" && e.state === "running" && this.stopRequested) trainer.stop();
      this.emit(e);
      if (e.type === "metrics" && config.previewEvery > 0 && e.step % config.previewEvery === 0) {
        this.preview = this.preview
          .then(() => this.makePreview(e.step, vae, dit))
          .catch((err) =>
            this.message(
              "TRAIN_PREVIEW_FAILED",
              `The preview at step ${e.step} failed: ${err instanceof Error ? err.message : String(err)}`,
              "warning",
            ),
          );
      }
    });
    const model = config.model === "vae" ? vae : dit!;
    this.emit({
      type: "ready",
      config,
      parameters: countParameters(model),
      episodes: reader.episodes("train").length,
      frames: reader.episodes("train").reduce((n, e) => n + e.frameCount, 0),
      notes,
      continued: stored !== null,
    });
    if (this.pauseRequested) trainer.pause();
    try {
      const result = await trainer.run();
      await this.preview;
      this.emit({
        type: "finished",
        step: result.step,
        state: result.state,
        resumedFrom: result.resumedFrom,
        seconds: result.seconds,
      });
    } finally {
      trainer.dispose();
    }
  }

  private previewClip: PreviewClip | null = null;

  /**
   * The S probe of a DiT run on the built-in game (play/eval.ts `actionSensitivityProbe`): branch
   * states of two levels the run does not train on (the real game stepped with each action of a
   * pair), 4 states each. Uploaded videos have no game to branch, so their runs log no S.
   */
  private actionProbe(vae: VAE) {
    const data = this.config.data;
    const every = this.config.probeEvery ?? DEFAULT_SESSION.probeEvery ?? 0;
    if (data.kind !== "game" || every <= 0) return undefined;
    const trained = new Set(gameEpisodeSeeds(data.seed, data.episodes));
    const levels = gameEpisodeSeeds(data.seed + 7919, data.episodes + 2)
      .filter((s) => !trained.has(s))
      .slice(0, 2);
    const probe = actionSensitivityProbe(
      vae,
      (K) =>
        gameBranches({
          episodes: levels.map((seed) => ({ seed, agent: "explorer" })),
          statesPerEpisode: 4,
          contextFrames: K,
        }),
      every,
    );
    this.disposers.push(probe.dispose);
    return probe;
  }

  private disposers: (() => void)[] = [];

  private own<M extends Module<unknown>>(module: M): M {
    this.owned.push(module);
    return module;
  }

  /** Frees the models the session made or loaded. Call once `run()` has settled. */
  dispose(): void {
    for (const m of this.owned.splice(0)) m.dispose();
    for (const free of this.disposers.splice(0)) free();
  }

  private async buildData(config: TrainSessionConfig): Promise<DatasetReader> {
    let sources: readonly EpisodeSource[];
    if (config.data.kind === "stored") {
      if (!this.host.openDataset) {
        throw new GamedreamError(
          "TRAIN_DATA_MISSING",
          "dataset",
          `Run "${config.run}" trains on the stored dataset "${config.data.name}", which this host cannot open.`,
          { recoverable: false },
        );
      }
      const reader = await DatasetReader.open(await this.host.openDataset(config.data.name));
      if (reader.episodes("train").length === 0) {
        throw new GamedreamError(
          "TRAIN_DATA_MISSING",
          "dataset",
          `The stored dataset "${config.data.name}" has no training episodes (all of it is held out).`,
          { recoverable: true },
        );
      }
      return reader;
    }
    if (config.data.kind === "game") {
      sources = gameEpisodeSources({
        seed: config.data.seed,
        episodes: config.data.episodes,
        frames: config.data.frames,
      });
    } else {
      if (!this.host.uploaded?.length) {
        throw new GamedreamError(
          "TRAIN_DATA_MISSING",
          "dataset",
          `Run "${config.run}" trains on the uploaded video "${config.data.name}"; upload it (and its action log) again to continue.`,
          { recoverable: true },
        );
      }
      sources = this.host.uploaded;
    }
    const data = new MemoryDatasetStore();
    let last = 0;
    await buildDataset(data, sources, {
      heldoutFraction: 0,
      createdWith: { by: "training dashboard", data: config.data },
      onProgress: (p) => {
        if (p.framesDone - last >= 16 || p.framesDone === p.framesTotal) {
          last = p.framesDone;
          this.emit({ type: "phase", phase: "data", done: p.framesDone, total: p.framesTotal });
        }
      },
    });
    await yieldToHost();
    return DatasetReader.open(data);
  }

  /**
   * The VAE the run trains (`role` "init") or whose latents the DiT learns ("vae"): from the
   * shipped weights, a stored VAE run, or seeded.
   */
  private async startVAE(role: "init" | "vae", config: VAEConfig, seed: number, notes: string[]): Promise<VAE> {
    const start = this.config[role];
    if (start.kind === "run") {
      const loaded = await loadVAEFromCheckpoints(await this.host.openStore(start.run));
      notes.push(
        `The VAE comes from run "${start.run}" (${loaded.source.weights ?? "raw"} weights of step ${loaded.source.step}).`,
      );
      return this.own(loaded.vae);
    }
    let seeded: VAE | null = null;
    if (start.kind === "shipped") {
      const { loaded, fallback } = await shippedOrSeeded("vae", this.shippedWeights(), { config, seed });
      if (!fallback) {
        notes.push(
          `The VAE ${role === "init" ? "fine-tunes" : "is"} the shipped pretrained one (${shippedStep(loaded)})${role === "vae" ? ", so previews decode real frames" : ""}.`,
        );
        return this.own(loaded.vae);
      }
      this.startsSeeded(role, "VAE", fallback);
      seeded = loaded.vae;
    }
    if (role === "vae") {
      notes.push(
        "The DiT learns the latents of an untrained (seeded) VAE: previews show what that VAE decodes, not the game's pixels. Train a VAE run first and choose it for better previews.",
      );
    }
    return this.own(seeded ?? createVAE(config, seed));
  }

  /** The DiT to train: from the shipped weights (with their schedule), a stored DiT run, or seeded. */
  private async startDiT(
    fresh: DiTConfig,
    notes: string[],
  ): Promise<{ dit: DiT; schedule: LoadedDiT["schedule"] | null }> {
    const start = this.config.init;
    let loaded: LoadedDiT | null = null;
    if (start.kind === "run") {
      loaded = await loadDiTFromCheckpoints(await this.host.openStore(start.run));
      notes.push(
        `The DiT starts from run "${start.run}" (${loaded.source.weights ?? "raw"} weights of step ${loaded.source.step}).`,
      );
    } else if (start.kind === "shipped") {
      const got = await shippedOrSeeded("dit", this.shippedWeights(), { config: fresh, seed: this.config.seed });
      if (got.fallback) {
        this.startsSeeded("init", "DiT", got.fallback);
        return { dit: this.own(got.loaded.dit), schedule: null };
      }
      loaded = got.loaded;
      notes.push(`The DiT fine-tunes the shipped pretrained world model (${shippedStep(loaded)}).`);
    }
    if (loaded) return { dit: this.own(loaded.dit), schedule: loaded.schedule };
    return { dit: this.own(createDiT(fresh, this.config.seed)), schedule: null };
  }

  /** The shipped weights as a file reader, read once a session (the DiT and its VAE share it). */
  private shipped: Promise<ReadBytes> | null = null;

  private shippedWeights(): ShippedWeights {
    const read = this.host.shippedWeights;
    return read ? () => (this.shipped ??= read()) : null;
  }

  /** The shipped weights did not load: says why in plain words (code: the error's, e.g. `WEIGHTS_MISMATCH`) and records the start as seeded. */
  private startsSeeded(
    role: "init" | "vae",
    what: "VAE" | "DiT",
    fallback: NonNullable<ShippedOrSeeded<unknown>["fallback"]>,
  ): void {
    this.config = { ...this.config, [role]: { kind: "seeded" } };
    this.message(
      fallback.error.code,
      `${fallback.why} The ${what} starts from a seeded initialisation instead.`,
      "warning",
    );
  }

  /** The first train episode long enough for K context frames and the preview (else the longest). */
  private async readPreviewClip(
    reader: DatasetReader,
    latents: LatentDataset | null,
    K: number,
    count: number,
  ): Promise<PreviewClip> {
    const episodes = reader.episodes("train");
    const entry =
      episodes.find((e) => e.frameCount >= K + count) ??
      episodes.reduce((a, b) => (b.frameCount > a.frameCount ? b : a));
    const n = Math.max(1, Math.min(count, entry.frameCount - K));
    const actions = await reader.readActions(entry.id);
    const dim = actions.length / entry.frameCount;
    const held = Array.from({ length: entry.frameCount }, (_, t) => actions.slice(t * dim, (t + 1) * dim));
    const rgb = await reader.readFrames(entry.id, K, n);
    const frameBytes = rgb.length / n;
    const latent = latents?.episodes.find((e) => e.id === entry.id);
    return {
      episode: entry.id,
      context: latent ? latent.latents.slice(0, K * latents!.frameSize) : null,
      held,
      start: K,
      rgb: Array.from({ length: n }, (_, i) => rgb.subarray(i * frameBytes, (i + 1) * frameBytes)),
    };
  }

  /** The fixed action script (turn left, then right) in the game and in the dream, with the current weights. */
  private async makeScriptPreview(step: number, vae: VAE, dit: DiT): Promise<void> {
    const started = performance.now();
    const level = this.config.data.kind === "game" ? this.config.data.seed : 1;
    const schedule = (this.trainer!.task.settings as { schedule: never }).schedule;
    const out = await scriptedDream(
      { vae, dit, schedule, preset: this.config.preset, sampling: this.trainedSampling() },
      { level, seed: this.config.seed, script: TURN_SCRIPT },
    );
    this.emit({
      type: "script-preview",
      step,
      level,
      labels: out.actions.map((a) => (a.camera[0] < 0 ? "turn left" : a.camera[0] > 0 ? "turn right" : "none")),
      real: out.real,
      dream: out.dream,
      width: FRAME_SIZE,
      height: FRAME_SIZE,
      ms: performance.now() - started,
    });
  }

  /** How the run's DiT must play, as its training settings say (a "reuse-last-step" run plays so). */
  private trainedSampling(): Partial<SamplingDefaults> {
    return trainedSampling(this.trainer!.task.settings);
  }

  /** Rollout (DiT) or reconstruction (VAE) of the preview clip with the current weights. */
  private async makePreview(step: number, vae: VAE, dit: DiT | null): Promise<void> {
    const clip = this.previewClip!;
    const started = performance.now();
    const generated: Uint8ClampedArray[] = [];
    if (dit) {
      const K = clip.start;
      const [h, w, c] = vaeLatentShape(vae.config);
      const world = createWorldModel({
        vae,
        dit,
        schedule: (this.trainer!.task.settings as { schedule: never }).schedule,
        preset: this.config.preset,
        defaults: this.trainedSampling(),
        seed: this.config.seed,
      });
      const context = tf.tensor4d(clip.context!, [K, h, w, c]);
      try {
        world.startFromLatents(context, clip.held.slice(0, K));
        for (let i = 0; i < clip.rgb.length; i++) generated.push((await world.stepRgba(clip.held[K - 1 + i])).data);
      } finally {
        context.dispose();
        world.dispose();
      }
    } else {
      const n = clip.rgb.length;
      const out = tf.tidy(() => {
        const x = tf.tensor4d(rgbToUnit(concatBytes(clip.rgb)), [n, FRAME_SIZE, FRAME_SIZE, 3]);
        return vae.decode(vae.encode(x).mean);
      });
      const values = (await out.data()) as Float32Array;
      out.dispose();
      const size = FRAME_SIZE * FRAME_SIZE * 3;
      for (let i = 0; i < n; i++) generated.push(unitToRgba(values.subarray(i * size, (i + 1) * size)));
    }
    if (dit && vae.config.imageSize === FRAME_SIZE) await this.makeScriptPreview(step, vae, dit);
    const real = clip.rgb.map((rgb) => rgbToRgba(rgb));
    const scores = tf.tidy(() => {
      const shape: [number, number, number, number] = [real.length, FRAME_SIZE, FRAME_SIZE, 3];
      return psnr(
        tf.tensor4d(rgbaToUnit(concatBytes(real)), shape),
        tf.tensor4d(rgbaToUnit(concatBytes(generated)), shape),
      );
    });
    const values = Array.from(await scores.data());
    scores.dispose();
    this.emit({
      type: "preview",
      step,
      kind: dit ? "rollout" : "reconstruction",
      width: FRAME_SIZE,
      height: FRAME_SIZE,
      frames: clip.rgb.map((_, i) => clip.start + i),
      real,
      generated,
      psnr: values,
      ms: performance.now() - started,
    });
  }
}

function shippedStep(loaded: LoadedVAE | LoadedDiT): string {
  return `${loaded.source.weights ?? "raw"} weights of step ${loaded.source.step ?? "?"}`;
}

/** A failure as the dashboard shows it: typed errors as they are, anything else as an internal one. */
export function sessionError(e: unknown): ReturnType<GamedreamError["toJSON"]> {
  if (isGamedreamError(e)) return (e as GamedreamError).toJSON();
  return new GamedreamError("TRAIN_INTERNAL", "internal", e instanceof Error ? e.message : String(e), {
    recoverable: false,
  }).toJSON();
}
