import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACTION_DIM, NO_ACTION, encodeAction, type Action } from "../../src/lib/actions/index.js";
import { createDiT, type DiT, createVAE, type VAE, presetCostTable, PRESETS } from "../../src/lib/models/index.js";
import { tensorToRgba, Rng } from "../../src/lib/core/index.js";
import { gaussianNoise } from "../../src/lib/nn/index.js";
import { conditioningActions } from "../../src/lib/data/index.js";
import { createWorldModel } from "../../src/lib/play/index.js";
import { generationFlops, measureGenerationMs } from "../../src/lib/bench/index.js";
import { perturbWeights, tinyDiTConfig, tinyVAEConfig } from "../helpers/tiny-models.js";

const VAE_TINY = tinyVAEConfig();

const DIT_TINY = tinyDiTConfig({ latentHeight: 8, latentWidth: 8, latentChannels: 4 });

const SCHEDULE = { kind: "cosine" as const, T: 1000, zeroTerminalSnr: true };

function actionAt(t: number): Action {
  const m = t % 4;
  return {
    movement: [m === 0 ? 1 : 0, m === 1 ? 1 : 0, m === 2 ? 1 : 0, m === 3 ? 1 : 0],
    camera: [((t % 5) - 2) / 4, 0],
    interaction: t % 7 === 0 ? 1 : 0,
  };
}

describe("world model (tiny VAE + DiT)", () => {
  let vae: VAE;
  let dit: DiT;
  let start: tf.Tensor4D;

  beforeAll(() => {
    vae = createVAE(VAE_TINY, 1);
    dit = createDiT(DIT_TINY, 2);
    perturbWeights(dit, 3);
    start = tf.tidy(() => tf.clipByValue(gaussianNoise([3, 32, 32, 3], 4), -1, 1) as tf.Tensor4D);
  });
  afterAll(() => {
    start.dispose();
    vae.dispose();
    dit.dispose();
  });

  async function rollout(seed: number, frames: number, settings = {}): Promise<Float32Array[]> {
    const wm = createWorldModel({ vae, dit, schedule: SCHEDULE, seed, sampler: "ddim", steps: 2, ...settings });
    wm.start(start, [actionAt(0), actionAt(1)]);
    const out: Float32Array[] = [];
    for (let t = 0; t < frames; t++) {
      const { frame, latent } = wm.step(actionAt(t + 2));
      out.push((await frame.data()) as Float32Array);
      tf.dispose([frame, latent]);
    }
    wm.dispose();
    return out;
  }

  it("is deterministic for a seed: same seed and actions give identical frames, another seed differs", async () => {
    const a = await rollout(7, 6);
    const b = await rollout(7, 6);
    const c = await rollout(8, 6);
    for (let t = 0; t < 6; t++) expect(b[t]).toEqual(a[t]);
    expect(c[5]).not.toEqual(a[5]);
    // Stochastic sampling (DDPM) is reproducible too.
    const d = await rollout(9, 3, { sampler: "ddpm" });
    const e = await rollout(9, 3, { sampler: "ddpm" });
    expect(e[2]).toEqual(d[2]);
  });

  it("reset() replays the same frames, and actions change the result", async () => {
    const wm = createWorldModel({ vae, dit, schedule: SCHEDULE, seed: 3, steps: 1 });
    wm.start(start, [actionAt(0), actionAt(1)]);
    const first = await wm.stepRgba(actionAt(5));
    const second = await wm.stepRgba(actionAt(6));
    expect(wm.frameIndex).toBe(2);
    wm.reset();
    expect(wm.frameIndex).toBe(0);
    expect((await wm.stepRgba(actionAt(5))).data).toEqual(first.data);
    expect((await wm.stepRgba(actionAt(6))).data).toEqual(second.data);
    wm.reset();
    const other = await wm.stepRgba({ ...NO_ACTION, camera: [1, -1], interaction: 2 });
    expect(other.data).not.toEqual(first.data);
    expect(first.width).toBe(32);
    wm.dispose();
  });

  it("starts the same from RGBA images as from the tensor they encode", async () => {
    const images = Array.from({ length: 3 }, (_, i) => {
      const frame = tf.gather(start, i) as unknown as tf.Tensor3D;
      const image = tensorToRgba(frame);
      frame.dispose();
      return image;
    });
    const quantised = tf.tidy(() => tf.sub(tf.div(tf.round(tf.mul(tf.add(start, 1), 127.5)), 127.5), 1));
    const a = createWorldModel({ vae, dit, schedule: SCHEDULE, seed: 1 });
    const b = createWorldModel({ vae, dit, schedule: SCHEDULE, seed: 1 });
    a.start(images, [actionAt(0), actionAt(1), actionAt(2)]);
    b.start(quantised, [actionAt(0), actionAt(1)]);
    expect(a.contextLength).toBe(2);
    const fa = await a.stepRgba(actionAt(3));
    const fb = await b.stepRgba(actionAt(3));
    let maxDiff = 0;
    for (let i = 0; i < fa.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(fa.data[i] - fb.data[i]));
    expect(maxDiff).toBeLessThanOrEqual(1);
    tf.dispose(quantised);
    a.dispose();
    b.dispose();
  });

  it("one DDIM step from the KV cache equals the DiT's full forward over the context window", async () => {
    // Clean context (noise 0), an exact context pass, 1 step from t = T-1 (alpha-bar 0): x0 = -v.
    const wm = createWorldModel({
      vae,
      dit,
      schedule: SCHEDULE,
      seed: 11,
      sampler: "ddim",
      steps: 1,
      contextNoise: 0,
      cacheUpdate: "context-pass",
    });
    const held = [actionAt(0), actionAt(1), actionAt(2)];
    wm.start(start, held.slice(0, 2));
    const { frame, latent } = wm.step(held[2]);
    const expected = tf.tidy(() => {
      const ctx = vae.encodeScaled(tf.slice(start, [1], [2]) as tf.Tensor4D); // the window keeps K = 2 frames
      const noise = gaussianNoise([1, 8, 8, 4], new Rng(11)); // the first draw of the model's generator
      const latents = tf.expandDims(tf.concat([ctx, noise], 0), 0) as tf.Tensor5D;
      const levels = tf.tensor2d([[0, 0, 1]]);
      // Training's convention (latents.ts): frame t is conditioned on the input held on frame t-1.
      // Over start frames 0..2 plus the new frame 3, the window holds frames 1, 2, 3.
      const heldVectors = new Float32Array(4 * ACTION_DIM);
      held.forEach((a, i) => heldVectors.set(encodeAction(a), i * ACTION_DIM));
      const perFrame = conditioningActions(heldVectors, 4).slice(ACTION_DIM);
      const actions = tf.tensor3d(perFrame, [1, 3, ACTION_DIM]);
      const v = dit.forward(latents, levels, actions).prediction;
      return tf.neg(tf.slice(v, [0, 2], [1, 1]).reshape([1, 8, 8, 4]));
    });
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(latent, expected))).dataSync()[0]);
    expect(diff).toBeLessThan(1e-4);
    tf.dispose([frame, latent, expected]);
    wm.dispose();
  });

  it("reuse-last-step: a played frame equals the DiT's full forward over frames made as training makes them", async () => {
    // Training for this cache update (src/lib/train/dit-task.ts): frame 0 lends its clean latent,
    // frames 1.. run at the sampler's last level on noise, each with the clean latent before stacked on.
    const stacked = createDiT({ ...DIT_TINY, contextLatentInput: true }, 5);
    perturbWeights(stacked, 6);
    const wm = createWorldModel({
      vae,
      dit: stacked,
      schedule: SCHEDULE,
      seed: 12,
      sampler: "ddim",
      steps: 1,
      cacheUpdate: "reuse-last-step",
    });
    const held = [actionAt(0), actionAt(1), actionAt(2)];
    wm.start(start, held.slice(0, 2));
    expect(wm.contextLength).toBe(3); // K = 2 frames of context and the one that lends its latent
    const { frame, latent } = wm.step(held[2]);
    const expected = tf.tidy(() => {
      const clean = vae.encodeScaled(start); // frames 0, 1, 2
      const rng = new Rng(12); // the model's generator: noise for frames 1 and 2 (start), then frame 3
      const noise = [1, 2, 3].map(() => gaussianNoise([1, 8, 8, 4], rng));
      const latents = tf.expandDims(tf.concat(noise, 0), 0) as tf.Tensor5D;
      const previous = tf.expandDims(clean, 0) as tf.Tensor5D;
      const heldVectors = new Float32Array(4 * ACTION_DIM);
      held.forEach((a, i) => heldVectors.set(encodeAction(a), i * ACTION_DIM));
      const actions = tf.tensor3d(conditioningActions(heldVectors, 4).slice(ACTION_DIM), [1, 3, ACTION_DIM]);
      // Zero-terminal SNR: at t = T-1 the input is the noise itself and x0 = -v.
      const v = stacked.forward(latents, tf.ones([1, 3]) as tf.Tensor2D, actions, { previous }).prediction;
      return tf.neg(tf.slice(v, [0, 2], [1, 1]).reshape([1, 8, 8, 4]));
    });
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(latent, expected))).dataSync()[0])).toBeLessThan(1e-4);
    tf.dispose([frame, latent, expected]);
    // The window stays K + 1 long, and nothing leaks as it slides or when the cache is rebuilt.
    const before = tf.memory().numTensors;
    for (let t = 0; t < 6; t++) tf.dispose(Object.values(wm.step(actionAt(t))));
    wm.configure({ steps: 2 });
    for (let t = 0; t < 3; t++) tf.dispose(Object.values(wm.step(actionAt(t))));
    expect(wm.contextLength).toBe(3);
    expect(tf.memory().numTensors).toBe(before);
    wm.configure({ cacheUpdate: "context-pass" });
    tf.dispose(Object.values(wm.step(actionAt(0))));
    expect(wm.contextLength).toBe(2);
    wm.dispose();
    stacked.dispose();
  });

  it("reports only its sampling settings (what eval reports record), not the models it was given", () => {
    const wm = createWorldModel({ vae, dit, schedule: SCHEDULE, seed: 3, steps: 2, contextNoise: 0.1 });
    expect(Object.keys(wm.settings).sort()).toEqual([
      "cacheUpdate",
      "contextNoise",
      "eta",
      "guidanceScale",
      "sampler",
      "steps",
    ]);
    expect(wm.settings.steps).toBe(2);
    expect(wm.settings.contextNoise).toBe(0.1);
    wm.configure({ steps: 1, ...({ dit } as object) });
    expect(Object.keys(wm.settings)).not.toContain("dit");
    expect(JSON.stringify(wm.settings).length).toBeLessThan(200);
    wm.dispose();
  });

  it("keeps numTensors flat over 1000 generated frames while settings change", () => {
    const wm = createWorldModel({ vae, dit, schedule: SCHEDULE, seed: 5, steps: 1 });
    wm.start(start, [actionAt(0), actionAt(1)]);
    for (let t = 0; t < 10; t++) tf.dispose(Object.values(wm.step(actionAt(t))));
    const before = tf.memory().numTensors;
    const plan = [
      { steps: 2, cacheUpdate: "context-pass" as const },
      { sampler: "euler" as const, contextNoise: 0.1 },
      { sampler: "heun" as const, steps: 2, cacheUpdate: "reuse-last-step" as const },
      { sampler: "ddpm" as const, steps: 1 },
    ];
    for (let t = 0; t < 1000; t++) {
      if (t % 250 === 0) wm.configure(plan[t / 250]);
      const { frame, latent } = wm.step(actionAt(t));
      if (t % 100 === 99) expect(tf.memory().numTensors).toBe(before + 2);
      tf.dispose([frame, latent]);
    }
    wm.reset();
    expect(tf.memory().numTensors).toBe(before);
    wm.dispose();
  }, 60_000);

  it("rejects bad input with typed errors", () => {
    const wm = createWorldModel({ vae, dit, schedule: SCHEDULE });
    expect(() => wm.step(NO_ACTION)).toThrowError(/start/);
    expect(() => wm.start(tf.zeros([1, 16, 16, 3]))).toThrowError(/32, 32, 3/);
    expect(() => wm.start(start, [])).toThrowError(/needs 2 actions/);
    expect(() => wm.configure({ steps: 0 })).toThrowError(/steps/);
    expect(() => wm.configure({ contextNoise: 2 })).toThrowError(/context noise/);
    wm.dispose();
    expect(() => wm.reset()).toThrowError(/disposed/);
  });

  it("measures end-to-end generation of the realtime preset, with FLOPs matching the preset cost table", async () => {
    const { dit: d, vae: v, sampling } = PRESETS.realtime;
    const table = presetCostTable().find((r) => r.preset === "realtime")!;
    expect(generationFlops(d, v, sampling).flops).toBe(table.flopsPerFrame);
    const before = tf.memory().numTensors;
    const r = await measureGenerationMs({ preset: "realtime", steps: 1, frames: 3 });
    expect(r.stats.reps).toBe(3);
    expect(r.msPerFrame).toBeGreaterThan(0);
    expect(r.fps).toBeCloseTo(1000 / r.msPerFrame, 6);
    expect(r.gflops).toBeCloseTo(r.flopsPerFrame / r.msPerFrame / 1e6, 6);
    expect(tf.memory().numTensors).toBe(before);
  });
});
