import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACTION_DIM } from "../../src/lib/actions/index.js";
import {
  createDiT,
  DIT_PRESETS,
  disposeAttentionMaps,
  type DiT,
  type DiTConfig,
  ditParameterCount,
} from "../../src/lib/models/index.js";
import { assignVariables, countParameters, type NamedTensors } from "../../src/lib/nn/index.js";
import { Rng } from "../../src/lib/core/index.js";
import { tinyDiTConfig } from "../helpers/tiny-models.js";

const PATHWAY = { actionEmbedder: "mlp", actionToTokens: true, nullAction: true, contextLatentInput: true } as const;
const TINY = tinyDiTConfig({ depth: 2, mlpRatio: 4, spatialPositions: "learned", ...PATHWAY });

/** Moves every weight (zero-initialised ones included) by seeded noise, so no gate is zero. */
function perturb(model: DiT, seed: number, std = 0.2): void {
  const rng = new Rng(seed);
  for (const v of model.variables().values()) {
    const noise = Float32Array.from({ length: v.size }, () => rng.normal() * std);
    tf.tidy(() => v.assign(tf.add(v, tf.tensor(noise, v.shape))));
  }
}

function clip(config: DiTConfig, batch: number, frames: number, seed: number) {
  const rng = new Rng(seed);
  const { latentHeight: h, latentWidth: w, latentChannels: c, actionDim } = config;
  const normal = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  return {
    latents: tf.tensor(normal(batch * frames * h * w * c), [batch, frames, h, w, c]) as tf.Tensor5D,
    levels: tf.tensor(
      Float32Array.from({ length: batch * frames }, () => rng.next()),
      [batch, frames],
    ) as tf.Tensor2D,
    actions: tf.tensor(
      Float32Array.from({ length: batch * frames * actionDim }, () => rng.int(2)),
      [batch, frames, actionDim],
    ) as tf.Tensor3D,
  };
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** Frame `t` of `[B, T, ...]`. */
function frameOf(x: tf.Tensor, t: number): tf.Tensor {
  return tf.tidy(() => tf.squeeze(tf.slice(x, [0, t], [-1, 1]), [1]));
}

describe("DiT (tiny config)", () => {
  let model: DiT;
  beforeAll(() => {
    model = createDiT(TINY, 1);
    perturb(model, 2);
  });
  afterAll(() => model.dispose());

  it("adaLN-Zero: every block is exactly the identity at initialisation", () => {
    const fresh = createDiT(TINY, 3);
    tf.tidy(() => {
      const x = tf.randomNormal([2 * 3 * 4, TINY.hidden], 0, 1, "float32", 4) as tf.Tensor2D;
      const cond = tf.randomNormal([2 * 3, TINY.hidden], 0, 1, "float32", 5) as tf.Tensor2D;
      for (const block of fresh.blocks)
        expect(Array.from(block.forward(x, cond, 2, 3).dataSync())).toEqual(Array.from(x.dataSync()));
      // Perturbed blocks are not the identity: the check above can fail.
      expect(maxAbsDiff(model.blocks[0].forward(x, cond, 2, 3), x)).toBeGreaterThan(1e-3);
    });
    fresh.dispose();
  });

  it("is causal in frames and conditioned on each frame's own action", () => {
    tf.tidy(() => {
      const { latents, levels, actions } = clip(TINY, 2, 4, 6);
      const base = model.forward(latents, levels, actions).prediction;
      // Change frame 2's latents: frames 0 and 1 must not move, frames 2 and 3 must.
      const bump = tf.mul(tf.oneHot(tf.tensor1d([2], "int32"), 4).reshape([1, 4, 1, 1, 1]), 0.5);
      const moved = model.forward(tf.add(latents, bump) as tf.Tensor5D, levels, actions).prediction;
      for (const t of [0, 1]) expect(maxAbsDiff(frameOf(moved, t), frameOf(base, t))).toBeLessThan(1e-6);
      for (const t of [2, 3]) expect(maxAbsDiff(frameOf(moved, t), frameOf(base, t))).toBeGreaterThan(1e-4);
      // Change frame 1's action: frame 0 must not move, frame 1 must.
      const actionBump = tf.mul(tf.oneHot(tf.tensor1d([1], "int32"), 4).reshape([1, 4, 1]), 1);
      const acted = model.forward(latents, levels, tf.add(actions, actionBump) as tf.Tensor3D).prediction;
      expect(maxAbsDiff(frameOf(acted, 0), frameOf(base, 0))).toBeLessThan(1e-6);
      expect(maxAbsDiff(frameOf(acted, 1), frameOf(base, 1))).toBeGreaterThan(1e-4);
    });
  });

  it("forwardFrame on a sliding KV cache equals the full forward, frame by frame", () => {
    const frames = 5; // > contextFrames + 1: the window slides
    const { latents, levels, actions } = clip(TINY, 2, frames, 7);
    const full = model.forward(latents, levels, actions).prediction;
    const cache = model.createCache();
    for (let t = 0; t < frames; t++) {
      tf.tidy(() => {
        const latent = frameOf(latents, t) as tf.Tensor4D;
        const level = frameOf(levels, t) as tf.Tensor1D;
        const action = frameOf(actions, t) as tf.Tensor2D;
        const out = model.forwardFrame(cache, latent, level, action, { returnKv: true });
        expect(out.prediction.shape).toEqual([2, 4, 4, 2]);
        expect(maxAbsDiff(out.prediction, frameOf(full, t))).toBeLessThan(1e-4);
        const kv = out.kv!;
        for (const t of [...kv.keys, ...kv.values]) tf.keep(t);
        cache.push(kv, tf.keep(latent.clone()));
      });
      expect(cache.length).toBe(Math.min(t + 1, TINY.contextFrames));
    }
    // appendFrame makes the same cache as pushing returned keys/values.
    const again = model.createCache();
    tf.tidy(() => {
      for (let t = 0; t < frames - 1; t++)
        model.appendFrame(
          again,
          frameOf(latents, t) as tf.Tensor4D,
          frameOf(levels, t) as tf.Tensor1D,
          frameOf(actions, t) as tf.Tensor2D,
        );
      const last = model.forwardFrame(
        again,
        frameOf(latents, frames - 1) as tf.Tensor4D,
        frameOf(levels, frames - 1) as tf.Tensor1D,
        frameOf(actions, frames - 1) as tf.Tensor2D,
      );
      expect(maxAbsDiff(last.prediction, frameOf(full, frames - 1))).toBeLessThan(1e-4);
    });
    cache.dispose();
    again.dispose();
    full.dispose();
    tf.dispose([latents, levels, actions]);
  });

  it("appendFrame caches exactly the keys/values forwardFrame returns, block by block", () => {
    // appendFrame skips the last block's temporal mix, MLP and head: none of them feeds a key or value.
    expect(TINY.depth).toBeGreaterThan(1);
    const frames = 4;
    const { latents, levels, actions } = clip(TINY, 1, frames, 5);
    const viaForward = model.createCache();
    const viaAppend = model.createCache();
    // No enclosing tidy: the caches own what they are given, as in live play.
    for (let t = 0; t < frames; t++) {
      const [latent, level, action] = [frameOf(latents, t), frameOf(levels, t), frameOf(actions, t)];
      const out = model.forwardFrame(viaForward, latent as tf.Tensor4D, level as tf.Tensor1D, action as tf.Tensor2D, {
        returnKv: true,
      });
      out.prediction.dispose();
      viaForward.push(out.kv!, latent.clone() as tf.Tensor4D);
      model.appendFrame(viaAppend, latent as tf.Tensor4D, level as tf.Tensor1D, action as tf.Tensor2D);
      tf.dispose([latent, level, action]);
    }
    expect(viaAppend.length).toBe(viaForward.length);
    for (let block = 0; block < TINY.depth; block++) {
      for (const [j, key] of viaForward.keys(block).entries()) {
        expect(maxAbsDiff(viaAppend.keys(block)[j], key)).toBeLessThan(1e-6);
        expect(maxAbsDiff(viaAppend.values(block)[j], viaForward.values(block)[j])).toBeLessThan(1e-6);
      }
    }
    expect(maxAbsDiff(viaAppend.lastLatent!, viaForward.lastLatent!)).toBe(0);
    viaForward.dispose();
    viaAppend.dispose();
    tf.dispose([latents, levels, actions]);
  });

  it("guidance: a batch of (action, null action) against one cache equals two separate passes", () => {
    const { latents, levels, actions } = clip(TINY, 1, 4, 21);
    const cache = model.createCache();
    tf.tidy(() => {
      for (let t = 0; t < 3; t++)
        model.appendFrame(cache, frameOf(latents, t) as tf.Tensor4D, 0.02, frameOf(actions, t) as tf.Tensor2D);
      const latent = frameOf(latents, 3) as tf.Tensor4D;
      const action = frameOf(actions, 3) as tf.Tensor2D;
      const batched = model.forwardFrame(cache, tf.concat([latent, latent]), 0.7, tf.concat([action, action]), {
        actionKeep: tf.tensor1d([1, 0]),
      }).prediction;
      const withAction = model.forwardFrame(cache, latent, 0.7, action).prediction;
      const dropped = model.forwardFrame(cache, latent, 0.7, action, { actionKeep: tf.tensor1d([0]) }).prediction;
      expect(maxAbsDiff(tf.slice(batched, [0], [1]), withAction)).toBeLessThan(1e-5);
      expect(maxAbsDiff(tf.slice(batched, [1], [1]), dropped)).toBeLessThan(1e-5);
      // The null action ignores the action given, and differs from it.
      const otherAction = tf.sub(1, action) as tf.Tensor2D;
      const droppedOther = model.forwardFrame(cache, latent, 0.7, otherAction, {
        actionKeep: tf.tensor1d([0]),
      }).prediction;
      expect(maxAbsDiff(droppedOther, dropped)).toBeLessThan(1e-6);
      expect(maxAbsDiff(withAction, dropped)).toBeGreaterThan(1e-4);
    });
    cache.dispose();
    tf.dispose([latents, levels, actions]);
  });

  it("stacks the previous frame's latent: frame t changes with frame t-1's latent even without temporal attention", () => {
    const noTemporal = createDiT({ ...TINY, contextFrames: 0 }, 4);
    perturb(noTemporal, 5);
    tf.tidy(() => {
      const { latents, levels, actions } = clip(TINY, 1, 3, 22);
      const base = noTemporal.forward(latents, levels, actions).prediction;
      const bump = tf.mul(tf.oneHot(tf.tensor1d([1], "int32"), 3).reshape([1, 3, 1, 1, 1]), 0.5);
      const moved = noTemporal.forward(tf.add(latents, bump) as tf.Tensor5D, levels, actions).prediction;
      expect(maxAbsDiff(frameOf(moved, 0), frameOf(base, 0))).toBeLessThan(1e-6);
      expect(maxAbsDiff(frameOf(moved, 2), frameOf(base, 2))).toBeGreaterThan(1e-4);
    });
    noTemporal.dispose();
  });

  it("loads configs saved before the action pathway existed: one linear action layer, no null action", () => {
    const legacy = createDiT(tinyDiTConfig(), 1);
    const names = [...legacy.variables().keys()];
    expect(names).toContain("a_embedder.proj.weight");
    expect(names.some((n) => n.startsWith("a_embedder.mlp") || n === "a_embedder.null")).toBe(false);
    expect(legacy.variables().get("x_embedder.proj.weight")!.shape).toEqual([2 * 2 * 2, 16]);
    expect(model.variables().get("x_embedder.proj.weight")!.shape).toEqual([2 * 2 * 2 * 2, TINY.hidden]);
    expect(() =>
      tf.tidy(() =>
        legacy.forwardFrame(legacy.createCache(), tf.zeros([1, 4, 4, 2]), 0.5, tf.zeros([1, ACTION_DIM]), {
          actionKeep: tf.tensor1d([0]),
        }),
      ),
    ).toThrow(/null action/);
    legacy.dispose();
  });

  it("returns attention maps: rows sum to 1, temporal maps are causal", () => {
    const { latents, levels, actions } = clip(TINY, 1, 3, 8);
    const out = model.forward(latents, levels, actions, { attention: true });
    const maps = out.attention!;
    expect(maps.spatial).toHaveLength(TINY.depth);
    expect(maps.spatial[0]).toHaveLength(TINY.heads);
    expect(maps.spatial[0][0].shape).toEqual([3, 4, 4]);
    expect(maps.temporal[1][1].shape).toEqual([4, 3, 3]);
    tf.tidy(() => {
      expect(maxAbsDiff(tf.sum(maps.spatial[1][0], -1), tf.ones([3, 4]))).toBeLessThan(1e-5);
      expect(maxAbsDiff(tf.sum(maps.temporal[0][1], -1), tf.ones([4, 3]))).toBeLessThan(1e-5);
      const t = maps.temporal[0][0].arraySync() as number[][][];
      expect(t[2][0][1]).toBe(0);
      expect(t[2][1][2]).toBe(0);
    });
    // Maps do not change the prediction.
    const plain = model.forward(latents, levels, actions).prediction;
    expect(maxAbsDiff(plain, out.prediction)).toBeLessThan(1e-6);
    disposeAttentionMaps(maps);
    tf.dispose([out.prediction, plain, latents, levels, actions]);
  });

  it("sends a gradient to every trainable variable", () => {
    tf.tidy(() => {
      const { latents, levels, actions } = clip(TINY, 2, 3, 9);
      const target = tf.randomNormal(latents.shape, 0, 1, "float32", 10);
      // Some frames dropped to the null action, so it gets a gradient too.
      const actionKeep = tf.tensor2d([1, 0, 1, 1, 1, 0], [2, 3]);
      const { grads } = tf.variableGrads(
        () =>
          tf.mean(
            tf.square(tf.sub(model.forward(latents, levels, actions, { actionKeep }).prediction, target)),
          ) as tf.Scalar,
      );
      const names = [...model.variables().keys()];
      const byVariable = new Map([...model.variables()].map(([name, v]) => [v.name, name]));
      const reached = new Set(
        Object.entries(grads)
          .filter(([, g]) => tf.max(tf.abs(g)).dataSync()[0] > 0)
          .map(([id]) => byVariable.get(id)),
      );
      expect(names.filter((n) => !reached.has(n))).toEqual([]);
    });
  });

  it("keeps numTensors flat across 100 forward passes and many forwardFrame calls", () => {
    const { latents, levels, actions } = clip(TINY, 1, 3, 11);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) model.forward(latents, levels, actions).prediction.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const cache = model.createCache();
    const latent = frameOf(latents, 0) as tf.Tensor4D;
    const action = frameOf(actions, 0) as tf.Tensor2D;
    const withFrame = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) model.appendFrame(cache, latent, 0.02, action); // fill the window
    const full = tf.memory().numTensors;
    for (let i = 0; i < 30; i++) {
      model.forwardFrame(cache, latent, 0.5, action).prediction.dispose();
      model.appendFrame(cache, latent, 0.02, action);
    }
    expect(tf.memory().numTensors).toBe(full);
    cache.dispose();
    expect(tf.memory().numTensors).toBe(withFrame);
    tf.dispose([latent, action, latents, levels, actions]);
  });

  it("round-trips its weights bitwise into a model built from another seed", () => {
    const values: NamedTensors = new Map(
      [...model.variables()].map(([name, v]) => [name, tf.tensor(v.dataSync().slice(), v.shape)]),
    );
    const copy = createDiT(TINY, 99);
    assignVariables(copy, values);
    const { latents, levels, actions } = clip(TINY, 1, 3, 12);
    const a = model.forward(latents, levels, actions).prediction;
    const b = copy.forward(latents, levels, actions).prediction;
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    expect(maxAbsDiff(a, tf.zeros(a.shape))).toBeGreaterThan(0);
    copy.dispose();
    tf.dispose([...values.values(), a, b, latents, levels, actions]);
  });

  it("rejects inputs of the wrong shape with a typed error", () => {
    const bad = tf.zeros([1, 2, 4, 4, 3]) as tf.Tensor5D;
    expect(() => model.forward(bad, tf.zeros([1, 2]), tf.zeros([1, 2, ACTION_DIM]))).toThrow(
      expect.objectContaining({ code: "DIT_INPUT_SHAPE" }),
    );
    expect(() => createDiT({ ...TINY, hidden: 15 })).toThrow(expect.objectContaining({ code: "DIT_CONFIG_INVALID" }));
    bad.dispose();
  });
});

describe("DiT training", () => {
  it("overfits one clip: loss falls 10x", () => {
    const config: DiTConfig = { ...TINY, spatialPositions: "sincos" };
    const model = createDiT(config, 5);
    const { latents, levels, actions } = clip(config, 1, 3, 13);
    const target = tf.randomNormal(latents.shape, 0, 1, "float32", 14);
    const optimizer = tf.train.adam(1e-2);
    const vars = [...model.variables().values()];
    const lossOf = () =>
      tf.mean(tf.square(tf.sub(model.forward(latents, levels, actions).prediction, target))) as tf.Scalar;
    const first = tf.tidy(() => lossOf().dataSync()[0]);
    let last = first;
    for (let step = 0; step < 300 && last > first / 10; step++) {
      const loss = optimizer.minimize(lossOf, true, vars)!;
      last = loss.dataSync()[0];
      loss.dispose();
    }
    expect(last).toBeLessThan(first / 10);
    optimizer.dispose();
    model.dispose();
    tf.dispose([latents, levels, actions, target]);
  });
});

describe("DiT presets", () => {
  for (const name of ["realtime", "small", "base"] as const) {
    it(`${name}: parameter count matches the formula and output shapes hold`, () => {
      const config = DIT_PRESETS[name];
      const model = createDiT(config, 0);
      expect(countParameters(model)).toBe(ditParameterCount(config));
      const { latentHeight: h, latentWidth: w, latentChannels: c } = config;
      tf.tidy(() => {
        if (name !== "base") {
          const { latents, levels, actions } = clip(config, 1, 2, 15);
          expect(model.forward(latents, levels, actions).prediction.shape).toEqual([1, 2, h, w, c]);
        }
        const cache = model.createCache();
        const frame = model.forwardFrame(cache, tf.zeros([1, h, w, c]), 0.5, tf.zeros([1, config.actionDim]), {
          returnKv: true,
        });
        expect(frame.prediction.shape).toEqual([1, h, w, c]);
        expect(frame.kv!.keys).toHaveLength(config.depth);
      });
      model.dispose();
    });
  }
});
