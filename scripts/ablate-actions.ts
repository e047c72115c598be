/**
 * The action-conditioning ablation: each change to the DiT or its training recipe that was made so
 * the world model obeys its actions, added one at a time, every variant trained for the same number
 * of steps from the same seed on the same latents, and measured on held-out levels.
 *
 *   npx tsx scripts/ablate-actions.ts --steps 2000 [--work runs/shipped2] [--out docs/action-ablation]
 *        [--batch 8] [--states 32] [--samples 128] [--only NAME,...] [--trainer torch|tfjs]
 *        [--python python3] [--latents-from DIR] [--table-only]
 *
 * WORK is a folder of scripts/train-shipped.ts (its dataset and the VAE named in its plan). Each
 * variant trains from scratch (same seed) and is then measured: S and D on branches of the real
 * game (src/lib/play/action-control.ts), next-frame PSNR and its gaps over shuffled actions and
 * copy-last (src/lib/play/eval.ts), at the realtime preset's sampling settings.
 *
 * - `--trainer torch` (default, about 3x faster on CPU): the PyTorch trainer of python/ runs each
 *   variant in WORK/ablation-torch/NAME (resumable) with the same recipe names (--train/--override
 *   JSON), and the variant is measured with its exported EMA weights. The next variant trains while
 *   this process measures the previous one. Latents are encoded once: a cache found in another
 *   variant's folder (or in --latents-from DIR) is linked, not re-encoded.
 * - `--trainer tfjs`: src/lib's Trainer in this process, WORK/ablation/NAME, the raw weights.
 *
 * Writes OUT.json (every number) and OUT.md (the table linked from the README); --table-only
 * rewrites OUT.md from OUT.json.
 */
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, readdirSync } from "node:fs";
import { link, mkdir, readFile, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { initBackend } from "../src/lib/core/index.js";
import { DatasetReader } from "../src/lib/data/index.js";
import { DirectoryDatasetStore } from "../src/lib/data/node.js";
import {
  createDiT,
  type DiT,
  DIT_PRESETS,
  loadDiT,
  type DiTConfig,
  loadVAE,
  type LoadedModel,
  PRESETS,
  vaeLatentShape,
} from "../src/lib/models/index.js";
import { readFileBytes, FsCheckpointStore } from "../src/lib/storage/node.js";
import {
  Trainer,
  createDiTTask,
  DEFAULT_DIT_TRAIN,
  DIFFUSION_FORCING_TRAIN,
  type DiTTrainSettings,
} from "../src/lib/train/index.js";
import { loadOrEncodeLatents } from "../src/lib/train/node.js";
import {
  type WorldModelSettings,
  evaluateActionControl,
  evaluateNextFrame,
  heldoutBranches,
} from "../src/lib/play/index.js";
import { parseFlags, runCli } from "../cli/args.js";
import { createProgress, formatDuration } from "../cli/progress.js";

const USAGE = `usage: npx tsx scripts/ablate-actions.ts --steps N [--work runs/shipped2] [--out docs/action-ablation]
         [--batch 8] [--states 32] [--samples 128] [--only NAME,...] [--trainer torch|tfjs]
         [--python python3] [--latents-from DIR] [--table-only]`;
const LR = 5e-4;
const WARMUP = 50;

const WEAK_PATHWAY = {
  actionEmbedder: "linear",
  actionToTokens: false,
  nullAction: false,
  contextLatentInput: false,
} as const;
const OBJECTIVE = {
  lastFrameShare: DEFAULT_DIT_TRAIN.lastFrameShare,
  samplerTimestepShare: DEFAULT_DIT_TRAIN.samplerTimestepShare,
  minSnrGamma: null,
} as const;

interface Variant {
  name: string;
  what: string;
  model: Partial<DiTConfig>;
  train: Partial<DiTTrainSettings>;
  /** Sampling settings the variant is measured with. */
  sampling?: Partial<WorldModelSettings>;
}

/** Cumulative: each row adds one change to the one above. All use 3-frame clips (K = 2). */
const VARIANTS: Variant[] = [
  {
    name: "before",
    what: "diffusion forcing, uniform levels, min-SNR-5; one Linear action embedding into adaLN",
    model: WEAK_PATHWAY,
    train: { ...DIFFUSION_FORCING_TRAIN, clipLength: 3 },
  },
  {
    name: "objective",
    what: "+ last-frame clips (80%), half the targets on the sampler's timesteps, plain MSE",
    model: WEAK_PATHWAY,
    train: { ...DIFFUSION_FORCING_TRAIN, clipLength: 3, ...OBJECTIVE },
  },
  {
    name: "action-mlp",
    what: "+ action MLP, added to every token of its frame",
    model: { ...WEAK_PATHWAY, actionEmbedder: "mlp", actionToTokens: true },
    train: { ...DIFFUSION_FORCING_TRAIN, clipLength: 3, ...OBJECTIVE },
  },
  {
    name: "prev-latent",
    what: "+ previous latent stacked on the input channels",
    model: { ...WEAK_PATHWAY, actionEmbedder: "mlp", actionToTokens: true, contextLatentInput: true },
    train: { ...DIFFUSION_FORCING_TRAIN, clipLength: 3, ...OBJECTIVE },
  },
  {
    name: "dropout",
    what: "+ action dropout 10% to a learned null action (the shipped recipe), no guidance",
    model: {},
    train: {},
    sampling: { guidanceScale: 1 },
  },
  {
    name: "dropout-cfg1.5",
    what: "the same weights, classifier-free guidance 1.5 on the action (the shipped sampling)",
    model: {},
    train: {},
    sampling: { guidanceScale: 1.5 },
  },
  {
    name: "dropout-cfg2",
    what: "the same weights, classifier-free guidance 2",
    model: {},
    train: {},
    sampling: { guidanceScale: 2 },
  },
];

/** Whether two rows train the same weights (they differ in sampling only). */
function same(a: Variant, b: Variant): boolean {
  return JSON.stringify([a.model, a.train]) === JSON.stringify([b.model, b.train]);
}

interface Trained {
  dit: DiT;
  msPerStep: number | null;
  finalLoss: number | null;
}

async function main(argv: string[]): Promise<void> {
  const flags = parseFlags(
    argv,
    {
      steps: { type: "int", min: 1, required: true },
      work: { type: "string", default: "runs/shipped2" },
      out: { type: "string", default: "docs/action-ablation" },
      batch: { type: "int", min: 1, default: 8 },
      states: { type: "int", min: 1, default: 32 },
      samples: { type: "int", min: 1, default: 128 },
      only: { type: "string", default: "" },
      seed: { type: "int", min: 0, default: 11 },
      trainer: { type: "string", default: "torch" },
      python: { type: "string", default: "python3" },
      "latents-from": { type: "string", default: "" },
      "table-only": { type: "boolean", default: false },
    },
    USAGE,
  );
  if (!flags) return;
  if (flags["table-only"]) {
    // Rewrites OUT.md from OUT.json, e.g. after the table's wording changed.
    const document = JSON.parse(await readFile(`${path.resolve(flags.out)}.json`, "utf8")) as Parameters<
      typeof markdownTable
    >[0];
    await writeFile(`${path.resolve(flags.out)}.md`, markdownTable(document));
    return;
  }
  if (flags.trainer !== "torch" && flags.trainer !== "tfjs")
    throw new Error(`--trainer must be torch or tfjs, got ${flags.trainer}\n${USAGE}`);
  const started = performance.now();
  await initBackend();
  const work = path.resolve(flags.work);
  const plan = JSON.parse(await readFile(path.join(work, "plan.json"), "utf8")) as { flags: { vae?: string } };
  if (!plan.flags.vae) throw new Error(`${work} trained its own VAE; pass a work folder made with --vae`);
  const vaeFolder = path.resolve(plan.flags.vae);
  const { vae } = await loadVAE(path.join(vaeFolder, "model.json"), { readFile: readFileBytes });
  const reader = await DatasetReader.open(new DirectoryDatasetStore(path.join(work, "data")));
  const [h, w, c] = vaeLatentShape(vae.config);
  const base: DiTConfig = { ...DIT_PRESETS.realtime, latentHeight: h, latentWidth: w, latentChannels: c };
  const branches = heldoutBranches(reader, base.contextFrames, flags.states);
  const only = flags.only.split(",").filter(Boolean);
  const outJson = `${path.resolve(flags.out)}.json`;
  const results: Record<string, unknown>[] = existsSync(outJson)
    ? ((JSON.parse(await readFile(outJson, "utf8")) as { rows: Record<string, unknown>[] }).rows ?? [])
    : [];
  const chosen = VARIANTS.filter((v) => !only.length || only.includes(v.name));
  // A variant with only sampling changes is measured with the weights of the row above.
  const weightsOf = (variant: Variant): Variant => {
    const i = VARIANTS.indexOf(variant);
    const reuses = i > 0 && same(VARIANTS[i - 1], variant);
    return reuses ? weightsOf(VARIANTS[i - 1]) : variant;
  };

  // Trainings, one after another, started now: with torch each runs in its own process, so the
  // variant before is measured here while the next one trains.
  const training = new Map<string, Promise<Trained>>();
  let previous: Promise<unknown> = Promise.resolve();
  const tfjsLatents =
    flags.trainer === "tfjs" ? (await loadOrEncodeLatents(path.join(work, "dit"), reader, vae)).latents : null;
  for (const variant of chosen.map(weightsOf)) {
    if (training.has(variant.name)) continue;
    const run = (): Promise<Trained> =>
      tfjsLatents
        ? trainWithTfjs(variant, base, tfjsLatents, path.join(work, "ablation", variant.name), flags)
        : trainWithTorch(variant, path.join(work, "ablation-torch", variant.name), {
            ...flags,
            data: path.join(work, "data"),
            vae: vaeFolder,
            latentsFrom: flags["latents-from"] ? path.resolve(flags["latents-from"]) : null,
            siblings: path.join(work, "ablation-torch"),
          });
    const done = previous.then(run, run);
    done.catch(() => undefined);
    training.set(variant.name, done);
    previous = done;
  }

  for (const variant of chosen) {
    const { dit, msPerStep, finalLoss } = await training.get(weightsOf(variant).name)!;
    const model = {
      vae,
      dit,
      schedule: DEFAULT_DIT_TRAIN.schedule,
      preset: "realtime",
      sampling: PRESETS.realtime.sampling,
    } as unknown as LoadedModel;
    // The realtime preset's sampler and steps; guidance only where a row asks for it.
    const settings = { steps: PRESETS.realtime.sampling.steps, guidanceScale: 1, ...variant.sampling };
    const control = await evaluateActionControl(model, branches, { seed: 0, settings });
    const next = await evaluateNextFrame(model, reader, { samples: flags.samples, seed: 0, settings });
    const row = {
      name: variant.name,
      what: variant.what,
      trainer: flags.trainer,
      steps: flags.steps,
      batch: flags.batch,
      seed: flags.seed,
      model: { ...weightsOf(variant).model },
      train: { ...weightsOf(variant).train },
      sampling: settings,
      msPerStep,
      S: control.sensitivity,
      D: control.discrimination,
      perFactor: Object.fromEntries(
        Object.entries(control.perFactor).map(([k, v]) => [
          k,
          { S: v!.sensitivity.value, D: v!.discrimination.value, samples: v!.samples },
        ]),
      ),
      nextFramePsnr: next.nextFrame.psnr,
      nextFramePsnrInterval: next.nextFrame.psnrInterval,
      shuffledGap: next.gaps.overShuffled,
      copyLastGap: next.gaps.overCopyLast,
      finalLoss,
    };
    console.log(
      `${variant.name}: S=${control.sensitivity.value.toFixed(3)} D=${control.discrimination.value.toFixed(2)}dB shuffled gap=${next.gaps.overShuffled.value.toFixed(2)}dB next=${next.nextFrame.psnr.toFixed(2)}dB`,
    );
    const at = results.findIndex((r) => r.name === variant.name);
    if (at >= 0) results[at] = row;
    else results.push(row);
    results.sort((a, b) => VARIANTS.findIndex((v) => v.name === a.name) - VARIANTS.findIndex((v) => v.name === b.name));
    await mkdir(path.dirname(outJson), { recursive: true });
    const document = {
      createdAt: new Date().toISOString(),
      command: `npx tsx scripts/ablate-actions.ts ${argv.join(" ")}`,
      states: branches.length,
      samples: flags.samples,
      rows: results,
    };
    await writeFile(
      outJson,
      `${JSON.stringify(document, (_, v) => (typeof v === "number" && !Number.isInteger(v) ? Number(v.toPrecision(5)) : v), 1)}\n`,
    );
    await writeFile(`${path.resolve(flags.out)}.md`, markdownTable(document));
  }
  for (const t of training.values()) (await t).dit.dispose();
  vae.dispose();
  console.log(
    `ablate-actions: ${results.length} rows in ${outJson} time=${formatDuration((performance.now() - started) / 1000)}`,
  );
}

/** Trains one variant with src/lib's Trainer in this process (resumable in `folder`); the raw weights. */
async function trainWithTfjs(
  variant: Variant,
  base: DiTConfig,
  latents: Parameters<typeof createDiTTask>[1],
  folder: string,
  flags: { steps: number; batch: number; seed: number },
): Promise<Trained> {
  const dit = createDiT({ ...base, ...variant.model }, flags.seed);
  const task = createDiTTask(dit, latents, variant.train);
  const store = await FsCheckpointStore.open(folder);
  const trainer = new Trainer(task, {
    steps: flags.steps,
    batchSize: flags.batch,
    seed: flags.seed,
    store,
    checkpointEvery: 100,
    optim: { lr: LR, warmupSteps: WARMUP },
    yieldBetweenSteps: false,
  });
  const bar = createProgress({ total: flags.steps, label: `${variant.name} steps` });
  trainer.on(
    (e) => e.type === "metrics" && bar.update(e.step, `loss ${e.loss.toFixed(4)} ${e.stepMs.toFixed(0)} ms/step`),
  );
  const { history } = await trainer.run();
  bar.done();
  trainer.dispose();
  const recent = history.slice(-50);
  const mean = (f: (r: (typeof history)[number]) => number) =>
    recent.length ? recent.reduce((s, r) => s + f(r), 0) / recent.length : null;
  return { dit, msPerStep: mean((r) => r.stepMs), finalLoss: mean((r) => r.loss) };
}

/**
 * Trains one variant with the PyTorch trainer (python/gamedream_torch/train.py) in `folder`
 * (resumable) and loads its exported EMA weights. Its progress goes to `folder`/train.log.
 */
async function trainWithTorch(
  variant: Variant,
  folder: string,
  o: {
    steps: number;
    batch: number;
    seed: number;
    python: string;
    data: string;
    vae: string;
    latentsFrom: string | null;
    siblings: string;
  },
): Promise<Trained> {
  await mkdir(path.join(folder, "torch"), { recursive: true });
  await linkLatentCaches(path.join(folder, "torch"), [o.latentsFrom, ...siblingTorchFolders(o.siblings, folder)]);
  const args = [
    "-m",
    "gamedream_torch.train",
    "--preset",
    "realtime",
    "--data",
    o.data,
    "--vae",
    o.vae,
    "--out",
    folder,
    "--steps",
    String(o.steps),
    "--batch",
    String(o.batch),
    "--lr",
    String(LR),
    "--warmup",
    String(WARMUP),
    "--seed",
    String(o.seed),
    "--threads",
    "1",
    "--checkpoint-every",
    "250",
    "--train",
    JSON.stringify(variant.train),
    "--override",
    JSON.stringify(variant.model),
  ];
  const [command, ...prefix] = o.python.split(" ").filter(Boolean);
  console.log(`${variant.name}: training with PyTorch in ${folder} (log: ${path.join(folder, "train.log")})`);
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn(command, [...prefix, ...args], {
      env: { ...process.env, PYTHONPATH: path.resolve("python"), OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    // Progress streams to the log file as it comes; only the last lines stay for an error message.
    const logFile = createWriteStream(path.join(folder, "train.log"));
    let out = "";
    let tail = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      logFile.write(d);
      tail = (tail + d.toString()).slice(-4000);
    });
    child.on("error", reject);
    child.on("close", (code) =>
      logFile.end(() =>
        code === 0
          ? resolve(out)
          : reject(
              new Error(
                `${variant.name}: the PyTorch trainer exited with ${code}:\n${tail.split("\n").slice(-8).join("\n")}`,
              ),
            ),
      ),
    );
  });
  const summary = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
    state: string;
    loss: number | null;
    msPerStep: number | null;
  };
  if (summary.state !== "done") throw new Error(`${variant.name}: the PyTorch run stopped early (${summary.state})`);
  const { dit } = await loadDiT(path.join(folder, "weights", "dit", "model.json"), { readFile: readFileBytes });
  return { dit, msPerStep: summary.msPerStep, finalLoss: summary.loss };
}

function siblingTorchFolders(root: string, self: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => path.join(root, name))
    .filter((dir) => dir !== self)
    .map((dir) => path.join(dir, "torch"));
}

/** Hard-links every cached latent file (named by dataset and VAE) found in `sources` into `target`. */
async function linkLatentCaches(target: string, sources: (string | null)[]): Promise<void> {
  for (const source of sources) {
    if (!source || !existsSync(source)) continue;
    for (const name of readdirSync(source)) {
      if (!/^latents-train-[0-9a-f]+\.pt$/.test(name) || existsSync(path.join(target, name))) continue;
      await link(path.join(source, name), path.join(target, name));
    }
  }
}

type Row = {
  name: string;
  trainer?: string;
  perFactor?: Record<string, { S: number; D: number; samples: number }>;
  what: string;
  steps: number;
  batch: number;
  S: { value: number; low: number; high: number };
  D: { value: number; low: number; high: number };
  shuffledGap: { value: number; low: number; high: number };
  copyLastGap: { value: number; low: number; high: number };
  nextFramePsnr: number;
  msPerStep: number | null;
};

/** The turning (yaw) pairs alone: the factor every variant learns first. */
function yaw(r: Row): string {
  const y = r.perFactor?.yaw;
  return y ? `${y.S.toFixed(3)} / ${y.D.toFixed(2)}` : "-";
}

function trainedBy(rows: Row[]): string {
  const trainers = new Set(rows.map((r) => r.trainer ?? "tfjs"));
  if (trainers.size > 1) return "rows were trained by different trainers (see the JSON).";
  return trainers.has("torch")
    ? "trained by the PyTorch trainer (python/gamedream_torch, one CPU thread) and measured with its EMA weights, as exported."
    : "trained by src/lib's Trainer (tfjs) and measured with the raw weights.";
}

function markdownTable(document: {
  command: string;
  states: number;
  samples: number;
  rows: Record<string, unknown>[];
}): string {
  const f = (e: { value: number; low: number; high: number }, digits: number) =>
    `${e.value.toFixed(digits)} [${e.low.toFixed(digits)}, ${e.high.toFixed(digits)}]`;
  const lines = [
    "# Action-conditioning ablation",
    "",
    `Made by \`${document.command}\` (scripts/ablate-actions.ts). Every row trains the realtime DiT from scratch, from the same seed, for the same number of steps on the same latents (the shipped training set: 160 levels x 200 frames), adding one change to the row above; ${trainedBy(document.rows as Row[])} Measured on held-out levels with the realtime preset's sampler (1 DDIM step, context pass), without action guidance unless the row says otherwise: S and D over ${document.states} branched states of the real game (src/lib/play/action-control.ts), next-frame PSNR and its gaps over ${document.samples} samples (src/lib/play/eval.ts). Brackets: 95% bootstrap intervals over states or samples.`,
    "",
    "| variant | change | steps x batch | ms/step | S (median) | D (dB) | turning: S / D (dB) | true - shuffled (dB) | true - copy-last (dB) | next frame (dB) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of document.rows as Row[]) {
    lines.push(
      `| ${r.name} | ${r.what} | ${r.steps} x ${r.batch} | ${r.msPerStep ? r.msPerStep.toFixed(0) : "-"} | ${f(r.S, 3)} | ${f(r.D, 2)} | ${yaw(r)} | ${f(r.shuffledGap, 2)} | ${f(r.copyLastGap, 2)} | ${r.nextFramePsnr.toFixed(2)} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

runCli(() => main(process.argv.slice(2)));
