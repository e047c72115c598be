import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { ACTION_DIM } from "../../src/lib/actions/index.js";
import { DIT_PRESETS, createDiT, type DiTConfig } from "../../src/lib/models/index.js";
import { LatentDataset } from "../../src/lib/data/index.js";
import { Rng } from "../../src/lib/core/index.js";
import { MemoryCheckpointStore, listCheckpoints, type CheckpointStore } from "../../src/lib/storage/index.js";
import {
  Ema,
  Trainer,
  clipByGlobalNorm,
  DEFAULT_DIT_TRAIN,
  createDiTTask,
  ditLoss,
  drawFrameNoise,
  isAllocationFailure,
  learningRateAt,
  type TrainEvent,
  type TrainTask,
} from "../../src/lib/train/index.js";
import { makeSchedule } from "../../src/lib/diffusion/index.js";
import { perturbWeights } from "../helpers/tiny-models.js";

const TINY: DiTConfig = {
  ...DIT_PRESETS.realtime,
  latentHeight: 4,
  latentWidth: 4,
  latentChannels: 4,
  hidden: 16,
  depth: 1,
  heads: 2,
  contextFrames: 2,
  frequencyDim: 16,
};

/** A few short latent episodes of smooth, predictable motion (each frame a shifted copy). */
function tinyLatents(episodes = 2, frames = 6, seed = 1): LatentDataset {
  const rng = new Rng(seed);
  const size = TINY.latentHeight * TINY.latentWidth * TINY.latentChannels;
  return new LatentDataset(
    [TINY.latentHeight, TINY.latentWidth, TINY.latentChannels],
    Array.from({ length: episodes }, (_, e) => {
      const base = Float32Array.from({ length: size }, () => rng.normal());
      const latents = new Float32Array(frames * size);
      for (let t = 0; t < frames; t++) for (let i = 0; i < size; i++) latents[t * size + i] = base[(i + t * 4) % size];
      const actions = new Float32Array(frames * ACTION_DIM);
      for (let t = 0; t < frames; t++) actions[t * ACTION_DIM + (t % 4)] = 1;
      return { id: `ep${e}`, frameCount: frames, latents, actions };
    }),
  );
}

function tinyTrainer(
  store: CheckpointStore | null,
  options: { steps?: number; every?: number; seed?: number; fresh?: boolean; batchSize?: number } = {},
) {
  const dit = createDiT(TINY, 7);
  const task = createDiTTask(dit, tinyLatents(), { clipLength: 3 });
  const trainer = new Trainer(task, {
    steps: options.steps ?? 12,
    batchSize: options.batchSize ?? 4,
    seed: options.seed ?? 3,
    store,
    checkpointEvery: options.every ?? 4,
    optim: { lr: 3e-3, warmupSteps: 3 },
    yieldBetweenSteps: false,
    fresh: options.fresh,
  });
  return { dit, trainer, dispose: () => (trainer.dispose(), dit.dispose()) };
}

async function weightsOf(trainer: Trainer): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const [name, t] of trainer.namedWeights()) out.set(name, Array.from(await t.data()));
  return out;
}

describe("optimisation pieces", () => {
  it("learning rate warms up linearly, then follows a cosine to the minimum", () => {
    const c = { lr: 1, warmupSteps: 10, minLrRatio: 0.1 };
    expect(learningRateAt(0, 110, c)).toBeCloseTo(0.1);
    expect(learningRateAt(9, 110, c)).toBeCloseTo(1);
    expect(learningRateAt(10, 110, c)).toBeCloseTo(1);
    expect(learningRateAt(60, 110, c)).toBeCloseTo(0.1 + 0.9 * 0.5 * (1 + Math.cos((Math.PI * 50) / 99)));
    expect(learningRateAt(109, 110, c)).toBeCloseTo(0.1);
    for (let s = 11; s < 110; s++) expect(learningRateAt(s, 110, c)).toBeLessThanOrEqual(learningRateAt(s - 1, 110, c));
  });

  it("clips by the global norm only when it is exceeded", async () => {
    const grads = new Map([
      ["a", tf.tensor([3, 0])],
      ["b", tf.tensor([4])],
    ]);
    const clipped = clipByGlobalNorm(grads, 1);
    expect((await clipped.norm.data())[0]).toBeCloseTo(5);
    expect(Array.from(await clipped.grads.get("a")!.data())[0]).toBeCloseTo(0.6, 5);
    expect(Array.from(await clipped.grads.get("b")!.data())[0]).toBeCloseTo(0.8, 5);
    const loose = clipByGlobalNorm(grads, 10);
    expect(Array.from(await loose.grads.get("b")!.data())[0]).toBeCloseTo(4, 5);
    tf.dispose([...grads.values(), ...clipped.grads.values(), clipped.norm, ...loose.grads.values(), loose.norm]);
  });

  it("EMA follows the weights with a warmed-up decay", async () => {
    const v = tf.variable(tf.tensor([0]));
    const vars = new Map([["w", v]]);
    const ema = new Ema(vars, 0.5);
    v.assign(tf.tensor([10]));
    ema.update(vars, 0); // decay min(0.5, 1/10) = 0.1
    expect((await ema.shadow.get("w")!.data())[0]).toBeCloseTo(9);
    ema.update(vars, 100); // decay 0.5
    expect((await ema.shadow.get("w")!.data())[0]).toBeCloseTo(9.5);
    ema.dispose();
    v.dispose();
  });

  it("diffusion forcing: context frames lightly noised and unmasked, the rest noised anywhere and masked in", () => {
    const schedule = makeSchedule({ kind: "cosine", T: 1000 });
    const settings = {
      contextNoiseMax: 0.1,
      lastFrameShare: 0,
      samplerTimestepShare: 0,
      samplerSteps: 2,
      actionDropout: 0,
    };
    const { timesteps, mask, actionKeep } = drawFrameNoise(new Rng(1), 64, 5, schedule, settings);
    const contexts = new Set<number>();
    for (let b = 0; b < 64; b++) {
      const m = Array.from(mask.subarray(b * 5, b * 5 + 5));
      const k = m.indexOf(1);
      contexts.add(k);
      expect(k).toBeGreaterThanOrEqual(1); // at least one context frame, at least one predicted
      expect(m.slice(k).every((x) => x === 1) && m.slice(0, k).every((x) => x === 0)).toBe(true);
      for (let t = 0; t < k; t++) expect(timesteps[b * 5 + t]).toBeLessThanOrEqual(0.1 * 999);
    }
    expect(contexts.size).toBe(4);
    expect(Math.max(...timesteps)).toBeGreaterThan(500);
    expect(actionKeep.every((x) => x === 1)).toBe(true);
  });

  it("last-frame clips, sampler timesteps and action dropout come in the asked shares", () => {
    const schedule = makeSchedule({ kind: "cosine", T: 1000 });
    const settings = {
      contextNoiseMax: 0.1,
      lastFrameShare: 0.75,
      samplerTimestepShare: 0.5,
      samplerSteps: 2,
      actionDropout: 0.2,
    };
    const B = 4000;
    const { timesteps, mask, actionKeep } = drawFrameNoise(new Rng(2), B, 3, schedule, settings);
    let lastOnly = 0;
    let targets = 0;
    let onSampler = 0;
    for (let b = 0; b < B; b++) {
      const m = Array.from(mask.subarray(b * 3, b * 3 + 3));
      if (m.join() === "0,0,1") lastOnly++;
      for (let t = 0; t < 3; t++) {
        if (!m[t]) continue;
        targets++;
        const ts = timesteps[b * 3 + t];
        if (ts === 999 || ts === 499) onSampler++;
      }
    }
    // Diffusion-forcing clips of 3 frames end with "0,0,1" half the time: 0.75 + 0.25 * 0.5.
    expect(lastOnly / B).toBeCloseTo(0.875, 1);
    expect(onSampler / targets).toBeCloseTo(0.5, 1);
    const dropped = actionKeep.reduce((n, k) => n + (k === 0 ? 1 : 0), 0) / actionKeep.length;
    expect(dropped).toBeCloseTo(0.2, 1);
  });

  it("reuse-last-step clips: frame 0 only lends its latent, middle frames at the played level, the last one the target", () => {
    const schedule = makeSchedule({ kind: "cosine", T: 1000 });
    const settings = {
      contextNoiseMax: 0.1,
      lastFrameShare: 0,
      samplerTimestepShare: 0.5,
      samplerSteps: 2,
      actionDropout: 0,
      cacheUpdate: "reuse-last-step" as const,
    };
    const B = 400;
    const { timesteps, mask } = drawFrameNoise(new Rng(3), B, 4, schedule, settings);
    let onSampler = 0;
    for (let b = 0; b < B; b++) {
      expect(Array.from(mask.subarray(b * 4, b * 4 + 4))).toEqual([0, 0, 0, 1]);
      // The 2-step sampler's last timestep (499) is what a played frame's cached pass ran at.
      expect(Array.from(timesteps.subarray(b * 4, b * 4 + 3))).toEqual([0, 499, 499]);
      if ([999, 499].includes(timesteps[b * 4 + 3])) onSampler++;
    }
    expect(onSampler / B).toBeCloseTo(0.5, 1);
  });

  it("reuse-last-step loss: frame 0's clean latent counts, its noise and action do not", async () => {
    const dit = createDiT({ ...TINY, contextLatentInput: true }, 3);
    perturbWeights(dit, 4); // adaLN-Zero: at initialisation the output ignores every input
    const settings = { ...DEFAULT_DIT_TRAIN, clipLength: 4, actionDropout: 0, cacheUpdate: "reuse-last-step" as const };
    const schedule = makeSchedule(settings.schedule);
    const batch = tinyLatents(1, 6).sampleClips(new Rng(4), 2, 4);
    const lossOf = async (latents: tf.Tensor5D, actions: tf.Tensor3D) => {
      const loss = ditLoss(dit, { latents, actions }, schedule, settings, new Rng(9));
      const value = (await loss.data())[0];
      loss.dispose();
      return value;
    };
    const base = await lossOf(batch.latents, batch.actions);
    // Another action on frame 0 (not run) leaves the loss; another frame-0 latent (stacked on frame 1) moves it.
    const otherActions = tf.tidy(() =>
      tf.concat([tf.onesLike(tf.slice(batch.actions, [0, 0], [-1, 1])), tf.slice(batch.actions, [0, 1], [-1, -1])], 1),
    ) as tf.Tensor3D;
    expect(await lossOf(batch.latents, otherActions)).toBe(base);
    const otherFirst = tf.tidy(() =>
      tf.concat([tf.mul(tf.slice(batch.latents, [0, 0], [-1, 1]), -3), tf.slice(batch.latents, [0, 1], [-1, -1])], 1),
    ) as tf.Tensor5D;
    expect(Math.abs((await lossOf(otherFirst, batch.actions)) - base)).toBeGreaterThan(1e-6);
    tf.dispose([otherActions, otherFirst, batch.latents, batch.actions]);
    dit.dispose();
  });

  it("refuses reuse-last-step without a stacked latent or with clips too short for the window", () => {
    const data = tinyLatents(1, 6);
    const plain = createDiT({ ...TINY, contextLatentInput: false }, 1);
    const stacked = createDiT({ ...TINY, contextLatentInput: true }, 1);
    const reuse = { clipLength: 4, actionDropout: 0, cacheUpdate: "reuse-last-step" as const };
    expect(() => createDiTTask(plain, data, reuse)).toThrow(/contextLatentInput/);
    expect(() => createDiTTask(stacked, data, { ...reuse, clipLength: 3 })).toThrow(
      /at least contextFrames \+ 2 = 4 frames/,
    );
    expect(() => createDiTTask(stacked, data, { ...reuse, cacheUpdate: "sometimes" as never })).toThrow(
      /"cacheUpdate" must be one of/,
    );
    expect(() => createDiTTask(stacked, data, reuse)).not.toThrow();
    plain.dispose();
    stacked.dispose();
  });

  it("recognises allocation failures", () => {
    expect(isAllocationFailure(new RangeError("Array buffer allocation failed"))).toBe(true);
    expect(isAllocationFailure(new Error("Out of memory"))).toBe(true);
    expect(isAllocationFailure(new Error("shape mismatch"))).toBe(false);
  });
});

describe("Trainer on a tiny DiT", () => {
  it("overfits a tiny dataset: the loss falls", async () => {
    // One 3-frame clip: its frames can be memorised, so the loss on fixed noise must drop far.
    const data = tinyLatents(1, 3);
    const dit = createDiT(TINY, 7);
    const settings = { ...DEFAULT_DIT_TRAIN, clipLength: 3 };
    const trainer = new Trainer(createDiTTask(dit, data, settings), {
      steps: 80,
      batchSize: 4,
      seed: 1,
      optim: { lr: 1e-2, warmupSteps: 5 },
      yieldBetweenSteps: false,
    });
    const schedule = makeSchedule(settings.schedule);
    const evalLoss = async () => {
      let sum = 0;
      for (let seed = 0; seed < 4; seed++) {
        const batch = data.sampleClips(new Rng(100 + seed), 8, 3);
        const loss = ditLoss(dit, batch, schedule, settings, new Rng(seed));
        sum += (await loss.data())[0];
        tf.dispose([loss, batch.latents, batch.actions]);
      }
      return sum / 4;
    };
    const before = await evalLoss();
    await trainer.run();
    const after = await evalLoss();
    expect(after).toBeLessThan(before * 0.7);
    trainer.dispose();
    dit.dispose();
  });

  it("reports a task's probe in the extras of every N-th step, and the run stays reproducible", async () => {
    const data = tinyLatents(2, 3);
    const runWith = async (withProbe: boolean) => {
      const dit = createDiT(TINY, 7);
      let calls = 0;
      const probe = { every: 2, run: () => ({ actionS: ++calls / 10 }) };
      const trainer = new Trainer(createDiTTask(dit, data, { clipLength: 3 }, withProbe ? probe : undefined), {
        steps: 5,
        batchSize: 2,
        seed: 1,
        yieldBetweenSteps: false,
      });
      const result = await trainer.run();
      trainer.dispose();
      dit.dispose();
      return result.history;
    };
    const probed = await runWith(true);
    expect(probed.map((r) => r.extras?.actionS)).toEqual([undefined, 0.1, undefined, 0.2, undefined]);
    const plain = await runWith(false);
    expect(plain.map((r) => r.loss)).toEqual(probed.map((r) => r.loss));
  });

  it("streams metrics events with loss, grad norm, lr, timing, memory and state changes", async () => {
    const { trainer, dispose } = tinyTrainer(null, { steps: 3 });
    const events: TrainEvent[] = [];
    trainer.on((e) => events.push(e));
    await trainer.run();
    const metrics = events.filter((e) => e.type === "metrics");
    expect(metrics.map((m) => m.step)).toEqual([1, 2, 3]);
    for (const m of metrics) {
      expect(m.loss).toBeGreaterThan(0);
      expect(m.gradNorm).toBeGreaterThan(0);
      expect(m.lr).toBeGreaterThan(0);
      expect(m.stepMs).toBeGreaterThan(0);
      expect(m.examplesPerSec).toBeGreaterThan(0);
      expect(m.numTensors).toBeGreaterThan(0);
      expect(m.memoryBytes).toBeGreaterThan(0);
      expect(m.batchSize).toBe(4);
    }
    expect(events.filter((e) => e.type === "state").map((e) => (e as { state: string }).state)).toEqual([
      "running",
      "done",
    ]);
    dispose();
  });

  it("round-trips a checkpoint: a new trainer restores weights, EMA, step and RNG bitwise", async () => {
    const store = new MemoryCheckpointStore();
    const a = tinyTrainer(store, { steps: 6, every: 3 });
    await a.trainer.run();
    const b = tinyTrainer(store, { steps: 6, every: 3 });
    expect(await b.trainer.restore()).toBe(6);
    expect(b.trainer.step).toBe(6);
    expect(await weightsOf(b.trainer)).toEqual(await weightsOf(a.trainer));
    expect(b.trainer.history).toEqual(a.trainer.history);
    a.dispose();
    b.dispose();
  });

  it("keeps the newest 3 checkpoints", async () => {
    const store = new MemoryCheckpointStore();
    const { trainer, dispose } = tinyTrainer(store, { steps: 10, every: 2 });
    await trainer.run();
    expect((await listCheckpoints(store)).map((c) => c.step)).toEqual([6, 8, 10]);
    dispose();
  });

  it("a resumed run matches an uninterrupted run with the same seed", async () => {
    const whole = tinyTrainer(null, { steps: 12 });
    const full = await whole.trainer.run();

    const store = new MemoryCheckpointStore();
    const first = tinyTrainer(store, { steps: 12, every: 100 });
    first.trainer.on((e) => e.type === "metrics" && e.step === 5 && first.trainer.stop());
    const part = await first.trainer.run();
    expect(part.state).toBe("stopped");
    expect((await listCheckpoints(store)).map((c) => c.step)).toEqual([5]); // saved on stop
    first.dispose();

    const second = tinyTrainer(store, { steps: 12, every: 100 });
    const rest = await second.trainer.run();
    expect(rest.resumedFrom).toBe(5);
    const a = full.history.map((r) => r.loss);
    const b = rest.history.map((r) => r.loss);
    expect(b.length).toBe(12);
    for (let i = 0; i < 12; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, a[i]));
    expect(await weightsOf(second.trainer)).toEqual(await weightsOf(whole.trainer));
    whole.dispose();
    second.dispose();
  });

  it("detects a flipped byte in a shard and resumes from the previous checkpoint", async () => {
    const store = new MemoryCheckpointStore();
    const a = tinyTrainer(store, { steps: 8, every: 4 });
    await a.trainer.run();
    a.dispose();
    const bytes = await store.read("step-000008", "weights-000.bin");
    bytes[100] ^= 0xff;
    await store.write(
      "step-000008",
      new Map([
        ["meta.json", await store.read("step-000008", "meta.json")],
        ["weights-000.bin", bytes],
      ]),
    );

    const b = tinyTrainer(store, { steps: 8, every: 4 });
    const events: TrainEvent[] = [];
    b.trainer.on((e) => events.push(e));
    const result = await b.trainer.run();
    expect(result.resumedFrom).toBe(4);
    const warning = events.find((e) => e.type === "message" && e.code === "CHECKPOINT_CORRUPT");
    expect(warning).toBeDefined();
    const resumed = events.find((e) => e.type === "resumed") as Extract<TrainEvent, { type: "resumed" }>;
    expect(resumed.skipped.map((s) => s.id)).toEqual(["step-000008"]);
    expect(result.step).toBe(8);
    b.dispose();
  });

  it("pauses and resumes between steps", async () => {
    const { trainer, dispose } = tinyTrainer(null, { steps: 6 });
    const states: string[] = [];
    trainer.on((e) => {
      if (e.type === "state") states.push(e.state);
      if (e.type === "metrics" && e.step === 2) trainer.pause();
    });
    const running = trainer.run();
    while (trainer.state !== "paused") await new Promise((r) => setTimeout(r, 5));
    const pausedAt = trainer.step;
    await new Promise((r) => setTimeout(r, 30));
    expect(trainer.step).toBe(pausedAt);
    trainer.resume();
    const result = await running;
    expect(result.step).toBe(6);
    expect(states).toEqual(["running", "paused", "running", "done"]);
    dispose();
  });

  it("halves the batch when memory runs out, says so, and goes on", async () => {
    const dit = createDiT(TINY, 1);
    const inner = createDiTTask(dit, tinyLatents(), { clipLength: 3 });
    const task: TrainTask<
      ReturnType<typeof tinyLatents>["sampleClips"] extends (...a: never[]) => infer R ? R : never
    > = {
      ...inner,
      loss: (batch, rng) => {
        if (batch.latents.shape[0] > 2) throw new RangeError("Array buffer allocation failed");
        return inner.loss(batch, rng);
      },
    };
    const trainer = new Trainer(task, { steps: 3, batchSize: 8, yieldBetweenSteps: false });
    const events: TrainEvent[] = [];
    trainer.on((e) => events.push(e));
    const result = await trainer.run();
    expect(result.step).toBe(3);
    expect(trainer.currentBatchSize).toBe(2);
    expect(events.filter((e) => e.type === "message" && e.code === "TRAIN_BATCH_REDUCED").length).toBe(2);
    trainer.dispose();
    dit.dispose();
  });

  it("keeps numTensors flat over 200 steps", async () => {
    const { trainer, dispose } = tinyTrainer(null, { steps: 200, batchSize: 2 });
    const counts: number[] = [];
    trainer.on((e) => e.type === "metrics" && counts.push(e.numTensors));
    await trainer.run();
    expect(counts.length).toBe(200);
    expect(counts[199]).toBe(counts[1]);
    dispose();
  });
});
