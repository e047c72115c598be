/**
 * Which world model the play page plays, as plain data, and how to load it: the shipped weights,
 * a training run stored in this browser (a DiT run paired with the VAE it was trained on, newest
 * or a chosen checkpoint), or an untrained seeded model. Imported files (a gamedream run export
 * `.tar`, or safetensors with their config) become stored runs first (`importModelFiles`), so they
 * are played, listed and kept across reloads like any other run.
 *
 * Pairs. A DiT learns the latents of one VAE; decoded by another it dreams noise, even when the
 * latent shapes agree. A dashboard run records the VAE it learned on (`runInfo.session.vae`, see
 * ../train/session.ts), so the pair is rebuilt from the run alone, and a VAE chosen against that
 * record is refused in plain words (`PLAY_PAIR_MISMATCH`), as is a VAE of another latent shape.
 *
 * The URL form (`?run=NAME&checkpoint=ID&vae=shipped|seeded|run:NAME`, `?model=untrained`) is
 * `playChoiceFromParams` / `playChoiceToParams`, so a reload plays the same model.
 *
 * No DOM and no IndexedDB here: the host passes `openStore` (IndexedDB in the play worker, memory
 * in tests) and the shipped weights reader, as for ../train/session.ts.
 */
import {
  ditFromStored,
  loadVAE,
  loadVAEFromCheckpoints,
  pairModels,
  seededModel,
  shippedOrSeeded,
  vaeFromStored,
  type LoadedDiT,
  type LoadedModel,
  type LoadedVAE,
  type ModelStart,
  type RunModelRecord,
  DEFAULT_DIT_SCHEDULE,
  getPreset,
  PRESET_NAMES,
  type PresetName,
  createVAE,
  type VAEConfig,
} from "../models/index.js";
import { GamedreamError, isGamedreamError } from "../core/index.js";
import {
  readTar,
  disposeCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  loadLatestCheckpoint,
  readCheckpointSummary,
  saveCheckpoint,
  type Checkpoint,
  type CheckpointStore,
  decodeSafetensors,
  type ReadBytes,
} from "../storage/index.js";
import { importRun, readRunInfo } from "../data/index.js";

/** The VAE half of a pair: the one the DiT was trained on (null), or an explicit one. */
export type VaeChoice = ModelStart | null;

export type PlayModelChoice =
  | { kind: "shipped" }
  | { kind: "untrained"; preset: PresetName; seed: number }
  /** A DiT run in this browser; `checkpoint` null: its newest good one. */
  | { kind: "run"; run: string; checkpoint: string | null; vae: VaeChoice };

export interface PlayModelHost {
  /** A run's checkpoint store (IndexedDB in the play worker). */
  openStore(run: string): Promise<CheckpointStore>;
  /** Reads the shipped weights archive; null when the build ships none. */
  shippedWeights: (() => Promise<ReadBytes>) | null;
  /** Runs stored here (to tell a missing run from an empty one). */
  listRuns?(): Promise<string[]>;
}

export interface PlayableModel {
  /** What plays: the choice's kind, or "untrained" where the shipped weights could not be loaded. */
  kind: PlayModelChoice["kind"];
  model: LoadedModel;
  /** One line for the page: what is playing. */
  description: string;
  /** Short name shown beside the dream ("run “mine”", "shipped weights"). */
  name: string;
  /** Things the user should know (e.g. a run that does not record its VAE). */
  notes: string[];
}

/** A stored run as the play page lists it (read from checkpoint descriptions only). */
export interface PlayableRun {
  run: string;
  kind: string;
  checkpoints: { id: string; step: number }[];
  /** The VAE its DiT learned on, when recorded. */
  trainedOn: ModelStart | null;
}

// ---------------------------------------------------------------------------------------------
// URL form

/** The choice a page URL names (default: the shipped weights when the build has them). */
export function playChoiceFromParams(
  params: URLSearchParams,
  options: { shipped: boolean; seed: number },
): PlayModelChoice {
  const run = params.get("run");
  if (run)
    return { kind: "run", run, checkpoint: params.get("checkpoint") || null, vae: parseVaeChoice(params.get("vae")) };
  if (params.get("model") === "untrained" || !options.shipped)
    return { kind: "untrained", preset: "realtime", seed: options.seed };
  return { kind: "shipped" };
}

/** Writes `choice` into `params` (removing what another choice set). */
export function playChoiceToParams(choice: PlayModelChoice, params: URLSearchParams): URLSearchParams {
  for (const key of ["run", "checkpoint", "vae", "model"]) params.delete(key);
  if (choice.kind === "untrained") params.set("model", "untrained");
  if (choice.kind === "run") {
    params.set("run", choice.run);
    if (choice.checkpoint) params.set("checkpoint", choice.checkpoint);
    if (choice.vae) params.set("vae", formatVaeChoice(choice.vae));
  }
  return params;
}

/** `shipped`, `seeded` or `run:NAME`; anything else (or nothing) is "the one it was trained on". */
export function parseVaeChoice(text: string | null): VaeChoice {
  if (text === "shipped") return { kind: "shipped" };
  if (text === "seeded") return { kind: "seeded" };
  if (text?.startsWith("run:") && text.length > 4) return { kind: "run", run: text.slice(4) };
  return null;
}

export function formatVaeChoice(choice: ModelStart): string {
  return choice.kind === "run" ? `run:${choice.run}` : choice.kind;
}

/** A VAE start in words: "the shipped VAE", "the VAE of run “v1”", "an untrained (seeded) VAE". */
export function describeVae(start: ModelStart): string {
  if (start.kind === "shipped") return "the shipped VAE";
  if (start.kind === "run") return `the VAE of run “${start.run}”`;
  return "an untrained (seeded) VAE";
}

function sameVae(a: ModelStart, b: ModelStart): boolean {
  return a.kind === b.kind && (a.kind !== "run" || a.run === (b as { run: string }).run);
}

// ---------------------------------------------------------------------------------------------
// Listing

function sessionOf(config: unknown): RunModelRecord | null {
  const runInfo = (config as { runInfo?: { session?: unknown } } | null)?.runInfo;
  const session = runInfo?.session as RunModelRecord | undefined;
  return session && typeof session === "object" && "vae" in session ? session : null;
}

/** What the play page needs to offer a stored run (newest checkpoint's description; no weights read). */
export async function describePlayableRun(run: string, store: CheckpointStore): Promise<PlayableRun | null> {
  const checkpoints = (await listCheckpoints(store)).map(({ id, step }) => ({ id, step }));
  const newest = checkpoints.at(-1);
  if (!newest) return null;
  const summary = await readCheckpointSummary<{ kind?: string }>(store, newest.id);
  const session = sessionOf(summary.config);
  return { run, kind: summary.config?.kind ?? "unknown", checkpoints, trainedOn: session?.vae ?? null };
}

// ---------------------------------------------------------------------------------------------
// Loading

/**
 * Loads the chosen pair; throws a plain-language `GamedreamError` when it cannot be played. The
 * shipped weights are the exception: when they cannot be loaded (none in this build, damaged,
 * saved for another architecture), the untrained realtime pair of `options.seed` plays instead
 * (../models/loader.ts `shippedOrSeeded`: VAE from `seed`, DiT from `seed + 1`), `kind` is
 * "untrained" and the first note says why.
 */
export async function loadPlayModel(
  choice: PlayModelChoice,
  host: PlayModelHost,
  options: { seed: number } = { seed: 0 },
): Promise<PlayableModel> {
  if (choice.kind === "shipped") {
    const { loaded: model, fallback } = await shippedOrSeeded("model", host.shippedWeights, {
      preset: "realtime",
      seed: options.seed,
    });
    if (fallback)
      return {
        ...untrained(model, "realtime", options.seed),
        notes: [`${fallback.why} Playing with untrained weights instead.`],
      };
    return {
      kind: "shipped",
      model,
      name: "shipped weights",
      description: `shipped weights (${model.preset ?? "custom"} preset, DiT step ${model.sources.dit.step ?? "?"})`,
      notes: [],
    };
  }
  if (choice.kind === "untrained")
    return untrained(seededModel(choice.preset, choice.seed), choice.preset, choice.seed);
  return loadRunModel(choice, host);
}

function untrained(model: LoadedModel, preset: PresetName, seed: number): PlayableModel {
  return {
    kind: "untrained",
    model,
    name: "untrained",
    description: `untrained weights (${preset} preset, seeded initialisation ${seed})`,
    notes: [],
  };
}

async function shippedReader(host: PlayModelHost): Promise<ReadBytes> {
  if (!host.shippedWeights)
    throw new GamedreamError("WEIGHTS_NOT_SHIPPED", "storage", "This build ships no pretrained weights.", {
      recoverable: true,
    });
  return host.shippedWeights();
}

async function loadRunModel(
  choice: Extract<PlayModelChoice, { kind: "run" }>,
  host: PlayModelHost,
): Promise<PlayableModel> {
  const { run } = choice;
  if (host.listRuns && !(await host.listRuns()).includes(run)) {
    throw new GamedreamError(
      "PLAY_RUN_NOT_FOUND",
      "model",
      `There is no run “${run}” in this browser. Train it on the Training page, or import its export here.`,
      { recoverable: true, details: { run } },
    );
  }
  const store = await host.openStore(run);
  let checkpoint: Checkpoint | null;
  if (choice.checkpoint) checkpoint = await loadCheckpoint(store, choice.checkpoint);
  else checkpoint = (await loadLatestCheckpoint(store)).checkpoint;
  if (!checkpoint) {
    throw new GamedreamError(
      "MODEL_NO_CHECKPOINT",
      "model",
      `Run “${run}” has no checkpoint that loads yet; train it until its first save.`,
      { recoverable: true, details: { run } },
    );
  }
  const notes: string[] = [];
  let dit: LoadedDiT;
  let session: RunModelRecord | null;
  try {
    const config = checkpoint.config as { kind?: string } | null;
    if (config?.kind === "vae") {
      throw new GamedreamError(
        "PLAY_NOT_A_WORLD_MODEL",
        "model",
        `Run “${run}” trained a VAE, which turns frames into latents and back but cannot dream on its own. Choose a DiT run: the world model that learned on a VAE's latents.`,
        { recoverable: true, details: { run } },
      );
    }
    session = sessionOf(config);
    dit = ditFromStored({
      weights: checkpoint.weights,
      config: checkpoint.config,
      source: { kind: "checkpoint", location: `run “${run}” ${checkpoint.id}`, step: checkpoint.step },
    });
  } finally {
    disposeCheckpoint(checkpoint);
  }

  let vae: LoadedVAE;
  let defaulted = false;
  let use: ModelStart;
  try {
    const trainedOn = session?.vae ?? null;
    if (choice.vae && trainedOn && !sameVae(choice.vae, trainedOn)) {
      throw new GamedreamError(
        "PLAY_PAIR_MISMATCH",
        "model",
        `These two do not belong together: the world model of run “${run}” learned the latents of ${describeVae(trainedOn)}, not of ${describeVae(choice.vae)}. Decoded by another VAE its dream would be noise, so it plays only with ${describeVae(trainedOn)}.`,
        { recoverable: true, details: { run, trainedOn, chosen: choice.vae } },
      );
    }
    if (choice.vae) use = choice.vae;
    else if (trainedOn) use = trainedOn;
    else {
      use = host.shippedWeights ? { kind: "shipped" } : { kind: "seeded" };
      defaulted = true;
      notes.push(
        `Run “${run}” does not record which VAE its world model learned on (it was made outside the Training page); it plays with ${describeVae(use)}. If the dream looks like noise, it learned on another VAE.`,
      );
    }
    vae = await loadVaeStart(use, session, host);
  } catch (e) {
    dit.dit.dispose();
    throw e;
  }
  let model: LoadedModel;
  try {
    model = pairModels(vae, dit);
  } catch (e) {
    vae.vae.dispose();
    dit.dit.dispose();
    if (isGamedreamError(e) && e.code === "WORLD_MODEL_MISMATCH") {
      const { latentHeight: h, latentWidth: w, latentChannels: c } = dit.dit.config;
      throw new GamedreamError(
        "PLAY_PAIR_MISMATCH",
        "model",
        `These two do not belong together: the world model of run “${run}” works on ${h}x${w}x${c} latents, but ${defaulted ? describeVae(use) : "the chosen VAE"} makes latents of another shape. ${defaulted ? `The run does not record which VAE it learned on: choose that VAE under “VAE”.` : "Play it with the VAE it was trained on."}`,
        { recoverable: true, details: { run }, cause: e },
      );
    }
    throw e;
  }
  const step = model.sources.dit.step ?? "?";
  return {
    kind: "run",
    model,
    name: `run “${run}”`,
    description: `run “${run}” (DiT step ${step}${choice.checkpoint ? `, checkpoint ${choice.checkpoint}` : ", newest checkpoint"}) with ${describeVae(use)}`,
    notes,
  };
}

/** The VAE a run names: shipped, another run's newest checkpoint, or the seeded one it was built with. */
async function loadVaeStart(
  start: ModelStart,
  session: RunModelRecord | null,
  host: PlayModelHost,
): Promise<LoadedVAE> {
  if (start.kind === "shipped") {
    const read = await shippedReader(host);
    return loadVAE("vae/model.json", { readFile: read });
  }
  if (start.kind === "run") {
    if (host.listRuns && !(await host.listRuns()).includes(start.run)) {
      throw new GamedreamError(
        "PLAY_VAE_MISSING",
        "model",
        `The world model learned on the VAE of run “${start.run}”, which is no longer stored in this browser; without it the dream cannot be decoded.`,
        { recoverable: true, details: { run: start.run } },
      );
    }
    return loadVAEFromCheckpoints(await host.openStore(start.run));
  }
  // Rebuilt exactly as ../train/session.ts built it: the run's preset and overrides, seed + 1.
  const presetName = session && PRESET_NAMES.includes(session.preset) ? session.preset : "realtime";
  const config = { ...getPreset(presetName).vae, ...session?.override?.vae } as VAEConfig;
  const vae = createVAE(config, (session?.seed ?? 0) + 1);
  return { vae, source: { kind: "weights", location: "seeded", step: null, weights: null } };
}

// ---------------------------------------------------------------------------------------------
// Importing files as runs

export interface ImportedFile {
  name: string;
  bytes: Uint8Array;
}

const isJsonFile = (f: ImportedFile) => /\.json$/i.test(f.name);
const isSafetensors = (f: ImportedFile) => /\.safetensors$/i.test(f.name);

function freeName(base: string, taken: ReadonlySet<string>): string {
  const clean = base.trim() || "imported";
  let name = clean;
  for (let i = 2; taken.has(name); i++) name = `${clean} (${i})`;
  return name;
}

function parseJsonFile(file: ImportedFile): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(file.bytes));
  } catch (e) {
    throw new GamedreamError("IMPORT_CORRUPT", "storage", `${file.name} is not valid JSON.`, {
      recoverable: true,
      cause: e,
    });
  }
}

/**
 * Stores imported model files as a new run and returns its name: a gamedream run export (`.tar`
 * from the Training or Storage page), or a `.safetensors` file whose metadata carries the model
 * config (gamedream's own export) or that comes with a config `.json` (a run export's
 * config.json, or `{kind, model, settings}`), e.g. from the PyTorch side.
 */
export async function importModelFiles(
  files: readonly ImportedFile[],
  host: { openStore(run: string): Promise<CheckpointStore>; listRuns(): Promise<string[]> },
): Promise<{ run: string; kind: string; step: number }> {
  const taken = new Set(await host.listRuns());
  const tar = files.find((f) => /\.tar$/i.test(f.name));
  if (tar) {
    const contents = readTar(tar.bytes, tar.name);
    if (!contents.has("run.json")) {
      throw new GamedreamError(
        "IMPORT_NOT_A_RUN",
        "storage",
        `${tar.name} is not a gamedream run export (it holds no run.json). Export a checkpoint on the Training page, or a run on the Storage page.`,
        { recoverable: true },
      );
    }
    const info = readRunInfo(contents, tar.name);
    const run = freeName(info.run, taken);
    const result = await importRun(contents, await host.openStore(run), tar.name);
    const kind =
      (JSON.parse(new TextDecoder().decode(contents.get("config.json"))) as { kind?: string })?.kind ?? "unknown";
    return { run, kind, step: result.info.step };
  }
  const weights = files.find(isSafetensors);
  if (!weights) {
    throw new GamedreamError(
      "IMPORT_UNKNOWN_FILE",
      "storage",
      `Choose a gamedream run export (.tar) or a .safetensors file with its config (.json); got ${files.map((f) => f.name).join(", ") || "nothing"}.`,
      { recoverable: true },
    );
  }
  const { tensors, metadata } = decodeSafetensors(weights.bytes);
  try {
    const configFile = files.find(isJsonFile);
    let kind: string = metadata.kind ?? "";
    let model: unknown = null;
    let settings: unknown = null;
    // Sampling defaults the weights record (a guidance-distilled DiT: guidanceScale 1).
    let sampling: unknown = undefined;
    let runInfo: Record<string, unknown> = { importedFrom: weights.name };
    if (configFile) {
      const parsed = parseJsonFile(configFile) as Record<string, unknown>;
      if (parsed && typeof parsed === "object" && "model" in parsed) {
        kind = typeof parsed.kind === "string" ? parsed.kind : kind;
        model = parsed.model;
        settings = parsed.settings ?? null;
        sampling = parsed.sampling;
        if (parsed.runInfo && typeof parsed.runInfo === "object")
          runInfo = { ...(parsed.runInfo as Record<string, unknown>), importedFrom: weights.name };
      } else model = parsed;
    } else if (metadata.config) {
      try {
        model = JSON.parse(metadata.config);
      } catch (e) {
        throw new GamedreamError("IMPORT_CORRUPT", "storage", `The config inside ${weights.name} is not valid JSON.`, {
          recoverable: true,
          cause: e,
        });
      }
    }
    if (!model || typeof model !== "object") {
      throw new GamedreamError(
        "IMPORT_NO_CONFIG",
        "storage",
        `${weights.name} holds weights but no model config, so the model cannot be rebuilt. Choose its config .json together with it.`,
        { recoverable: true },
      );
    }
    if (!kind) kind = "latentHeight" in (model as object) ? "dit" : "imageSize" in (model as object) ? "vae" : "";
    if (kind !== "dit" && kind !== "vae") {
      throw new GamedreamError(
        "IMPORT_NO_CONFIG",
        "storage",
        `${weights.name} does not say whether it is a DiT or a VAE; add "kind" to its config.`,
        { recoverable: true },
      );
    }
    const step = Number(metadata.step ?? 0) || 0;
    // Build the model once before storing: weights that do not fit fail here, with their names.
    const check =
      kind === "dit"
        ? ditFromStored({
            weights: tensors,
            config: { kind, model, sampling },
            source: { kind: "weights", location: weights.name, step },
          }).dit
        : vaeFromStored({ weights: tensors, config: model, source: { kind: "weights", location: weights.name, step } })
            .vae;
    check.dispose();
    const run = freeName(weights.name.replace(/\.safetensors$/i, ""), taken);
    const schedule = settings ?? (kind === "dit" ? { schedule: { ...DEFAULT_DIT_SCHEDULE } } : null);
    await saveCheckpoint(await host.openStore(run), {
      step,
      weights: tensors,
      rng: {},
      config: { kind, model, settings: schedule, runInfo, ...(sampling === undefined ? {} : { sampling }) },
      metrics: [],
    });
    return { run, kind: kind as string, step };
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}
