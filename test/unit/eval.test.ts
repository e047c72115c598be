import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDataset, gameEpisodeSources } from "../../src/lib/data/index.js";
import { DirectoryDatasetStore } from "../../src/lib/data/node.js";
import { createDiT, loadModelFromCheckpoints, createVAE } from "../../src/lib/models/index.js";
import type { Module } from "../../src/lib/nn/index.js";
import { Rng } from "../../src/lib/core/index.js";
import { MemoryCheckpointStore, prefixNames, saveCheckpoint } from "../../src/lib/storage/index.js";
import { DEFAULT_DIT_TRAIN, modelExport } from "../../src/lib/train/index.js";
import { writeModelDir } from "../../src/lib/train/node.js";
import { tinyDiTConfig, gameFrameVAEConfig } from "../helpers/tiny-models.js";

const run = promisify(execFile);

const VAE_TINY = gameFrameVAEConfig();

const DIT_TINY = tinyDiTConfig({ latentHeight: 16, latentWidth: 16, latentChannels: 4, patchSize: 4 });

const SCHEDULE = { kind: "cosine" as const, T: 500 };

function perturb(model: Module<unknown>, seed: number, std = 0.05): void {
  const rng = new Rng(seed);
  for (const v of model.variables().values()) {
    const noise = Float32Array.from({ length: v.size }, () => rng.normal() * std);
    tf.tidy(() => v.assign(tf.add(v, tf.tensor(noise, v.shape))));
  }
}

describe("npm run eval", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "gamedream-eval-"));
    await buildDataset(
      new DirectoryDatasetStore(join(dir, "data")),
      gameEpisodeSources({ seed: 3, episodes: 4, frames: 10 }),
      { heldoutFraction: 0.5, splitSeed: 3 },
    );
    const vae = createVAE(VAE_TINY, 1);
    const dit = createDiT(DIT_TINY, 2);
    perturb(dit, 3);
    // Written the way training exports models (train/export.ts).
    await writeModelDir(join(dir, "weights", "vae"), modelExport("vae", vae, 10));
    await writeModelDir(
      join(dir, "weights", "dit"),
      modelExport("dit", dit, 20, { settings: { ...DEFAULT_DIT_TRAIN, schedule: SCHEDULE } }),
    );
    vae.dispose();
    dit.dispose();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const evalCli = (...args: string[]) =>
    run("npx", ["tsx", "cli/eval.ts", ...args], {
      cwd: process.cwd(),
      env: { ...process.env, GAMEDREAM_BACKEND: "wasm" },
    });
  const evalFails = (...args: string[]) =>
    evalCli(...args).then(
      () => ({ code: 0, stderr: "" }),
      (e: { code: number; stderr: string }) => e,
    );

  it("writes a report with every metric, the rollout and the goals", async () => {
    const out = join(dir, "eval.json");
    const { stdout } = await evalCli(
      "--run",
      join(dir, "weights"),
      "--data",
      join(dir, "data"),
      "--out",
      out,
      "--rollout-frames",
      "12",
      "--still-frames",
      "3",
      "--samples",
      "4",
      "--branch-states",
      "3",
      "--steps",
      "1",
    );
    expect(stdout).toMatch(
      /^eval: nextFramePsnr=[\d.]+dB copyLastFramePsnr=[\d.]+dB shuffledActionsPsnr=[\d.]+dB S=[\d.]+ D=-?[\d.]+dB vaeReconPsnr=[\d.]+dB rollout=(stable|collapsed) stillPsnr=[\d.]+dB msPerFrame=[\d.]+/m,
    );
    const report = JSON.parse(await readFile(out, "utf8"));
    expect(report.schema).toBe("gamedream-eval/2");
    const metrics = [
      "nextFramePsnr",
      "copyLastFramePsnr",
      "shuffledActionsPsnr",
      "repeatPreviousActionPsnr",
      "randomActionsMeanPsnr",
      "vaeReconPsnr",
      "actionSensitivity",
      "actionDiscrimination",
    ];
    for (const key of [...metrics, "nextFrameSsim", "copyLastFrameSsim", "shuffledActionsSsim", "vaeReconSsim"]) {
      expect(typeof report[key], key).toBe("number");
    }
    expect(report.nextFrame.samples).toBe(4);
    const [low, high] = report.nextFrame.nextFrame.psnrInterval;
    expect(low).toBeLessThanOrEqual(report.nextFramePsnr);
    expect(high).toBeGreaterThanOrEqual(report.nextFramePsnr);
    expect(report.nextFrame.gaps.overCopyLast.value).toBeCloseTo(report.nextFramePsnr - report.copyLastFramePsnr, 4);
    expect(report.actionControl.states).toBe(3);
    expect(report.actionControl.samples + report.actionControl.skipped).toBe(9);
    expect(typeof report.goals.sensitivityAtLeastHalf.met).toBe("boolean");
    expect(typeof report.goals.rolloutStdWithin25Percent.ratio).toBe("number");
    expect(report.settings.steps).toBe(1);
    expect(report.model.scheduleSource).toBe("weights");
    expect(report.model.schedule).toEqual(SCHEDULE);
    expect(report.model.sources.dit).toMatchObject({ kind: "weights", step: 20, weights: "raw" });
    expect(report.rollout.frames).toBe(12);
    expect(report.rollout.perFrame.psnr).toHaveLength(12);
    expect(report.rollout.buckets.length).toBeGreaterThan(0);
    expect(typeof report.rollout.collapse.collapsed).toBe("boolean");
    expect(report.rollout.msPerFrame.median).toBeGreaterThan(0);
    // Standing still: one state per held-out game episode (2 here), 3 frames each.
    expect(report.standingStill.states).toBe(2);
    expect(report.standingStill.psnrByFrame).toHaveLength(3);
    expect(report.timings.standingStillSeconds).toBeGreaterThan(0);
    expect(typeof report.goals.beatsCopyBy3dB.met).toBe("boolean");
    // An untrained VAE reconstructs badly, and copying the last frame of a slow game is close.
    expect(report.copyLastFramePsnr).toBeGreaterThan(report.vaeReconPsnr);
  }, 120_000);

  it("fails with error[CODE] on bad flags and on damaged weights", async () => {
    const missing = await evalFails("--data", join(dir, "data"), "--out", join(dir, "x.json"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error\[CLI_BAD_FLAG\]: --run is required/m);
    const shard = join(dir, "weights", "dit", "group1-shard1of1.bin");
    const bytes = await readFile(shard);
    bytes[0] ^= 0xff;
    await writeFile(shard, bytes);
    const damaged = await evalFails(
      "--run",
      join(dir, "weights"),
      "--data",
      join(dir, "data"),
      "--out",
      join(dir, "y.json"),
      "--rollout-frames",
      "0",
    );
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toMatch(/^error\[WEIGHTS_CORRUPT\]: Weight shard group1-shard1of1\.bin/m);
  }, 120_000);

  it("evaluates a DiT training run (latest checkpoint) with the VAE it names", async () => {
    const runDir = join(dir, "run");
    const stores = await import("../../src/lib/storage/node.js").then((m) => m.FsCheckpointStore.open(runDir));
    const dit = createDiT(DIT_TINY, 9);
    await saveCheckpoint(stores, {
      rng: {},
      optimizer: null,
      step: 30,
      weights: prefixNames({ dit: dit.variables() }),
      config: { kind: "dit", model: DIT_TINY, settings: { schedule: SCHEDULE } },
    });
    dit.dispose();
    await writeFile(join(runDir, "run.json"), JSON.stringify({ model: "dit", vae: join(dir, "weights", "vae") }));
    const out = join(dir, "run-eval.json");
    const result = await evalFails(
      "--run",
      runDir,
      "--data",
      join(dir, "data"),
      "--out",
      out,
      "--rollout-frames",
      "3",
      "--samples",
      "2",
      "--branch-states",
      "2",
      "--steps",
      "1",
    );
    expect(result.stderr).not.toMatch(/error\[/);
    expect(result.code).toBe(0);
    const report = JSON.parse(await readFile(out, "utf8"));
    expect(report.model.sources.dit).toMatchObject({ kind: "checkpoint", step: 30, weights: "raw" });
    expect(report.model.sources.vae).toMatchObject({ kind: "weights", step: 10 });
    expect(report.rollout.frames).toBe(3);
  }, 120_000);

  it("loads a pair from training checkpoints, preferring EMA weights", async () => {
    const stores = { vae: new MemoryCheckpointStore(), dit: new MemoryCheckpointStore() };
    const vae = createVAE(VAE_TINY, 5);
    const dit = createDiT(DIT_TINY, 6);
    const ema = createDiT(DIT_TINY, 7);
    perturb(ema, 8);
    const base = { rng: {}, optimizer: null };
    await saveCheckpoint(stores.vae, {
      ...base,
      step: 10,
      weights: prefixNames({ vae: vae.variables() }),
      config: { kind: "vae", model: VAE_TINY, settings: {} },
    });
    await saveCheckpoint(stores.dit, {
      ...base,
      step: 20,
      weights: prefixNames({ dit: dit.variables(), ema: ema.variables() }),
      config: { kind: "dit", model: DIT_TINY, settings: { schedule: SCHEDULE } },
    });
    const before = tf.memory().numTensors;
    const model = await loadModelFromCheckpoints(stores);
    expect(model.sources.dit).toMatchObject({ kind: "checkpoint", step: 20, weights: "ema" });
    expect(model.schedule).toEqual(SCHEDULE);
    const name = "blocks.0.mlp.fc1.weight";
    const diff = tf.tidy(
      () => tf.max(tf.abs(tf.sub(model.dit.variables().get(name)!, ema.variables().get(name)!))).dataSync()[0],
    );
    expect(diff).toBe(0);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const wrong = await loadModelFromCheckpoints({ vae: stores.dit, dit: stores.dit }).catch((e) => e);
    expect(wrong.code).toBe("MODEL_KIND_MISMATCH");
    expect(tf.memory().numTensors).toBe(before);
    const empty = await loadModelFromCheckpoints({ vae: new MemoryCheckpointStore(), dit: stores.dit }).catch((e) => e);
    expect(empty.code).toBe("MODEL_NO_CHECKPOINT");
    tf.dispose([vae, dit, ema].flatMap((m) => [...m.variables().values()]));
  });
});
