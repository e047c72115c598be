/**
 * The action-conditioning ablation: each change to the DiT or its training recipe that was made so
 * the world model obeys its actions, added one at a time, every variant trained for the same number
 * of steps from the same seed on the same latents, and measured on held-out levels.
 *
 *   npx tsx scripts/ablate-actions.ts --steps 600 [--work runs/shipped2] [--out docs/action-ablation]
 *        [--batch 8] [--states 16] [--samples 64] [--only NAME,...]
 *
 * WORK is a folder of scripts/train-shipped.ts (its dataset and cached latents are reused; the
 * VAE named in its plan). Each variant trains in WORK/ablation/NAME (resumable) and is evaluated
 * with the raw weights: S and D on branches of the real game (src/lib/play/action-control.ts),
 * next-frame PSNR and its gaps over shuffled actions and copy-last (src/lib/play/eval.ts).
 * Writes OUT.json (every number) and OUT.md (the table linked from the README).
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { initBackend } from "../src/lib/core/index.js";
import { DatasetReader } from "../src/lib/data/index.js";
import { DirectoryDatasetStore } from "../src/lib/data/node.js";
import {
  createDiT,
  DIT_PRESETS,
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
         [--batch 8] [--states 16] [--samples 64] [--only NAME,...]`;

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
    what: "+ action dropout 10% to a learned null action (the shipped recipe), guidance 1",
    model: {},
    train: {},
  },
  {
    name: "dropout-cfg2",
    what: "the same weights, classifier-free guidance 2 on the action at sampling",
    model: {},
    train: {},
    sampling: { guidanceScale: 2 },
  },
];

async function main(argv: string[]): Promise<void> {
  const flags = parseFlags(
    argv,
    {
      steps: { type: "int", min: 1, required: true },
      work: { type: "string", default: "runs/shipped2" },
      out: { type: "string", default: "docs/action-ablation" },
      batch: { type: "int", min: 1, default: 8 },
      states: { type: "int", min: 1, default: 16 },
      samples: { type: "int", min: 1, default: 64 },
      only: { type: "string", default: "" },
      seed: { type: "int", min: 0, default: 11 },
    },
    USAGE,
  );
  if (!flags) return;
  const started = performance.now();
  await initBackend();
  const work = path.resolve(flags.work);
  const plan = JSON.parse(await readFile(path.join(work, "plan.json"), "utf8")) as { flags: { vae?: string } };
  if (!plan.flags.vae) throw new Error(`${work} trained its own VAE; pass a work folder made with --vae`);
  const { vae } = await loadVAE(path.join(path.resolve(plan.flags.vae), "model.json"), { readFile: readFileBytes });
  const reader = await DatasetReader.open(new DirectoryDatasetStore(path.join(work, "data")));
  const { latents } = await loadOrEncodeLatents(path.join(work, "dit"), reader, vae);
  const [h, w, c] = vaeLatentShape(vae.config);
  const base: DiTConfig = { ...DIT_PRESETS.realtime, latentHeight: h, latentWidth: w, latentChannels: c };
  const branches = heldoutBranches(reader, base.contextFrames, flags.states);
  const only = flags.only.split(",").filter(Boolean);
  const outJson = `${path.resolve(flags.out)}.json`;
  const results: Record<string, unknown>[] = existsSync(outJson)
    ? ((JSON.parse(await readFile(outJson, "utf8")) as { rows: Record<string, unknown>[] }).rows ?? [])
    : [];
  const trained = new Map<string, ReturnType<typeof createDiT>>();

  for (const variant of VARIANTS) {
    if (only.length && !only.includes(variant.name)) continue;
    // A variant with only sampling changes reuses the weights of the row above.
    const weightsOf =
      variant.sampling && !Object.keys(variant.model).length && !Object.keys(variant.train).length
        ? VARIANTS[VARIANTS.indexOf(variant) - 1].name
        : variant.name;
    let dit = trained.get(weightsOf);
    let history: { step: number; loss: number; stepMs: number }[] = [];
    let msPerStep = 0;
    if (!dit) {
      dit = createDiT({ ...base, ...variant.model }, flags.seed);
      const task = createDiTTask(dit, latents, variant.train);
      const store = await FsCheckpointStore.open(path.join(work, "ablation", variant.name));
      const trainer = new Trainer(task, {
        steps: flags.steps,
        batchSize: flags.batch,
        seed: flags.seed,
        store,
        checkpointEvery: 100,
        optim: { lr: 5e-4, warmupSteps: 50 },
        yieldBetweenSteps: false,
      });
      const bar = createProgress({ total: flags.steps, label: `${variant.name} steps` });
      trainer.on(
        (e) => e.type === "metrics" && bar.update(e.step, `loss ${e.loss.toFixed(4)} ${e.stepMs.toFixed(0)} ms/step`),
      );
      const result = await trainer.run();
      bar.done();
      history = result.history;
      msPerStep = history.slice(-50).reduce((s, r) => s + r.stepMs, 0) / Math.max(1, Math.min(50, history.length));
      trainer.dispose();
      trained.set(variant.name, dit);
    }
    const model = {
      vae,
      dit,
      schedule: DEFAULT_DIT_TRAIN.schedule,
      preset: "realtime",
      sampling: PRESETS.realtime.sampling,
    } as unknown as LoadedModel;
    const settings = { steps: PRESETS.realtime.sampling.steps, ...variant.sampling };
    const control = await evaluateActionControl(model, branches, { seed: 0, settings });
    const next = await evaluateNextFrame(model, reader, { samples: flags.samples, seed: 0, settings });
    const row = {
      name: variant.name,
      what: variant.what,
      steps: flags.steps,
      batch: flags.batch,
      seed: flags.seed,
      model: { ...variant.model },
      train: { ...variant.train },
      sampling: settings,
      msPerStep: msPerStep || null,
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
      finalLoss: history.length
        ? history.slice(-50).reduce((s, r) => s + r.loss, 0) / Math.min(50, history.length)
        : null,
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
  for (const dit of trained.values()) dit.dispose();
  vae.dispose();
  console.log(
    `ablate-actions: ${results.length} rows in ${outJson} time=${formatDuration((performance.now() - started) / 1000)}`,
  );
}

type Row = {
  name: string;
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
    `Made by \`${document.command}\` (scripts/ablate-actions.ts). Every row trains the realtime DiT from the same seed for the same number of steps on the same latents (the shipped training set), adding one change to the row above; measured on held-out levels with the raw weights at the shipped sampling settings: S and D over ${document.states} branched states (src/lib/play/action-control.ts), next-frame PSNR and its gaps over ${document.samples} samples (src/lib/play/eval.ts). Brackets: 95% bootstrap intervals.`,
    "",
    "| variant | change | steps x batch | ms/step | S (median) | D (dB) | true - shuffled (dB) | true - copy-last (dB) | next frame (dB) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of document.rows as Row[]) {
    lines.push(
      `| ${r.name} | ${r.what} | ${r.steps} x ${r.batch} | ${r.msPerStep ? r.msPerStep.toFixed(0) : "-"} | ${f(r.S, 3)} | ${f(r.D, 2)} | ${f(r.shuffledGap, 2)} | ${f(r.copyLastGap, 2)} | ${r.nextFramePsnr.toFixed(2)} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

runCli(() => main(process.argv.slice(2)));
