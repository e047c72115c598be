import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { isGamedreamError } from "../../src/lib/core/index.js";
import { assignVariables, countParameters } from "../../src/lib/nn/index.js";
import {
  conv2dSame,
  VAE_PRESETS,
  createVAE,
  estimateLatentScale,
  trainVAEStep,
  vaeDecoderFlops,
  vaeEncoderFlops,
  vaeLatentShape,
  vaeParameterCounts,
  type VAEConfig,
} from "../../src/lib/models/index.js";
import { syntheticFrames } from "../helpers/synthetic-frames.js";

/** 32x32 frames -> 8x8x4 latents: the same architecture, small enough to train in seconds. */
const TINY: VAEConfig = {
  name: "tiny",
  imageSize: 32,
  imageChannels: 3,
  latentChannels: 4,
  encoder: { stem: 2, channels: [8, 16], blocks: [1, 1] },
  decoder: { channels: [16, 8], blocks: [1, 1], head: 2 },
  latentScale: 1,
  reconLoss: "mse",
};

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe("wasm-safe ops", () => {
  it("conv2dSame gradients equal the built-in conv gradients (conv3d route for the filter)", () => {
    for (const k of [1, 3]) {
      const x = tf.randomNormal([2, 8, 8, 5], 0, 1, "float32", 1) as tf.Tensor4D;
      const w = tf.randomNormal([k, k, 5, 7], 0, 1, "float32", 2) as tf.Tensor4D;
      const b = tf.randomNormal([7], 0, 1, "float32", 3) as tf.Tensor1D;
      const dy = tf.randomNormal([2, 8, 8, 7], 0, 1, "float32", 4);
      const [gx, gw, gb] = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
        tf.sum(tf.mul(conv2dSame(xx as tf.Tensor4D, ww as tf.Tensor4D, bb as tf.Tensor1D), dy)),
      )([x, w, b]);
      const refX = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, w, 1, "same"), dy)))(x);
      // Conv2DBackpropFilter is missing on wasm; Conv3DBackpropFilterV2 (depth 1) is the slow reference.
      const refW = tf.grad((ww: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv3d(x.expandDims(1) as tf.Tensor5D, ww as tf.Tensor5D, 1, "same"), dy.expandDims(1))),
      )(w.expandDims(0) as tf.Tensor5D);
      expect(maxAbsDiff(gx, refX)).toBeLessThan(1e-4);
      expect(maxAbsDiff(gw, refW.squeeze([0]))).toBeLessThan(1e-3);
      expect(maxAbsDiff(gb, tf.sum(dy, [0, 1, 2]))).toBeLessThan(1e-4);
      tf.dispose([x, w, b, dy, gx, gw, gb, refX, refW]);
    }
  });
});

describe("VAE", () => {
  it.each(Object.keys(VAE_PRESETS) as (keyof typeof VAE_PRESETS)[])(
    "preset %s: shapes for batch 1 and 2, output in [-1, 1]",
    (name) => {
      const config = VAE_PRESETS[name];
      const vae = createVAE(config, 0);
      const latent = vaeLatentShape(config);
      expect(latent).toEqual(name === "realtime" ? [16, 16, 8] : [32, 32, 8]);
      expect(countParameters(vae)).toBe(vaeParameterCounts(config).total);
      expect(vaeDecoderFlops(config)).toBeGreaterThan(0);
      expect(vaeEncoderFlops(config)).toBeGreaterThan(0);
      // Batch handling is the same code for every preset; base (15 GFLOP per frame each way) runs
      // only batch 2 to keep this file fast.
      for (const b of name === "base" ? [2] : [1, 2]) {
        const frames = tf.randomUniform([b, 256, 256, 3], -1, 1, "float32", b) as tf.Tensor4D;
        const { mean, logvar } = vae.encode(frames);
        expect(mean.shape).toEqual([b, ...latent]);
        expect(logvar.shape).toEqual([b, ...latent]);
        // Large latents push the sigmoid head to its limits: the range must still hold.
        const out = tf.tidy(() => vae.decode(tf.mul(vae.sample(mean, logvar, 7), 50) as tf.Tensor4D));
        expect(out.shape).toEqual([b, 256, 256, 3]);
        expect(tf.min(out).dataSync()[0]).toBeGreaterThanOrEqual(-1);
        expect(tf.max(out).dataSync()[0]).toBeLessThanOrEqual(1);
        tf.dispose([frames, mean, logvar, out]);
      }
      expect([...vae.variables().keys()]).toEqual(
        expect.arrayContaining(["encoder.conv_in.weight", "decoder.up.0.conv.weight", "decoder.conv_out.bias"]),
      );
      vae.dispose();
    },
  );

  it("rejects wrong input shapes and inconsistent configs with typed errors", () => {
    const vae = createVAE(TINY, 0);
    const wrong = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    expect(() => vae.encode(wrong)).toThrowError(/expected frames of shape \[B, 32, 32, 3\]/);
    try {
      vae.decode(wrong);
    } catch (e) {
      expect(isGamedreamError(e) && e.code).toBe("VAE_INPUT_SHAPE");
    }
    expect(() => createVAE({ ...TINY, decoder: { ...TINY.decoder, head: 4 } }, 0)).toThrowError(
      /downsamples 4x but the decoder upsamples 8x/,
    );
    wrong.dispose();
    vae.dispose();
  });

  it.each(["mse", "l1"] as const)("gradients reach every variable (%s reconstruction loss)", (reconLoss) => {
    const vae = createVAE({ ...TINY, reconLoss }, 1);
    const frames = syntheticFrames(2, 5, 32);
    const vars = vae.variables();
    const { value, grads } = tf.variableGrads(
      () => vae.loss(frames, { klWeight: 1e-3, seed: 3 }).total,
      [...vars.values()],
    );
    for (const [name, v] of vars) {
      const g = grads[v.name];
      expect(g, name).toBeDefined();
      expect(tf.max(tf.abs(g)).dataSync()[0], name).toBeGreaterThan(0);
    }
    tf.dispose([value, frames, ...Object.values(grads)]);
    vae.dispose();
  });

  it("overfits a tiny batch: the loss falls by more than 10x", () => {
    const vae = createVAE(TINY, 2);
    const frames = syntheticFrames(2, 6, 32);
    const optimizer = tf.train.adam(1e-2);
    const first = trainVAEStep(vae, optimizer, frames, { klWeight: 1e-4, seed: 0 });
    let last = first;
    for (let step = 1; step < 150; step++) last = trainVAEStep(vae, optimizer, frames, { klWeight: 1e-4, seed: step });
    expect(last.total).toBeLessThan(first.total / 10);
    expect(last.recon).toBeLessThan(first.recon / 10);
    tf.dispose([frames]);
    optimizer.dispose();
    vae.dispose();
  });

  it("keeps tf.memory().numTensors flat across encode, decode, loss and training steps", () => {
    const vae = createVAE(TINY, 3);
    const frames = syntheticFrames(2, 7, 32);
    const optimizer = tf.train.adam(1e-3);
    const round = (i: number) => {
      const { mean, logvar } = vae.encode(frames);
      const z = vae.sample(mean, logvar, i);
      const scaled = vae.encodeScaled(frames, { seed: i });
      const outs = [vae.decode(z), vae.decodeScaled(scaled)];
      const l = vae.loss(frames, { klWeight: 1e-3, seed: i });
      trainVAEStep(vae, optimizer, frames, { klWeight: 1e-3, seed: i });
      tf.dispose([mean, logvar, z, scaled, ...outs, l.total, l.recon, l.kl]);
    };
    round(0); // the optimizer creates its slots on the first step
    const before = tf.memory().numTensors;
    for (let i = 1; i <= 10; i++) round(i);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([frames]);
    optimizer.dispose();
    vae.dispose();
  });

  it("save/load round trip into a model with another seed is bitwise equal", () => {
    const config = VAE_PRESETS.realtime;
    const source = createVAE(config, 11);
    const target = createVAE(config, 12);
    const frames = syntheticFrames(1, 8);
    const latents = tf.tidy(() => source.encode(frames).mean);
    const expected = source.decode(latents).dataSync();
    const before = target.decode(latents);
    expect(maxAbsDiff(before, tf.tensor(expected, before.shape))).toBeGreaterThan(0);
    // Through plain typed arrays, the way a weights file stores them.
    const saved = new Map(
      [...source.variables()].map(([name, v]) => [name, { shape: v.shape, data: v.dataSync().slice() }]),
    );
    const loaded = new Map([...saved].map(([name, s]) => [name, tf.tensor(s.data, s.shape)]));
    assignVariables(target, loaded);
    const after = target.decode(latents).dataSync();
    expect(Buffer.from(after.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    tf.dispose([frames, latents, before, ...loaded.values()]);
    source.dispose();
    target.dispose();
  });

  it("estimateLatentScale gives scaled latents unit std on the data it was fitted on", async () => {
    const vae = createVAE(TINY, 4);
    const frames = syntheticFrames(6, 9, 32);
    const scale = await estimateLatentScale(vae, frames, 4);
    vae.setLatentScale(scale);
    expect(vae.config.latentScale).toBe(scale);
    const z = vae.encodeScaled(frames);
    const { mean, variance } = tf.moments(z);
    expect(Math.sqrt(variance.dataSync()[0])).toBeCloseTo(1, 4);
    // decodeScaled undoes the scale: same frames as decoding the unscaled mean.
    const viaScaled = vae.decodeScaled(z);
    const direct = tf.tidy(() => vae.decode(vae.encode(frames).mean));
    expect(maxAbsDiff(viaScaled, direct)).toBeLessThan(1e-5);
    tf.dispose([frames, z, mean, variance, viaScaled, direct]);
    vae.dispose();
  });

  it("samples deterministically for a seed", () => {
    const vae = createVAE(TINY, 5);
    const frames = syntheticFrames(1, 10, 32);
    const { mean, logvar } = vae.encode(frames);
    const [a, b, c] = [vae.sample(mean, logvar, 1), vae.sample(mean, logvar, 1), vae.sample(mean, logvar, 2)];
    expect(maxAbsDiff(a, b)).toBe(0);
    expect(maxAbsDiff(a, c)).toBeGreaterThan(0);
    tf.dispose([frames, mean, logvar, a, b, c]);
    vae.dispose();
  });
});
