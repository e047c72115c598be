/**
 * Loads a VAE + DiT pair, ready to generate, from either
 *   - shipped or exported weights: a folder (path or URL) holding `vae/model.json` and
 *     `dit/model.json` (TensorFlow.js weights manifests whose shards are SHA-256 verified before
 *     any tensor exists), or
 *   - training runs: the latest checkpoint that verifies in a VAE store and a DiT store
 *     (`CheckpointStore`: files in Node, IndexedDB in pages), EMA weights by default.
 * The configs travel with the weights (a manifest's `gamedream.config`, a checkpoint's `config`):
 * either a training config `{ kind, model, settings }` (src/lib/train/loop.ts) or the model config
 * itself. The DiT's noise schedule comes from its training settings; when the weights carry none,
 * training's default is used and `scheduleSource` says so.
 *
 * No Node built-ins here: Node callers pass `readFile` (storage/files.node.ts `readFileBytes`) and
 * `FsCheckpointStore`s.
 */
import type * as tf from "@tensorflow/tfjs";
import { createDiT, validateDiTConfig, type DiT, type DiTConfig } from "./dit.js";
import type { ScheduleConfig } from "./diffusion/index.js";
import { GamedreamError } from "./errors.js";
import type { NamedTensors } from "./nn/module.js";
import { PRESETS, PRESET_NAMES, type PresetName, type SamplingDefaults } from "./presets.js";
import { assignWeights, disposeCheckpoint, loadLatestCheckpoint, type CheckpointStore } from "./storage.js";
import { loadWeightsWithChecksums, type ReadBytes } from "./storage/tfjs-manifest.js";
import { DEFAULT_DIT_TRAIN } from "./train/dit-task.js";
import { createVAE, validateVAEConfig, type VAE, type VAEConfig } from "./vae.js";

export type ModelKind = "vae" | "dit";

/** Where one half of the pair came from. */
export interface ModelSource {
  kind: "weights" | "checkpoint";
  location: string;
  /** Training step of the weights, when recorded. */
  step: number | null;
  /** Which stored weights were used: the EMA shadow or the raw training weights. */
  weights: "ema" | "raw" | "plain";
}

export interface LoadedModel {
  vae: VAE;
  dit: DiT;
  schedule: ScheduleConfig;
  scheduleSource: "weights" | "default";
  /** The preset whose DiT config matches exactly, or null for a custom config. */
  preset: PresetName | null;
  /** Sampling defaults: the matching preset's, else realtime's. */
  sampling: SamplingDefaults;
  sources: Record<ModelKind, ModelSource>;
  /** Frees both models. */
  dispose(): void;
}

/** One model's stored parts, as read from a manifest or a checkpoint (tensors owned by the caller). */
export interface StoredModel {
  weights: NamedTensors;
  /** The saved config: a training config `{ kind, model, settings }` or the model config itself. */
  config: unknown;
  source: Omit<ModelSource, "weights">;
}

function invalid(message: string, details?: Record<string, unknown>): GamedreamError {
  return new GamedreamError("MODEL_CONFIG_MISSING", "model", message, { recoverable: false, details });
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** The model config and training settings inside a saved config of either shape. */
function unpackConfig(kind: ModelKind, raw: unknown, where: string): { model: unknown; settings: Record<string, unknown> | null } {
  if (isRecord(raw) && "model" in raw) {
    if (typeof raw.kind === "string" && raw.kind !== kind) {
      throw new GamedreamError("MODEL_KIND_MISMATCH", "model", `${where} holds a ${raw.kind.toUpperCase()} where a ${kind.toUpperCase()} was expected.`, {
        recoverable: false,
        details: { where, kind: raw.kind },
      });
    }
    return { model: raw.model, settings: isRecord(raw.settings) ? raw.settings : null };
  }
  if (raw === undefined || raw === null) throw invalid(`${where} records no model config, so the ${kind} cannot be rebuilt.`, { where });
  return { model: raw, settings: null };
}

/**
 * Picks the weights of a model out of a stored map: `ema.*` when present and wanted, else
 * `<kind>.*`, else unprefixed names. Returns views of the same tensors.
 */
function pickWeights(kind: ModelKind, weights: NamedTensors, preferEma: boolean): { weights: NamedTensors; which: ModelSource["weights"] } {
  const under = (prefix: string) => {
    const out: NamedTensors = new Map();
    for (const [name, t] of weights) if (name.startsWith(`${prefix}.`)) out.set(name.slice(prefix.length + 1), t);
    return out;
  };
  const ema = under("ema");
  if (preferEma && ema.size > 0) return { weights: ema, which: "ema" };
  const raw = under(kind);
  if (raw.size > 0) return { weights: raw, which: "raw" };
  return { weights, which: "plain" };
}

function matchingPreset(dit: DiTConfig): PresetName | null {
  return PRESET_NAMES.find((name) => JSON.stringify(PRESETS[name].dit) === JSON.stringify(dit)) ?? null;
}

/**
 * Builds the pair from stored weights and configs (the tensors in `vae.weights`/`dit.weights` are
 * copied into new variables; the caller still owns and disposes them).
 */
export function buildModel(stored: Record<ModelKind, StoredModel>, options: { preferEma?: boolean } = {}): LoadedModel {
  const preferEma = options.preferEma ?? true;
  const vaeParts = unpackConfig("vae", stored.vae.config, stored.vae.source.location);
  const ditParts = unpackConfig("dit", stored.dit.config, stored.dit.source.location);
  const vaeConfig = vaeParts.model as VAEConfig;
  const ditConfig = ditParts.model as DiTConfig;
  validateVAEConfig(vaeConfig);
  validateDiTConfig(ditConfig);
  const vae = createVAE(vaeConfig, 0);
  let dit: DiT | null = null;
  try {
    dit = createDiT(ditConfig, 0);
    const vaeWeights = pickWeights("vae", stored.vae.weights, preferEma);
    const ditWeights = pickWeights("dit", stored.dit.weights, preferEma);
    assignWeights(vae, vaeWeights.weights, `The VAE weights from ${stored.vae.source.location}`);
    assignWeights(dit, ditWeights.weights, `The DiT weights from ${stored.dit.source.location}`);
    const savedSchedule = ditParts.settings?.schedule;
    const preset = matchingPreset(ditConfig);
    const ditModel = dit;
    return {
      vae,
      dit: ditModel,
      schedule: isRecord(savedSchedule) ? (savedSchedule as unknown as ScheduleConfig) : { ...DEFAULT_DIT_TRAIN.schedule },
      scheduleSource: isRecord(savedSchedule) ? "weights" : "default",
      preset,
      sampling: { ...PRESETS[preset ?? "realtime"].sampling },
      sources: { vae: { ...stored.vae.source, weights: vaeWeights.which }, dit: { ...stored.dit.source, weights: ditWeights.which } },
      dispose: () => {
        vae.dispose();
        ditModel.dispose();
      },
    };
  } catch (e) {
    vae.dispose();
    dit?.dispose();
    throw e;
  }
}

function disposeAll(weights: NamedTensors): void {
  for (const t of weights.values()) (t as tf.Tensor).dispose();
}

/** `base` + `/` + `name`, for folder paths and URLs alike. */
function join(base: string, name: string): string {
  return base.endsWith("/") ? base + name : `${base}/${name}`;
}

/**
 * Weights folder (path or URL) with `vae/model.json` and `dit/model.json`; every shard's SHA-256 is
 * checked (`WEIGHTS_CORRUPT` / `WEIGHTS_UNVERIFIED` / `WEIGHTS_NOT_FOUND` otherwise).
 */
export async function loadModelFromWeights(folder: string, options: { readFile?: ReadBytes; preferEma?: boolean } = {}): Promise<LoadedModel> {
  const parts = {} as Record<ModelKind, StoredModel>;
  try {
    for (const kind of ["vae", "dit"] as const) {
      const manifest = join(join(folder, kind), "model.json");
      const loaded = await loadWeightsWithChecksums(manifest, { readFile: options.readFile });
      parts[kind] = {
        weights: loaded.weights,
        config: loaded.info?.config,
        source: { kind: "weights", location: manifest, step: loaded.info?.step ?? null },
      };
    }
    return buildModel(parts, options);
  } finally {
    for (const p of Object.values(parts)) disposeAll(p.weights);
  }
}

/**
 * The latest checkpoint that verifies in each store (a damaged newer one is skipped, as training
 * does). `MODEL_NO_CHECKPOINT` when a store holds none.
 */
export async function loadModelFromCheckpoints(
  stores: Record<ModelKind, CheckpointStore>,
  options: { preferEma?: boolean } = {},
): Promise<LoadedModel> {
  const loaded: { kind: ModelKind; checkpoint: Awaited<ReturnType<typeof loadLatestCheckpoint>>["checkpoint"] }[] = [];
  try {
    const parts = {} as Record<ModelKind, StoredModel>;
    for (const kind of ["vae", "dit"] as const) {
      const { checkpoint } = await loadLatestCheckpoint(stores[kind]);
      if (!checkpoint) {
        throw new GamedreamError("MODEL_NO_CHECKPOINT", "model", `There is no loadable ${kind.toUpperCase()} checkpoint in ${stores[kind].location}; train it first.`, {
          recoverable: false,
          details: { location: stores[kind].location },
        });
      }
      loaded.push({ kind, checkpoint });
      parts[kind] = { weights: checkpoint.weights, config: checkpoint.config, source: { kind: "checkpoint", location: `${stores[kind].location} ${checkpoint.id}`, step: checkpoint.step } };
    }
    return buildModel(parts, options);
  } finally {
    for (const { checkpoint } of loaded) if (checkpoint) disposeCheckpoint(checkpoint);
  }
}

/** A short JSON description of a loaded pair, for reports. */
export function describeModel(model: LoadedModel): Record<string, unknown> {
  return {
    preset: model.preset,
    vae: model.vae.config,
    dit: model.dit.config,
    schedule: model.schedule,
    scheduleSource: model.scheduleSource,
    sampling: model.sampling,
    sources: model.sources,
  };
}
