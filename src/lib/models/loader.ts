/**
 * Loads a VAE + DiT pair, ready to generate, with everything a sampler needs:
 *   - the VAE from a weights manifest (`model.json` + shards; written by training's export with
 *     its fitted latent scale), path or URL;
 *   - the DiT from a weights manifest, or from the latest checkpoint that verifies in a training
 *     run's `CheckpointStore` (files in Node, IndexedDB in pages; EMA weights by default);
 *   - shipped weights: a folder (path or URL) holding `vae/model.json` and `dit/model.json`, or the
 *     site's one tar archive of that folder read through `archiveFileReader` / `fetchWeightsArchive`;
 *   - "shipped weights, else seeded" (`shippedOrSeeded`, at the end): the shipped VAE, DiT or pair
 *     when the build has them and they load, else a seeded initialisation from the seed the caller
 *     gives, with the reason in plain words.
 * Every shard's SHA-256 is verified before any tensor exists (`WEIGHTS_CORRUPT`,
 * `WEIGHTS_UNVERIFIED`, `CHECKPOINT_CORRUPT` otherwise). The DiT's noise schedule comes from its
 * training settings (training's export puts them beside the weights; checkpoints hold them in their
 * config); when none is recorded, `DEFAULT_DIT_SCHEDULE` applies and `scheduleSource` says so.
 * Sampling defaults are the preset's, under what the DiT's training settings imply
 * (`trainedSampling`: a DiT trained for the "reuse-last-step" cache update plays with it), under
 * what its weights record (`recordedSampling`: a guidance-distilled DiT plays unguided).
 *
 * No Node built-ins here: Node callers pass `readFile` (../storage/files.node.ts `readFileBytes`) and
 * `FsCheckpointStore`s.
 */
import { createDiT, type DiT, type DiTConfig } from "./dit.js";
import type { ScheduleConfig } from "../diffusion/index.js";
import { GamedreamError, isGamedreamError } from "../core/index.js";
import type { Module, NamedTensors } from "../nn/index.js";
import {
  readTar,
  assignWeights,
  disposeCheckpoint,
  loadLatestCheckpoint,
  withoutPrefix,
  type CheckpointStore,
  loadWeightsWithChecksums,
  type ReadBytes,
  type LoadedWeights,
} from "../storage/index.js";
import {
  DEFAULT_DIT_SCHEDULE,
  PRESETS,
  PRESET_NAMES,
  getPreset,
  recordedSampling,
  trainedSampling,
  type PresetName,
  type SamplingDefaults,
} from "./presets.js";
import { createVAE, type VAE } from "./vae.js";
import { vaeLatentShape, type VAEConfig } from "./vae-config.js";

/**
 * Weights to start from: the seeded initialisation, the latest checkpoint of a stored run, or the
 * weights the site ships (its config, not the preset's, defines the model).
 */
export type ModelStart = { kind: "seeded" } | { kind: "run"; run: string } | { kind: "shipped" };

/**
 * What a training run records of how it built its models (`runInfo.session` of its checkpoints;
 * the Training session writes its whole config, of which this is the part loaders need).
 */
export interface RunModelRecord {
  preset: PresetName;
  seed: number;
  /** DiT runs: the VAE whose latents the DiT learned. */
  vae: ModelStart;
  override?: { vae?: Partial<VAEConfig>; dit?: Partial<DiTConfig> };
}

/** Where a model came from. */
export interface ModelSource {
  kind: "weights" | "checkpoint";
  location: string;
  /** Training step of the weights, when recorded. */
  step: number | null;
  /** The EMA shadow or the raw training weights, when recorded. */
  weights: "ema" | "raw" | null;
}

export interface LoadedDiT {
  dit: DiT;
  schedule: ScheduleConfig;
  scheduleSource: "weights" | "default";
  source: ModelSource;
  /** Sampling defaults the weights record over their preset's (absent: none). */
  sampling?: Partial<SamplingDefaults>;
}

export interface LoadedVAE {
  vae: VAE;
  source: ModelSource;
}

export interface LoadedModel {
  vae: VAE;
  dit: DiT;
  schedule: ScheduleConfig;
  scheduleSource: "weights" | "default";
  /** The preset whose DiT config matches exactly, or null for a custom config. */
  preset: PresetName | null;
  /** Sampling defaults: the matching preset's (else realtime's), under what the DiT's weights record. */
  sampling: SamplingDefaults;
  sources: Record<ModelKind, ModelSource>;
  /** Frees both models. */
  dispose(): void;
}

export type ModelKind = "vae" | "dit";

/** One model's stored parts, as read from a checkpoint or a manifest (tensors owned by the caller). */
export interface StoredModel {
  /** Names as the module's `variables()` gives them, or prefixed `<kind>.*` / `ema.*`. */
  weights: NamedTensors;
  /** A training config `{ kind, model, settings }` (../train/loop.ts) or the model config itself. */
  config: unknown;
  source: Omit<ModelSource, "weights">;
}

export interface LoadOptions {
  /** Reads a path or URL (default: `fetch`). */
  readFile?: ReadBytes;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function manifestInfo(loaded: { info: { step?: number; extra?: Record<string, unknown> } | null }): {
  step: number | null;
  weights: ModelSource["weights"];
  schedule: boolean;
} {
  const extra = loaded.info?.extra ?? {};
  const weights = extra.weights === "ema" || extra.weights === "raw" ? extra.weights : null;
  return {
    step: loaded.info?.step ?? null,
    weights,
    schedule: isRecord(extra.settings) && isRecord(extra.settings.schedule),
  };
}

/** A VAE from a weights manifest written by training's export (`.../model.json`), checksums verified. */
export async function loadVAE(manifest: string, options: LoadOptions = {}): Promise<LoadedVAE> {
  const loaded = await loadWeightsWithChecksums(manifest, { readFile: options.readFile });
  const info = manifestInfo(loaded);
  return {
    vae: vaeFromWeights(loaded),
    source: { kind: "weights", location: manifest, step: info.step, weights: info.weights },
  };
}

/** A DiT and its schedule from a weights manifest written by training's export, checksums verified. */
export async function loadDiT(manifest: string, options: LoadOptions = {}): Promise<LoadedDiT> {
  const loaded = await loadWeightsWithChecksums(manifest, { readFile: options.readFile });
  const info = manifestInfo(loaded);
  const recorded = loaded.info?.extra?.sampling;
  const trained = trainedSampling(loaded.info?.extra?.settings);
  const { dit, schedule } = ditFromWeights(loaded); // frees the loaded tensors, whatever happens
  let sampling: Partial<SamplingDefaults>;
  try {
    sampling = { ...trained, ...recordedSampling(recorded, manifest) };
  } catch (e) {
    dit.dispose();
    throw e;
  }
  return {
    dit,
    schedule,
    scheduleSource: info.schedule ? "weights" : "default",
    source: { kind: "weights", location: manifest, step: info.step, weights: info.weights },
    sampling,
  };
}

/** The model config and training settings inside a stored config of either shape. */
function unpackConfig(
  kind: ModelKind,
  stored: StoredModel,
): { model: unknown; settings: Record<string, unknown> | null } {
  const raw = stored.config;
  const where = stored.source.location;
  if (isRecord(raw) && "model" in raw) {
    if (typeof raw.kind === "string" && raw.kind !== kind) {
      throw new GamedreamError(
        "MODEL_KIND_MISMATCH",
        "model",
        `${where} holds a ${raw.kind.toUpperCase()} where a ${kind.toUpperCase()} was expected.`,
        {
          recoverable: false,
          details: { where, kind: raw.kind },
        },
      );
    }
    return { model: raw.model, settings: isRecord(raw.settings) ? raw.settings : null };
  }
  if (!isRecord(raw)) {
    throw new GamedreamError(
      "MODEL_CONFIG_MISSING",
      "model",
      `${where} records no model config, so the ${kind.toUpperCase()} cannot be rebuilt.`,
      { recoverable: false, details: { where } },
    );
  }
  return { model: raw, settings: null };
}

/** `ema.*` when present and wanted, else `<kind>.*`, else the names as they are (views, not copies). */
function pickWeights(
  kind: ModelKind,
  weights: NamedTensors,
  preferEma: boolean,
): { weights: NamedTensors; which: ModelSource["weights"] } {
  const ema = withoutPrefix(weights, "ema");
  if (preferEma && ema.size > 0) return { weights: ema, which: "ema" };
  const raw = withoutPrefix(weights, kind);
  return raw.size > 0 ? { weights: raw, which: "raw" } : { weights, which: null };
}

/** Builds a module from stored parts, freeing it again if the weights do not fit. */
function buildModule<M extends Module<unknown>>(
  kind: ModelKind,
  stored: StoredModel,
  create: (config: unknown) => M,
  preferEma: boolean,
): { module: M; which: ModelSource["weights"]; settings: Record<string, unknown> | null } {
  const { model, settings } = unpackConfig(kind, stored);
  const module = create(model);
  try {
    const picked = pickWeights(kind, stored.weights, preferEma);
    assignWeights(module, picked.weights, `The ${kind.toUpperCase()} weights from ${stored.source.location}`);
    return { module, which: picked.which, settings };
  } catch (e) {
    module.dispose();
    throw e;
  }
}

/** A VAE from stored parts (its config carries the fitted latent scale). */
export function vaeFromStored(stored: StoredModel, options: { preferEma?: boolean } = {}): LoadedVAE {
  const { module, which } = buildModule("vae", stored, (c) => createVAE(c as VAEConfig, 0), options.preferEma ?? true);
  return { vae: module, source: { ...stored.source, weights: which } };
}

/** A DiT and its schedule from stored parts. */
export function ditFromStored(stored: StoredModel, options: { preferEma?: boolean } = {}): LoadedDiT {
  // Checked before the DiT exists, so a refused record frees nothing (the weights are the caller's).
  const sampling = recordedSampling(
    isRecord(stored.config) ? stored.config.sampling : undefined,
    stored.source.location,
  );
  const { module, which, settings } = buildModule(
    "dit",
    stored,
    (c) => createDiT(c as DiTConfig, 0),
    options.preferEma ?? true,
  );
  const schedule = isRecord(settings?.schedule) ? (settings.schedule as unknown as ScheduleConfig) : null;
  return {
    dit: module,
    schedule: schedule ?? { ...DEFAULT_DIT_SCHEDULE },
    scheduleSource: schedule ? "weights" : "default",
    source: { ...stored.source, weights: which },
    sampling: { ...trainedSampling(settings), ...sampling },
  };
}

function matchingPreset(dit: DiTConfig): PresetName | null {
  return PRESET_NAMES.find((name) => JSON.stringify(PRESETS[name].dit) === JSON.stringify(dit)) ?? null;
}

/** Pairs a loaded VAE and DiT (checks that the latent shapes agree). Takes ownership of both. */
export function pairModels(vae: LoadedVAE, dit: LoadedDiT): LoadedModel {
  const { latentHeight: h, latentWidth: w, latentChannels: c } = dit.dit.config;
  const latent = vaeLatentShape(vae.vae.config);
  if (latent.join(",") !== `${h},${w},${c}`) {
    throw new GamedreamError(
      "WORLD_MODEL_MISMATCH",
      "model",
      `The VAE (${vae.source.location}) makes ${latent.join("x")} latents but the DiT (${dit.source.location}) expects ${h}x${w}x${c}.`,
      {
        recoverable: false,
      },
    );
  }
  const preset = matchingPreset(dit.dit.config);
  return {
    vae: vae.vae,
    dit: dit.dit,
    schedule: dit.schedule,
    scheduleSource: dit.scheduleSource,
    preset,
    sampling: { ...PRESETS[preset ?? "realtime"].sampling, ...dit.sampling },
    sources: { vae: vae.source, dit: dit.source },
    dispose: () => {
      vae.vae.dispose();
      dit.dit.dispose();
    },
  };
}

/** Loads both halves and pairs them, freeing what was loaded if anything fails. */
export async function loadModel(parts: {
  vae: () => Promise<LoadedVAE> | LoadedVAE;
  dit: () => Promise<LoadedDiT> | LoadedDiT;
}): Promise<LoadedModel> {
  const vae = await parts.vae();
  let dit: LoadedDiT | null = null;
  try {
    dit = await parts.dit();
    return pairModels(vae, dit);
  } catch (e) {
    vae.vae.dispose();
    dit?.dit.dispose();
    throw e;
  }
}

/** A pair from stored parts (e.g. one archive holding both); the caller still owns the tensors. */
export function buildModel(
  stored: Record<ModelKind, StoredModel>,
  options: { preferEma?: boolean } = {},
): Promise<LoadedModel> {
  return loadModel({ vae: () => vaeFromStored(stored.vae, options), dit: () => ditFromStored(stored.dit, options) });
}

/**
 * Stored parts of the latest checkpoint that verifies in a training run's store (a damaged newer
 * one is skipped, as training does); `MODEL_NO_CHECKPOINT` when there is none. Frees the
 * checkpoint after `use`.
 */
async function withLatestCheckpoint<T>(
  kind: ModelKind,
  store: CheckpointStore,
  use: (stored: StoredModel) => T,
): Promise<T> {
  const { checkpoint } = await loadLatestCheckpoint(store);
  if (!checkpoint) {
    throw new GamedreamError(
      "MODEL_NO_CHECKPOINT",
      "model",
      `There is no loadable ${kind.toUpperCase()} checkpoint in ${store.location}; train it first.`,
      {
        recoverable: false,
        details: { location: store.location },
      },
    );
  }
  try {
    return use({
      weights: checkpoint.weights,
      config: checkpoint.config,
      source: { kind: "checkpoint", location: `${store.location} ${checkpoint.id}`, step: checkpoint.step },
    });
  } finally {
    disposeCheckpoint(checkpoint);
  }
}

/** The DiT of a training run's latest good checkpoint (EMA weights by default). */
export function loadDiTFromCheckpoints(
  store: CheckpointStore,
  options: { preferEma?: boolean } = {},
): Promise<LoadedDiT> {
  return withLatestCheckpoint("dit", store, (stored) => ditFromStored(stored, options));
}

/**
 * The VAE of a training run's latest good checkpoint. Its latent scale is the one in the
 * checkpoint's config; training fits it only when it exports the VAE, so prefer exported weights.
 */
export function loadVAEFromCheckpoints(
  store: CheckpointStore,
  options: { preferEma?: boolean } = {},
): Promise<LoadedVAE> {
  return withLatestCheckpoint("vae", store, (stored) => vaeFromStored(stored, options));
}

/** Both halves from training runs' latest good checkpoints. */
export function loadModelFromCheckpoints(
  stores: Record<ModelKind, CheckpointStore>,
  options: { preferEma?: boolean } = {},
): Promise<LoadedModel> {
  return loadModel({
    vae: () => loadVAEFromCheckpoints(stores.vae, options),
    dit: () => loadDiTFromCheckpoints(stores.dit, options),
  });
}

/** `base` + `/` + `name`, for folder paths and URLs alike. */
function join(base: string, name: string): string {
  return base.endsWith("/") ? base + name : `${base}/${name}`;
}

/**
 * A tar archive of a weights folder (the site ships weights/realtime/ as one: `vae/model.json`,
 * `dit/model.json` and their shards) as the `readFile` the loaders take, paths relative to the
 * folder (`./` allowed). A damaged archive is `ARCHIVE_CORRUPT`; a file it lacks, `WEIGHTS_NOT_FOUND`.
 */
export function archiveFileReader(archive: Uint8Array, what = "The shipped weights"): ReadBytes {
  const files = readTar(archive, what);
  return async (path: string): Promise<Uint8Array> => {
    const bytes = files.get(path.replace(/^\.\//, ""));
    if (!bytes)
      throw new GamedreamError(
        "WEIGHTS_NOT_FOUND",
        "storage",
        `${what} lack ${path} (the archive holds ${[...files.keys()].join(", ") || "nothing"}).`,
        { recoverable: false },
      );
    return bytes;
  };
}

/** Downloads the shipped weights archive (its URL from src/components/weights.js) as a file reader. */
export async function fetchWeightsArchive(url: string): Promise<ReadBytes> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new GamedreamError(
      "WEIGHTS_NOT_FOUND",
      "storage",
      `Could not download the shipped weights (${e instanceof Error ? e.message : String(e)}).`,
      { recoverable: true },
    );
  }
  if (!response.ok)
    throw new GamedreamError(
      "WEIGHTS_NOT_FOUND",
      "storage",
      `Could not load the shipped weights (HTTP ${response.status}).`,
      { recoverable: false },
    );
  return archiveFileReader(new Uint8Array(await response.arrayBuffer()));
}

/** Shipped weights: a folder (path or URL) with `vae/model.json` and `dit/model.json`. */
export async function loadModelFromWeights(folder: string, options: LoadOptions = {}): Promise<LoadedModel> {
  return loadModel({
    vae: () => loadVAE(join(folder, "vae/model.json"), options),
    dit: () => loadDiT(join(folder, "dit/model.json"), options),
  });
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

function wrongKind(loaded: LoadedWeights, expected: string): GamedreamError {
  const kind = (loaded.info?.extra as { kind?: string } | undefined)?.kind ?? "unknown";
  return new GamedreamError(
    "WEIGHTS_WRONG_MODEL",
    "model",
    `These weights are for a ${kind} model, not a ${expected}.`,
    { recoverable: false, details: { kind, expected } },
  );
}

/** A VAE built from loaded weights (config and latent scale from the manifest); disposes `loaded`. */
export function vaeFromWeights(loaded: LoadedWeights): VAE {
  try {
    if ((loaded.info?.extra as { kind?: string } | undefined)?.kind !== "vae" || !loaded.info?.config)
      throw wrongKind(loaded, "VAE");
    const vae = createVAE(loaded.info.config as VAEConfig, 0);
    try {
      assignWeights(vae, loaded.weights, "The VAE weights");
    } catch (e) {
      vae.dispose();
      throw e;
    }
    return vae;
  } finally {
    disposeWeights(loaded.weights);
  }
}

/**
 * A DiT, its noise schedule (the recorded training settings', else `DEFAULT_DIT_SCHEDULE`) and the
 * recorded training settings as they are (null when none), built from loaded weights; disposes `loaded`.
 */
export function ditFromWeights(loaded: LoadedWeights): {
  dit: DiT;
  schedule: ScheduleConfig;
  settings: Record<string, unknown> | null;
} {
  try {
    const extra = loaded.info?.extra as { kind?: string; settings?: Record<string, unknown> | null } | undefined;
    if (extra?.kind !== "dit" || !loaded.info?.config) throw wrongKind(loaded, "DiT");
    const dit = createDiT(loaded.info.config as DiTConfig, 0);
    try {
      assignWeights(dit, loaded.weights, "The DiT weights");
    } catch (e) {
      dit.dispose();
      throw e;
    }
    const settings = isRecord(extra.settings) ? extra.settings : null;
    const schedule = isRecord(settings?.schedule)
      ? (settings.schedule as unknown as ScheduleConfig)
      : { ...DEFAULT_DIT_SCHEDULE };
    return { dit, schedule, settings };
  } finally {
    disposeWeights(loaded.weights);
  }
}

function disposeWeights(weights: NamedTensors): void {
  for (const t of weights.values()) t.dispose();
}

// ---------------------------------------------------------------------------------------------
// Shipped weights, else seeded

/** Reads the site's shipped weights archive (e.g. `() => fetchWeightsArchive(url)`); null when the build ships none. */
export type ShippedWeights = (() => Promise<ReadBytes>) | null;

/** Where a seeded model says it came from. */
const SEEDED_SOURCE: Readonly<ModelSource> = Object.freeze({
  kind: "weights",
  location: "seeded",
  step: null,
  weights: null,
});

/**
 * What `shippedOrSeeded` loads for each part, and what it builds the seeded fallback from. The
 * seed is the caller's, always: the same seed gives the same initial weights.
 */
export interface ShippedOrSeededParts {
  /** `vae/model.json` of the archive, else `createVAE(config, seed)`. */
  vae: { loaded: LoadedVAE; seeded: { config: VAEConfig; seed: number } };
  /** `dit/model.json`, else `createDiT(config, seed)` with `DEFAULT_DIT_SCHEDULE` (`scheduleSource` "default"). */
  dit: { loaded: LoadedDiT; seeded: { config: DiTConfig; seed: number } };
  /** Both, paired, else `seededModel(preset, seed)`: the preset's VAE from `seed`, its DiT from `seed + 1`. */
  model: { loaded: LoadedModel; seeded: { preset: PresetName; seed: number } };
}

export interface ShippedOrSeeded<T> {
  loaded: T;
  /**
   * Null when `loaded` holds the shipped weights. Otherwise why they were not used: the error
   * (`WEIGHTS_NOT_SHIPPED` when the build ships none, else the loader's own, e.g.
   * `WEIGHTS_MISMATCH`, `WEIGHTS_CORRUPT`, `ARCHIVE_CORRUPT`) and one sentence for a person.
   */
  fallback: { error: GamedreamError; why: string } | null;
}

/** An untrained pair of `preset`: the VAE initialised from `seed`, the DiT from `seed + 1`, the default schedule. */
export function seededModel(preset: PresetName, seed: number): LoadedModel {
  const { vae, dit } = getPreset(preset);
  return pairModels(seededPart("vae", { config: vae, seed }), seededPart("dit", { config: dit, seed: seed + 1 }));
}

function seededPart<K extends keyof ShippedOrSeededParts>(
  what: K,
  seeded: ShippedOrSeededParts[K]["seeded"],
): ShippedOrSeededParts[K]["loaded"] {
  type Part = ShippedOrSeededParts[K]["loaded"];
  if (what === "model") {
    const { preset, seed } = seeded as ShippedOrSeededParts["model"]["seeded"];
    return seededModel(preset, seed) as Part;
  }
  if (what === "vae") {
    const { config, seed } = seeded as ShippedOrSeededParts["vae"]["seeded"];
    return { vae: createVAE(config, seed), source: { ...SEEDED_SOURCE } } satisfies LoadedVAE as Part;
  }
  const { config, seed } = seeded as ShippedOrSeededParts["dit"]["seeded"];
  return {
    dit: createDiT(config, seed),
    schedule: { ...DEFAULT_DIT_SCHEDULE },
    scheduleSource: "default",
    source: { ...SEEDED_SOURCE },
  } satisfies LoadedDiT as Part;
}

/**
 * "Shipped weights, else seeded", the one place the Attention page, the play worker and the
 * Training session decide it: loads `what` ("vae", "dit" or the "model" pair) from the archive
 * `shipped` reads; when the build ships none (`shipped` null) or they do not load (damaged, saved
 * for another architecture, unreachable), builds the seeded initialisation `seeded` describes
 * instead (see `ShippedOrSeededParts` for which seed goes where) and says why in `fallback`.
 * Never throws for the shipped weights; the caller decides what to tell the user.
 */
export async function shippedOrSeeded<K extends keyof ShippedOrSeededParts>(
  what: K,
  shipped: ShippedWeights,
  seeded: ShippedOrSeededParts[K]["seeded"],
): Promise<ShippedOrSeeded<ShippedOrSeededParts[K]["loaded"]>> {
  type Part = ShippedOrSeededParts[K]["loaded"];
  let error: GamedreamError;
  try {
    if (!shipped)
      throw new GamedreamError("WEIGHTS_NOT_SHIPPED", "storage", "This build ships no pretrained weights.", {
        recoverable: true,
      });
    const readFile = await shipped();
    const loaded =
      what === "vae"
        ? await loadVAE("vae/model.json", { readFile })
        : what === "dit"
          ? await loadDiT("dit/model.json", { readFile })
          : await loadModelFromWeights(".", { readFile });
    return { loaded: loaded as Part, fallback: null };
  } catch (e) {
    error = isGamedreamError(e)
      ? e
      : new GamedreamError("WEIGHTS_UNREADABLE", "storage", e instanceof Error ? e.message : String(e), {
          recoverable: true,
          cause: e,
        });
  }
  return { loaded: seededPart(what, seeded), fallback: { error, why: whyNotShipped(error) } };
}

/** Why the shipped weights could not be used, for a person; the error's own message where no plainer one fits. */
function whyNotShipped(error: GamedreamError): string {
  switch (error.code) {
    case "WEIGHTS_MISMATCH":
    case "WEIGHTS_WRONG_MODEL":
    case "MODEL_CONFIG_MISSING":
      return "The shipped weights do not fit this version of the model: they were saved for a different architecture, so their layers do not match.";
    case "WEIGHTS_CORRUPT":
    case "WEIGHTS_UNVERIFIED":
    case "ARCHIVE_CORRUPT":
      return "The shipped weights are damaged: a file in them fails its checksum.";
    case "WEIGHTS_NOT_SHIPPED":
      return "This build ships no pretrained weights.";
    default:
      return `The shipped weights could not be loaded: ${error.message}`;
  }
}
