/**
 * Produces the shipped realtime weights: weights/realtime/{vae,dit}/model.json + shards (SHA-256 in
 * each manifest) and weights/realtime/report.json.
 *
 *   npx tsx scripts/train-shipped.ts --minutes 100 --vae weights/realtime/vae
 *        [--episodes 160] [--frames 200] [--seed 7] [--agents random-jitter,wall-jitter,explorer-jitter]
 *        [--batch 8] [--lr 5e-4] [--probe-every 200] [--vae-share 0.35] [--rollout-frames 300]
 *        [--out weights/realtime] [--work runs/shipped]
 *
 * 1. A dataset of built-in game episodes played by the scripted agents (fixed seeds; a quarter of
 *    the level seeds held out, never trained on) in WORK/data. The default agents break their
 *    scripted action streams with random bursts (src/lib/game/agents.ts), so the next frame cannot
 *    be told from past motion alone.
 * 2. The realtime VAE: `--vae DIR` reuses a trained one (its latents stay valid for the DiT);
 *    without it a VAE is trained for `vae-share` of the budget and exported with the latent scale
 *    fitted on training frames.
 * 3. The training frames encoded once to latents (cached in WORK/dit); the realtime DiT trained on
 *    them for the rest of the budget with the default recipe (src/lib/train/dit-task.ts). Every
 *    `probe-every` steps the latent action sensitivity S on held-out branches of the real game is
 *    logged (src/lib/play/action-control.ts), so a run that ignores its actions shows it.
 * 4. Held-out evaluation with src/lib/play/eval.ts, written with the training record to
 *    report.json.
 * Step counts come from the budget and a measured step time (a few probe steps), so the learning
 * rate schedule ends when the time does. Both phases checkpoint to WORK (resumable: rerunning with
 * the same flags continues from the last checkpoint, with the step counts planned the first time).
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { initBackend, Rng, relativizeReport } from "../src/lib/core/index.js";
import { countParameters } from "../src/lib/nn/index.js";
import { DatasetReader, buildDataset, gameEpisodeSources } from "../src/lib/data/index.js";
import { DirectoryDatasetStore } from "../src/lib/data/node.js";
import {
  createDiT,
  loadModelFromWeights,
  loadVAE,
  PRESETS,
  createVAE,
  estimateLatentScale,
  type VAE,
} from "../src/lib/models/index.js";
import {
  Trainer,
  datasetFrameSource,
  ditConfigForVAE,
  modelExport,
  recentMean,
  setupDiTTask,
  setupVAETask,
  type TrainTask,
  type TrainerOptions,
} from "../src/lib/train/index.js";
import { assignWeights } from "../src/lib/storage/index.js";
import { readFileBytes, FsCheckpointStore } from "../src/lib/storage/node.js";
import { loadOrEncodeLatents, writeModelDir } from "../src/lib/train/node.js";
import { actionSensitivityProbe, evaluateModel, heldoutBranches } from "../src/lib/play/index.js";
import { parseFlags, runCli } from "../cli/args.js";
import { createProgress, formatDuration, type Progress } from "../cli/progress.js";

const USAGE = `usage: npx tsx scripts/train-shipped.ts --minutes M [--vae DIR] [--episodes 160] [--frames 200] [--seed 7]
         [--agents random-jitter,wall-jitter,explorer-jitter] [--batch 8] [--lr 5e-4] [--probe-every 200]
         [--vae-share 0.35] [--rollout-frames 300] [--out weights/realtime] [--work runs/shipped]`;

interface Plan {
  flags: Record<string, unknown>;
  vaeSteps?: number;
  ditSteps?: number;
}

/** Median ms of a few steps of a throwaway trainer on the same task (weights are reset after). */
async function probeStepMs(makeTask: () => TrainTask<unknown>, batchSize: number): Promise<number> {
  const task = makeTask();
  const trainer = new Trainer(task, { steps: 4, batchSize, yieldBetweenSteps: false });
  const ms: number[] = [];
  trainer.on((e) => e.type === "metrics" && ms.push(e.stepMs));
  await trainer.run();
  trainer.dispose();
  task.model.dispose();
  return ms.slice(1).sort((a, b) => a - b)[1];
}

async function trainPhase(
  name: string,
  task: TrainTask<unknown>,
  options: TrainerOptions,
  minutes: number,
): Promise<{ trainer: Trainer<unknown>; seconds: number }> {
  const trainer = new Trainer(task, options);
  const bar = createProgress({ total: options.steps, label: `${name} steps` });
  let lastS: number | null = null;
  trainer.on((e) => {
    if (e.type === "metrics") {
      if (e.extras.actionS !== undefined) lastS = e.extras.actionS;
      bar.update(
        e.step,
        `loss ${e.loss.toFixed(4)} ${e.stepMs.toFixed(0)} ms/step${lastS === null ? "" : ` S ${lastS.toFixed(3)}`}`,
      );
    }
    if (e.type === "resumed") process.stderr.write(`${name}: resumed from step ${e.step}\n`);
    if (e.type === "message") process.stderr.write(`${name}: ${e.level}[${e.code}] ${e.text}\n`);
  });
  // The plan fits the budget; the deadline only guards against a slower machine than measured.
  const timer = setTimeout(() => trainer.stop(), minutes * 60_000 * 1.25);
  const result = await trainer.run();
  clearTimeout(timer);
  bar.done();
  return { trainer, seconds: result.seconds };
}

async function main(argv: string[]): Promise<void> {
  const flags = parseFlags(
    argv,
    {
      minutes: { type: "number", min: 0.1, required: true },
      vae: { type: "string" },
      episodes: { type: "int", min: 2, default: 160 },
      frames: { type: "int", min: 8, default: 200 },
      seed: { type: "int", min: 0, default: 7 },
      agents: { type: "string", default: "random-jitter,wall-jitter,explorer-jitter" },
      batch: { type: "int", min: 1, default: 8 },
      lr: { type: "number", min: 0, default: 5e-4 },
      "probe-every": { type: "int", min: 1, default: 200 },
      "vae-share": { type: "number", min: 0.05, max: 0.95, default: 0.35 },
      "rollout-frames": { type: "int", min: 0, default: 300 },
      out: { type: "string", default: "weights/realtime" },
      work: { type: "string", default: "runs/shipped" },
    },
    USAGE,
  );
  if (!flags) return;
  const started = performance.now();
  const backend = await initBackend();
  const preset = PRESETS.realtime;
  const out = path.resolve(flags.out);
  const work = path.resolve(flags.work);
  await mkdir(work, { recursive: true });
  const planFile = path.join(work, "plan.json");
  const plan: Plan = existsSync(planFile) ? JSON.parse(await readFile(planFile, "utf8")) : { flags };
  if (JSON.stringify(plan.flags) !== JSON.stringify(flags))
    throw new Error(`${work} was planned with other flags (${JSON.stringify(plan.flags)}); use another --work folder`);
  const savePlan = () => writeFile(planFile, `${JSON.stringify(plan, null, 2)}\n`);
  const batchSize = flags.batch;
  const agents = flags.agents.split(",").filter(Boolean);

  // 1. Dataset (built once; level seeds drawn from --seed, a quarter held out).
  const dataDir = path.join(work, "data");
  const dataStore = new DirectoryDatasetStore(dataDir);
  if (!existsSync(path.join(dataDir, "manifest.json"))) {
    const bar = createProgress({ total: flags.episodes * flags.frames, label: "frames" });
    await buildDataset(
      dataStore,
      gameEpisodeSources({ seed: flags.seed, episodes: flags.episodes, frames: flags.frames, agents }),
      {
        heldoutFraction: 0.25,
        splitSeed: flags.seed,
        createdWith: {
          tool: "scripts/train-shipped.ts",
          episodes: flags.episodes,
          frames: flags.frames,
          seed: flags.seed,
          agents,
        },
        onProgress: (p) => bar.update(p.framesDone),
      },
    );
    bar.done();
  }
  const reader = await DatasetReader.open(dataStore);
  const frames = datasetFrameSource(reader, "train");

  // 2. VAE: a given one, or trained here.
  const vaeMinutes = flags.vae ? 0 : flags.minutes * flags["vae-share"];
  let vaeRecord: Record<string, unknown>;
  let vae: VAE;
  if (flags.vae) {
    const loaded = await loadVAE(path.join(path.resolve(flags.vae), "model.json"), { readFile: readFileBytes });
    vae = loaded.vae;
    await writeModelDir(path.join(out, "vae"), modelExport("vae", vae, loaded.source.step ?? 0, {}));
    vaeRecord = { reused: path.resolve(flags.vae), steps: loaded.source.step, parameters: countParameters(vae) };
  } else {
    const makeVAETask = () => setupVAETask({ start: { from: "config", config: preset.vae, seed: flags.seed }, frames });
    if (plan.vaeSteps === undefined) {
      plan.vaeSteps = Math.max(20, Math.floor((vaeMinutes * 60_000) / (await probeStepMs(makeVAETask, batchSize))));
      await savePlan();
    }
    const vaeTask = makeVAETask();
    const vaeRun = await trainPhase(
      "vae",
      vaeTask,
      {
        steps: plan.vaeSteps,
        batchSize,
        seed: flags.seed,
        store: await FsCheckpointStore.open(path.join(work, "vae")),
        checkpointEvery: 200,
        optim: { lr: 1e-3, warmupSteps: 50 },
      },
      vaeMinutes,
    );
    vae = createVAE(preset.vae, 0);
    assignWeights(vae, vaeRun.trainer.emaWeights ?? vaeTask.model.variables());
    const scaleFrames = await frames.sampleFrames(new Rng(flags.seed), 32);
    vae.setLatentScale(await estimateLatentScale(vae, scaleFrames));
    scaleFrames.dispose();
    await writeModelDir(
      path.join(out, "vae"),
      modelExport("vae", vae, vaeRun.trainer.step, { ema: vaeRun.trainer.emaWeights ? vae.variables() : null }),
    );
    vaeRecord = { ...phaseRecord(vaeRun, countParameters(vae)), settings: vaeTask.settings };
    vaeRun.trainer.dispose();
    vaeTask.model.dispose();
  }

  // 3. DiT on latents encoded once.
  const bar = createProgress({
    total: reader.episodes("train").reduce((n, e) => n + e.frameCount, 0),
    label: "frames encoded",
  });
  const { latents } = await loadOrEncodeLatents(path.join(work, "dit"), reader, vae, {
    onProgress: (done) => bar.update(done),
  });
  bar.done();
  const ditConfig = ditConfigForVAE(preset.dit, vae.config);
  // The action probe: held-out levels branched at a few states, encoded once.
  const probe = actionSensitivityProbe(vae, (K) => heldoutBranches(reader, K, 16), flags["probe-every"]);
  const makeDiTTask = (withProbe: boolean) =>
    setupDiTTask({
      start: { from: "config", config: ditConfig, seed: flags.seed },
      vae: vae.config,
      latents,
      probe: withProbe ? probe : undefined,
    });
  const ditMinutes = flags.minutes - vaeMinutes;
  if (plan.ditSteps === undefined) {
    plan.ditSteps = Math.max(
      20,
      Math.floor((ditMinutes * 60_000) / (await probeStepMs(() => makeDiTTask(false), batchSize))),
    );
    await savePlan();
  }
  const ditTask = makeDiTTask(true);
  const ditRun = await trainPhase(
    "dit",
    ditTask,
    {
      steps: plan.ditSteps,
      batchSize,
      seed: flags.seed,
      store: await FsCheckpointStore.open(path.join(work, "dit")),
      checkpointEvery: 200,
      optim: { lr: flags.lr, warmupSteps: 100 },
    },
    ditMinutes,
  );
  await writeModelDir(
    path.join(out, "dit"),
    modelExport("dit", ditTask.model as ReturnType<typeof createDiT>, ditRun.trainer.step, {
      ema: ditRun.trainer.emaWeights,
      settings: ditTask.settings,
      extra: { vaeLatentScale: vae.config.latentScale },
    }),
  );
  const ditRecord = {
    ...phaseRecord(ditRun, countParameters(ditTask.model)),
    actionSensitivityCurve: ditRun.trainer.history
      .filter((r) => r.extras?.actionS !== undefined)
      .map((r) => [r.step, r.extras!.actionS]),
  };
  ditRun.trainer.dispose();
  ditTask.model.dispose();
  probe.dispose();
  vae.dispose();

  // 4. Held-out evaluation of the shipped files, loaded back with their checksums verified.
  const model = await loadModelFromWeights(out, { readFile: readFileBytes });
  let evalBar: Progress | null = null;
  let evalPhase = "";
  const evaluation = await evaluateModel(model, reader, {
    rolloutFrames: flags["rollout-frames"],
    samples: 128,
    onProgress: (phase, done, total) => {
      if (phase !== evalPhase) {
        evalBar?.done();
        evalBar = createProgress({ total, label: `${phase} frames` });
        evalPhase = phase;
      }
      evalBar!.update(done);
    },
  });
  (evalBar as Progress | null)?.done();
  model.dispose();
  await dataStore.close();

  const report = {
    createdAt: new Date().toISOString(),
    command: `npx tsx scripts/train-shipped.ts ${argv.join(" ")}`.trim(),
    backend: backend.backend,
    preset: "realtime",
    dataset: {
      seed: flags.seed,
      episodes: flags.episodes,
      framesPerEpisode: flags.frames,
      agents,
      train: reader.manifest.split.train,
      heldout: reader.manifest.split.heldout,
      heldoutSeeds: reader.episodes("heldout").map((e) => e.seed),
    },
    vae: vaeRecord,
    latentScale: JSON.parse(await readFile(path.join(out, "vae", "model.json"), "utf8")).gamedream.config.latentScale,
    dit: { ...ditRecord, settings: ditTask.settings },
    steps: { vae: vaeRecord.steps, dit: ditRecord.steps },
    trainingSeconds: Number(vaeRecord.seconds ?? 0) + ditRecord.seconds,
    totalSeconds: (performance.now() - started) / 1000,
    heldout: {
      source: "src/lib/play/eval.ts evaluateModel",
      nextFramePsnr: evaluation.nextFramePsnr,
      copyLastFramePsnr: evaluation.copyLastFramePsnr,
      shuffledActionsPsnr: evaluation.shuffledActionsPsnr,
      repeatPreviousActionPsnr: evaluation.repeatPreviousActionPsnr,
      randomActionsMeanPsnr: evaluation.randomActionsMeanPsnr,
      actionSensitivity: evaluation.actionSensitivity,
      actionDiscrimination: evaluation.actionDiscrimination,
      vaeReconPsnr: evaluation.vaeReconPsnr,
      nextFrameSsim: evaluation.nextFrameSsim,
      copyLastFrameSsim: evaluation.copyLastFrameSsim,
      goals: evaluation.goals,
      rollout: evaluation.rollout && {
        frames: evaluation.rollout.frames,
        collapse: evaluation.rollout.collapse,
        msPerFrame: evaluation.rollout.msPerFrame,
        buckets: evaluation.rollout.buckets,
      },
    },
  };
  // Paths relative to the repository (src/lib/core/report-paths.ts): report.json is committed.
  await writeFile(
    path.join(out, "report.json"),
    `${JSON.stringify(relativizeReport(report, process.cwd()), (_, v) => (typeof v === "number" && !Number.isInteger(v) ? Number(v.toPrecision(6)) : v), 1)}\n`,
  );
  console.log(
    `train-shipped: out=${out} vaeSteps=${vaeRecord.steps} ditSteps=${ditRecord.steps} nextFramePsnr=${evaluation.nextFramePsnr.toFixed(2)} copyLastFramePsnr=${evaluation.copyLastFramePsnr.toFixed(2)} vaeReconPsnr=${evaluation.vaeReconPsnr.toFixed(2)} time=${formatDuration(report.totalSeconds)}`,
  );
}

/** What report.json keeps of a training phase. */
function phaseRecord(run: { trainer: Trainer<unknown>; seconds: number }, parameters: number) {
  const history = run.trainer.history;
  return {
    steps: run.trainer.step,
    seconds: run.seconds,
    parameters,
    batchSize: run.trainer.currentBatchSize,
    optim: run.trainer.optim,
    firstLoss: recentMean(history.slice(0, 20), 20),
    finalLoss: recentMean(history, 50),
    msPerStep: recentMean(history, 50, "stepMs"),
    lossCurve: history
      .filter((_, i) => i % Math.max(1, Math.floor(history.length / 100)) === 0)
      .map((r) => [r.step, r.loss]),
  };
}

runCli(() => main(process.argv.slice(2)));
