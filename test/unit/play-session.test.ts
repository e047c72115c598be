import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NO_ACTION, type Action } from "../../src/lib/actions/index.js";
import { createDiT, type DiT, createVAE, type VAE } from "../../src/lib/models/index.js";
import { PlaySession, type PlayModel } from "../../src/lib/play/index.js";
import { perturbWeights, tinyDiTConfig, tinyVAEConfig } from "../helpers/tiny-models.js";

// Tiny but full-size frames: the game renders 256x256, so the VAE takes 256 and squeezes hard.
const VAE_TINY = tinyVAEConfig({
  imageSize: 256,
  encoder: { stem: 32, channels: [8], blocks: [0] },
  decoder: { channels: [8], blocks: [0], head: 32 },
});

const DIT_TINY = tinyDiTConfig({ latentHeight: 8, latentWidth: 8, latentChannels: 4 });

const SCHEDULE = { kind: "cosine" as const, T: 1000, zeroTerminalSnr: true };

function actionAt(t: number): Action {
  const m = t % 4;
  return {
    movement: [m === 0 ? 1 : 0, 0, m === 2 ? 1 : 0, 0],
    camera: [((t % 5) - 2) / 4, 0],
    interaction: t % 9 === 0 ? 1 : 0,
  };
}

function checksum(bytes: Uint8ClampedArray): number {
  let h = 2166136261;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 16777619);
  return h >>> 0;
}

describe("play session (tiny VAE + DiT)", () => {
  let vae: VAE;
  let dit: DiT;
  let model: PlayModel;

  beforeAll(() => {
    vae = createVAE(VAE_TINY, 1);
    dit = createDiT(DIT_TINY, 2);
    perturbWeights(vae, 3);
    perturbWeights(dit, 4);
    model = { vae, dit, schedule: SCHEDULE };
  });

  afterAll(() => {
    vae.dispose();
    dit.dispose();
  });

  async function run(seed: number, frames: number): Promise<{ dream: number[]; real: number[]; log: Action[] }> {
    const session = await PlaySession.create({ model, gameSeed: 5, seed, settings: { steps: 2 } });
    const dream: number[] = [];
    const real: number[] = [];
    try {
      for (let t = 0; t < frames; t++) {
        const f = await session.step(actionAt(t));
        expect(f.index).toBe(t + 1);
        expect(f.dream.data.length).toBe(256 * 256 * 4);
        expect(f.timings.totalMs).toBeGreaterThanOrEqual(f.timings.dreamMs);
        dream.push(checksum(f.dream.data));
        real.push(checksum(f.real!.data));
      }
      return { dream, real, log: session.actionLog.slice() };
    } finally {
      session.dispose();
    }
  }

  it("is deterministic for a seed, and the seed matters", async () => {
    const a = await run(7, 6);
    const b = await run(7, 6);
    const c = await run(8, 6);
    expect(b.dream).toEqual(a.dream);
    expect(b.real).toEqual(a.real);
    expect(c.dream).not.toEqual(a.dream);
    // The real game does not depend on the model's seed.
    expect(c.real).toEqual(a.real);
    expect(a.log).toEqual(Array.from({ length: 6 }, (_, t) => actionAt(t)));
  });

  it("the dream depends on the actions", async () => {
    const session = await PlaySession.create({ model, gameSeed: 5, seed: 1 });
    try {
      const still = [];
      for (let t = 0; t < 3; t++) still.push(checksum((await session.step(NO_ACTION)).dream.data));
      await session.reset();
      const moving = [];
      for (let t = 0; t < 3; t++)
        moving.push(
          checksum((await session.step({ movement: [1, 0, 0, 0], camera: [1, 0], interaction: 0 })).dream.data),
        );
      expect(moving[2]).not.toBe(still[2]);
    } finally {
      session.dispose();
    }
  });

  it("keeps tf.memory().numTensors flat over many frames, resyncs and settings changes", async () => {
    const session = await PlaySession.create({ model, gameSeed: 2, seed: 3 });
    try {
      for (let t = 0; t < 5; t++) await session.step(actionAt(t));
      // The world model keeps its start window for `reset`: one frame after the game's reset,
      // K frames after a resync. Measure from a resync so the window sizes compare.
      await session.resync();
      const before = tf.memory().numTensors;
      for (let t = 0; t < 150; t++) {
        await session.step(actionAt(t));
        if (t === 40) await session.resync();
        if (t === 80) session.configure({ steps: 1, contextNoise: 0.1 });
      }
      expect(tf.memory().numTensors).toBe(before);
      expect(session.actionLog.length).toBe(155);
    } finally {
      session.dispose();
    }
  });

  it("restores from a snapshot (as after a GPU context loss) and goes on from the kept latents", async () => {
    // Restoring restarts the noise stream from the seed, so two sessions restored from the same
    // point give the same frames; one with another history gives others: the kept latents matter.
    const a = await PlaySession.create({ model, gameSeed: 4, seed: 9 });
    const c = await PlaySession.create({ model, gameSeed: 4, seed: 9 });
    for (let t = 0; t < 4; t++) {
      await a.step(actionAt(t));
      await c.step(actionAt(t + 1));
    }
    // Through a structured clone, as the snapshot travels between workers.
    const snapA = structuredClone(a.snapshot());
    const snapC = structuredClone(c.snapshot());
    a.dispose();
    c.dispose();
    const before = tf.memory().numTensors;
    const r1 = PlaySession.restore(snapA);
    const r2 = PlaySession.restore(snapA);
    const r3 = PlaySession.restore(snapC);
    try {
      expect(r1.actionLog.length).toBe(4);
      expect(r1.frameIndex).toBe(4);
      for (let t = 4; t < 7; t++) {
        const f1 = await r1.step(actionAt(t));
        const f2 = await r2.step(actionAt(t));
        const f3 = await r3.step(actionAt(t));
        expect(f1.index).toBe(t + 1);
        expect(checksum(f2.dream.data)).toBe(checksum(f1.dream.data));
        expect(checksum(f3.dream.data)).not.toBe(checksum(f1.dream.data));
      }
      // The real game went on from its kept state: the same frames as a session never interrupted.
      const straight = await PlaySession.create({ model, gameSeed: 4, seed: 9 });
      let last = 0;
      for (let t = 0; t < 7; t++) last = checksum((await straight.step(actionAt(t))).real!.data);
      straight.dispose();
      expect(checksum(r1.realFrame().data)).toBe(last);
    } finally {
      r1.dispose();
      r2.dispose();
      r3.dispose();
    }
    // Restored sessions own their models and free them.
    expect(tf.memory().numTensors).toBe(before);
    expect(() => r1.snapshot()).toThrow(/ended/);
  });
});
