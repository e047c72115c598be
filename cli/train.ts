/**
 * Trains a model of a preset on a dataset folder, resumably.
 *
 *   npm run train -- --preset realtime --data DIR --steps N --out RUN
 *        [--model dit|vae] [--vae weights/realtime/vae] [--batch 4] [--lr 3e-4] [--warmup 100]
 *        [--seed 0] [--clip-length 5] [--checkpoint-every 100] [--keep 3] [--minutes M]
 *        [--override '{"hidden":64}'] [--init weights/realtime] [--probe-every 100]
 *
 * --init fine-tunes a trained model instead of a seeded one: a weights folder (its dit/ or vae/
 * model.json), a run's model/ folder or a model.json, checksums verified; its architecture wins
 * over the preset (no --override with it), and a DiT keeps the noise schedule it was trained with.
 *
 * RUN/run.json records the run's settings; when RUN exists the run resumes from its newest good
 * checkpoint (RUN/checkpoints) with those settings, so `npm run train -- --out RUN` alone carries
 * on. The DiT trains on latents pre-encoded once by the VAE (cached in RUN). Ctrl-C saves a
 * checkpoint and exits; a second Ctrl-C exits at once. At the end the EMA weights are written to
 * RUN/model (model.json + shards with SHA-256). Progress on stderr, one summary line on stdout.
 *
 * A DiT run logs its action sensitivity S every `--probe-every` steps (0 = never) in the progress
 * line and in the checkpoints' metrics (`extras.actionS`): the latent-space S on a few branches of
 * the real game from the dataset's held-out levels (src/lib/play/action-control.ts). 0
 * means the model ignores its actions; a healthy run climbs within a few hundred steps.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { DatasetReader } from "../src/lib/data/index.js";
import { DirectoryDatasetStore } from "../src/lib/data/node.js";
import { initBackend, GamedreamError, Rng } from "../src/lib/core/index.js";
import type { ScheduleConfig } from "../src/lib/diffusion/index.js";
import {
  createDiT,
  type DiT,
  type DiTConfig,
  PRESET_NAMES,
  getPreset,
  loadDiT,
  loadVAE,
  type ModelSource,
  createVAE,
  estimateLatentScale,
  type VAE,
  type VAEConfig,
} from "../src/lib/models/index.js";
import { assignWeights, listCheckpoints } from "../src/lib/storage/index.js";
import { FsCheckpointStore, readFileBytes } from "../src/lib/storage/node.js";
import {
  DEFAULT_DIT_TRAIN,
  Trainer,
  datasetFrameSource,
  ditConfigForVAE,
  modelExport,
  recentMean,
  setupDiTTask,
  setupVAETask,
  type DiTStart,
  type TrainTask,
  type VAESetupOptions,
} from "../src/lib/train/index.js";
import { actionSensitivityProbe, heldoutBranches } from "../src/lib/play/index.js";
import { loadOrEncodeLatents, writeModelDir } from "../src/lib/train/node.js";
import { badFlag, jsonFlag, parseFlags, runCli } from "./args.js";
import { createProgress, formatDuration, summaryLine } from "./progress.js";

const USAGE = `usage: npm run train -- --preset ${PRESET_NAMES.join("|")} --data DIR --steps N --out RUN
         [--model dit|vae] [--vae DIR] [--batch 4] [--lr 3e-4] [--warmup 100] [--seed 0]
         [--clip-length 3] [--checkpoint-every 100] [--keep 3] [--minutes M] [--override JSON] [--init DIR] [--probe-every 100]
  Resumes when RUN exists (its run.json holds the settings).`;

/** Settings that define a run; stored in RUN/run.json and reused on resume. */
interface RunSettings {
  model: "dit" | "vae";
  preset: string;
  data: string;
  vae: string | null;
  batch: number;
  lr: number;
  warmup: number;
  seed: number;
  clipLength: number;
  override: Record<string, unknown>;
  /** The model.json the run started from (--init), or null for a seeded start. */
  init: string | null;
}

const DEFAULTS: Omit<RunSettings, "data" | "vae"> = {
  model: "dit",
  preset: "realtime",
  batch: 4,
  lr: 3e-4,
  warmup: 100,
  seed: 0,
  clipLength: DEFAULT_DIT_TRAIN.clipLength,
  override: {},
  init: null,
};

/** The model.json --init names for a model of `kind`: the file itself, DIR/model.json or DIR/KIND/model.json. */
function resolveInit(given: string, kind: RunSettings["model"]): string {
  const candidates = given.endsWith(".json")
    ? [given]
    : [path.join(given, "model.json"), path.join(given, kind, "model.json")];
  const found = candidates.find((c) => existsSync(c));
  if (!found)
    throw badFlag(
      `--init ${given} holds no ${kind === "dit" ? "DiT" : "VAE"} model: looked for ${candidates.join(" and ")}.`,
      USAGE,
    );
  return path.resolve(found);
}

async function readRunSettings(runDir: string): Promise<RunSettings | null> {
  try {
    return JSON.parse(await readFile(path.join(runDir, "run.json"), "utf8")) as RunSettings;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new GamedreamError(
      "RUN_CORRUPT",
      "training",
      `${path.join(runDir, "run.json")} is unreadable (${(e as Error).message}); move the run folder away or fix the file.`,
      { recoverable: false },
    );
  }
}

async function main(argv: string[]): Promise<void> {
  const flags = parseFlags(
    argv,
    {
      preset: { type: "string", choices: PRESET_NAMES },
      model: { type: "string", choices: ["dit", "vae"] },
      data: { type: "string" },
      vae: { type: "string" },
      steps: { type: "int", min: 1, required: true },
      out: { type: "string", required: true },
      batch: { type: "int", min: 1 },
      lr: { type: "number", min: 0 },
      warmup: { type: "int", min: 0 },
      seed: { type: "int", min: 0 },
      "clip-length": { type: "int", min: 2 },
      "checkpoint-every": { type: "int", min: 1, default: 100 },
      keep: { type: "int", min: 1, default: 3 },
      minutes: { type: "number", min: 0 },
      override: { type: "string" },
      init: { type: "string" },
      "probe-every": { type: "int", min: 0, default: 100 },
    },
    USAGE,
  );
  if (!flags) return;
  const runDir = path.resolve(flags.out);
  const stored = await readRunSettings(runDir);
  const given: Partial<RunSettings> = {
    model: flags.model as RunSettings["model"] | undefined,
    preset: flags.preset,
    data: flags.data === undefined ? undefined : path.resolve(flags.data),
    vae: flags.vae === undefined ? undefined : path.resolve(flags.vae),
    batch: flags.batch,
    lr: flags.lr,
    warmup: flags.warmup,
    seed: flags.seed,
    clipLength: flags["clip-length"],
    override: flags.override === undefined ? undefined : jsonFlag("override", flags.override, USAGE),
    init:
      flags.init === undefined
        ? undefined
        : resolveInit(flags.init, (flags.model as RunSettings["model"] | undefined) ?? DEFAULTS.model),
  };
  if (stored) {
    for (const [key, value] of Object.entries(given)) {
      if (value !== undefined && JSON.stringify(value) !== JSON.stringify(stored[key as keyof RunSettings])) {
        throw badFlag(
          `${runDir} is a run with ${key} = ${JSON.stringify(stored[key as keyof RunSettings])}; resume it without --${key}, or pass another --out for a new run.`,
          USAGE,
        );
      }
    }
  }
  const model = given.model ?? stored?.model ?? DEFAULTS.model;
  const preset = getPreset(given.preset ?? stored?.preset ?? DEFAULTS.preset);
  const settings: RunSettings = {
    ...DEFAULTS,
    ...stored,
    ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)),
    model,
    preset: preset.name,
    data: given.data ?? stored?.data ?? path.resolve("data/game"),
    vae: model === "vae" ? null : (given.vae ?? stored?.vae ?? path.resolve(`weights/${preset.name}/vae`)),
  };
  if (settings.init && Object.keys(settings.override).length) {
    throw badFlag(`--init takes the architecture of ${settings.init}; --override cannot change it.`, USAGE);
  }
  if (!existsSync(path.join(settings.data, "manifest.json"))) {
    throw badFlag(
      `There is no dataset in ${settings.data}; build one with \`npm run dataset -- --episodes 8 --frames 128 --out ${path.relative(".", settings.data) || "."}\` or pass --data DIR.`,
      USAGE,
    );
  }

  // Opening checks every shard's SHA-256: a damaged dataset stops here (DATASET_CORRUPT), before
  // the run folder is created or touched.
  const dataStore = new DirectoryDatasetStore(settings.data);
  const reader = await DatasetReader.open(dataStore);
  const backend = await initBackend();
  await mkdir(runDir, { recursive: true });
  await writeFile(path.join(runDir, "run.json"), `${JSON.stringify(settings, null, 2)}\n`);

  // --init gives the architecture (and a DiT's schedule) on every start of the run; its weights
  // matter only to a new run: a resumed one overwrites them with its checkpoint's.
  const store = await FsCheckpointStore.open(runDir);
  const resuming = (await listCheckpoints(store)).length > 0;
  const startsFrom = (source: ModelSource) => {
    if (!resuming)
      process.stderr.write(
        `init: fine-tuning ${settings.init} (${source.weights ?? "raw"} weights of step ${source.step ?? "?"})\n`,
      );
  };

  let task: TrainTask<unknown>;
  let vaeConfig: VAEConfig | null = null;
  let probeVae: VAE | null = null;
  /** The action probe of a DiT run: latent S on branches of held-out levels (none without any). */
  const actionProbe = (dit: DiT, schedule: ScheduleConfig) => {
    if (!probeVae || flags["probe-every"] === 0) return undefined;
    const probe = actionSensitivityProbe(
      probeVae,
      (K) => heldoutBranches(reader, K, 12),
      flags["probe-every"],
    )(dit, schedule);
    if (!probe)
      process.stderr.write(
        "note: the dataset has no held-out game levels, so the action sensitivity S is not logged\n",
      );
    return probe;
  };
  if (settings.model === "vae") {
    let start: VAESetupOptions["start"];
    if (settings.init) {
      const loaded = await loadVAE(settings.init, { readFile: readFileBytes });
      startsFrom(loaded.source);
      start = { from: "weights", vae: loaded.vae };
    } else {
      start = { from: "config", config: { ...preset.vae, ...settings.override } as VAEConfig, seed: settings.seed };
    }
    task = setupVAETask({ start, frames: datasetFrameSource(reader, "train") });
  } else {
    if (!existsSync(path.join(settings.vae!, "model.json"))) {
      throw badFlag(
        `The DiT trains on latents of a VAE, and ${settings.vae} has no model.json; train one with --model vae, or pass --vae DIR.`,
        USAGE,
      );
    }
    const { vae } = await loadVAE(path.join(settings.vae!, "model.json"), { readFile: readFileBytes });
    vaeConfig = vae.config;
    const bar = createProgress({
      total: reader.episodes("train").reduce((n, e) => n + e.frameCount, 0),
      label: "frames encoded",
    });
    const { latents, cached } = await loadOrEncodeLatents(runDir, reader, vae, {
      onProgress: (done) => bar.update(done),
    });
    bar.done(cached ? "(cached)" : undefined);
    probeVae = vae;
    let start: DiTStart;
    if (settings.init) {
      const loaded = await loadDiT(settings.init, { readFile: readFileBytes });
      start = { from: "weights", dit: loaded.dit, schedule: loaded.schedule, name: settings.init };
      startsFrom(loaded.source);
    } else {
      start = {
        from: "config",
        config: ditConfigForVAE(preset.dit, vaeConfig, settings.override as Partial<DiTConfig>),
        seed: settings.seed,
      };
    }
    task = setupDiTTask({
      start,
      vae: vaeConfig,
      vaeName: `the VAE ${settings.vae} (--vae)`,
      latents,
      settings: { clipLength: settings.clipLength },
      probe: actionProbe,
    });
  }

  const trainer = new Trainer(task, {
    steps: flags.steps,
    batchSize: settings.batch,
    seed: settings.seed,
    store,
    checkpointEvery: flags["checkpoint-every"],
    keep: flags.keep,
    optim: { lr: settings.lr, warmupSteps: settings.warmup },
    runInfo: { ...settings, backend: backend.backend },
  });

  let bar: ReturnType<typeof createProgress> | null = null;
  let firstStep = 0;
  let actionS: number | null = null;
  trainer.on((e) => {
    if (e.type === "resumed") {
      process.stderr.write(`resumed ${runDir} from step ${e.step} (${e.id})\n`);
    } else if (e.type === "message") {
      process.stderr.write(`${e.level}[${e.code}]: ${e.text}\n`);
    } else if (e.type === "state" && e.state === "running" && !bar) {
      // Counts steps of this session, so rate and ETA stay true after a resume.
      firstStep = e.step;
      bar = createProgress({ total: flags.steps - firstStep, label: "steps" });
    } else if (e.type === "checkpoint") {
      bar?.update(e.step - firstStep, `step ${e.step}/${flags.steps} checkpoint ${e.id}`);
    } else if (e.type === "metrics") {
      if (e.extras.actionS !== undefined) actionS = e.extras.actionS;
      const s = actionS === null ? "" : ` S ${actionS.toFixed(3)}`;
      bar?.update(
        e.step - firstStep,
        `step ${e.step}/${flags.steps} loss ${e.loss.toFixed(4)}${s} lr ${e.lr.toExponential(1)} ${e.stepMs.toFixed(0)} ms/step`,
      );
    }
  });
  let interrupts = 0;
  process.on("SIGINT", () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    process.stderr.write(`\nstopping: saving a checkpoint of step ${trainer.step} (Ctrl-C again to quit without it)\n`);
    trainer.stop();
  });
  const timer = flags.minutes === undefined ? null : setTimeout(() => trainer.stop(), flags.minutes * 60_000);
  const result = await trainer.run();
  if (timer) clearTimeout(timer);
  // Set by the metrics listener (TypeScript does not see assignments inside the callback).
  const lastS = actionS as number | null;
  (bar as ReturnType<typeof createProgress> | null)?.done();

  const modelDir = path.join(runDir, "model");
  if (result.state === "done") {
    if (settings.model === "vae") {
      const vae = task.model as ReturnType<typeof createVAE>;
      // Fit the latent scale on training frames (EMA weights, the ones shipped) and keep it in the
      // final checkpoint too, so loaders of either find the scale the DiT will be trained with.
      const frames = await datasetFrameSource(reader, "train").sampleFrames(new Rng(settings.seed), 32);
      const shipped = createVAE(vae.config, 0);
      assignWeights(shipped, trainer.emaWeights ?? vae.variables());
      const scale = await estimateLatentScale(shipped, frames);
      frames.dispose();
      shipped.setLatentScale(scale);
      await writeModelDir(
        modelDir,
        modelExport("vae", shipped, result.step, { ema: trainer.emaWeights ? shipped.variables() : null }),
      );
      shipped.dispose();
      vae.setLatentScale(scale);
      await trainer.saveCheckpoint();
    } else {
      await writeModelDir(
        modelDir,
        modelExport("dit", task.model as ReturnType<typeof createDiT>, result.step, {
          ema: trainer.emaWeights,
          settings: task.settings,
          extra: { vae: settings.vae, vaeLatentScale: vaeConfig?.latentScale },
        }),
      );
    }
  }
  console.log(
    summaryLine("train", {
      run: runDir,
      model: settings.model,
      preset: preset.name,
      state: result.state,
      step: result.step,
      resumedFrom: result.resumedFrom,
      loss: Number(recentMean(result.history, 20).toPrecision(4)),
      ...(lastS === null ? {} : { S: Number(lastS.toPrecision(3)) }),
      msPerStep: Math.round(recentMean(result.history, 20, "stepMs")),
      batch: trainer.currentBatchSize,
      time: formatDuration(result.seconds),
      ...(result.state === "done" ? { weights: modelDir } : {}),
    }),
  );
  trainer.dispose();
  task.model.dispose();
  probeVae?.dispose();
  await dataStore.close();
}

runCli(() => main(process.argv.slice(2)));
