import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { ACTION_DIM } from "../../src/lib/actions/index.js";
import { isGamedreamError } from "../../src/lib/core/index.js";
import type { LatentClipSource } from "../../src/lib/data/index.js";
import { createDiT, vaeLatentShape, type DiT } from "../../src/lib/models/index.js";
import {
  DEFAULT_DIT_TRAIN,
  Trainer,
  checkDiTFitsVAE,
  ditConfigForVAE,
  setupDiTTask,
} from "../../src/lib/train/index.js";
import { tinyDiTConfig, tinyVAEConfig } from "../helpers/tiny-models.js";

const vae = tinyVAEConfig();
const [h, w, c] = vaeLatentShape(vae);
const clips: LatentClipSource = {
  sampleClips: (_rng, batch, frames) => ({
    latents: tf.randomNormal([batch, frames, h, w, c], 0, 1, "float32", 1) as tf.Tensor5D,
    actions: tf.zeros([batch, frames, ACTION_DIM]) as tf.Tensor3D,
  }),
};

describe("the shared training setup", () => {
  it("sizes a preset's DiT to the VAE's latents, overrides last", () => {
    const config = ditConfigForVAE(tinyDiTConfig({ latentHeight: 99 }), vae, { hidden: 8 });
    expect([config.latentHeight, config.latentWidth, config.latentChannels]).toEqual([h, w, c]);
    expect(config.hidden).toBe(8);
  });

  it("refuses a DiT that does not take the VAE's latents, naming both", () => {
    const wrong = tinyDiTConfig({ latentHeight: h * 2, latentWidth: w, latentChannels: c });
    let error: unknown = null;
    try {
      checkDiTFitsVAE(wrong, vae, { dit: "runs/a", vae: "runs/b" });
    } catch (e) {
      error = e;
    }
    expect(isGamedreamError(error) && error.code).toBe("WEIGHTS_MISMATCH");
    expect((error as Error).message).toContain("runs/a");
    expect((error as Error).message).toContain(`${h}x${w}x${c}`);
    expect(() => checkDiTFitsVAE(ditConfigForVAE(tinyDiTConfig(), vae), vae)).not.toThrow();
  });

  it("disposes given starting weights that do not fit, and keeps the schedule they were trained with", () => {
    const before = tf.memory().numTensors;
    const misfit = createDiT(tinyDiTConfig({ latentHeight: h * 2, latentWidth: w, latentChannels: c }), 0);
    expect(() =>
      setupDiTTask({ start: { from: "weights", dit: misfit, schedule: null, name: "x" }, vae, latents: clips }),
    ).toThrow(/x is a DiT/);
    expect(tf.memory().numTensors).toBe(before);

    const dit = createDiT(ditConfigForVAE(tinyDiTConfig(), vae), 0);
    const schedule = { kind: "linear" as const, T: 500 };
    let probed: { dit: DiT; T: number } | null = null;
    const task = setupDiTTask({
      start: { from: "weights", dit, schedule, name: "x" },
      vae,
      latents: clips,
      settings: { schedule: DEFAULT_DIT_TRAIN.schedule, clipLength: 2 },
      probe: (d, s) => ((probed = { dit: d, T: s.T ?? -1 }), { every: 1, run: () => ({ actionS: 0.5 }) }),
    });
    expect(task.model).toBe(dit);
    expect((task.settings as { schedule: unknown }).schedule).toEqual(schedule);
    expect(probed).toEqual({ dit, T: 500 });
    task.model.dispose();
  });

  it("tells the probe how the run's DiT plays: a reuse-last-step run's without a context pass", () => {
    const pathway = {
      actionEmbedder: "mlp",
      actionToTokens: true,
      nullAction: true,
      contextLatentInput: true,
    } as const;
    const seen: unknown[] = [];
    for (const cacheUpdate of ["context-pass", "reuse-last-step"] as const) {
      const task = setupDiTTask({
        start: { from: "config", config: ditConfigForVAE(tinyDiTConfig(pathway), vae), seed: 3 },
        vae,
        latents: clips,
        settings: { clipLength: 4, cacheUpdate },
        probe: (_d, _s, sampling) => (seen.push(sampling), undefined),
      });
      task.model.dispose();
    }
    expect(seen).toEqual([{}, { cacheUpdate: "reuse-last-step" }]);
  });

  it("a fresh DiT trains one step through the trainer's own step, probe in its extras", async () => {
    const task = setupDiTTask({
      start: { from: "config", config: ditConfigForVAE(tinyDiTConfig(), vae), seed: 3 },
      vae,
      latents: clips,
      settings: { clipLength: 2 },
      probe: () => ({ every: 1, run: () => ({ actionS: 0.25 }) }),
    });
    const trainer = new Trainer(task, { steps: 1, batchSize: 2, yieldBetweenSteps: false });
    const metrics = await trainer.trainStep();
    expect(metrics?.step).toBe(1);
    expect(Number.isFinite(metrics?.loss)).toBe(true);
    expect(metrics?.extras.actionS).toBe(0.25);
    trainer.dispose();
    task.model.dispose();
  });
});
