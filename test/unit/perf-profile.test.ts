import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { measureTrainStep } from "../../src/lib/bench/index.js";
import { Linear, gaussianNoise } from "../../src/lib/nn/index.js";
import { profileKernels, Rng } from "../../src/lib/core/index.js";
import { conv2dSame } from "../../src/lib/models/index.js";

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe("kernel profiles", () => {
  it("count backend kernels, not op wrappers, and dispose what the call returns", async () => {
    const a = gaussianNoise([8, 16], 1) as tf.Tensor2D;
    const b = gaussianNoise([16, 4], 2) as tf.Tensor2D;
    const bias = gaussianNoise([4], 3) as tf.Tensor1D;
    const before = tf.memory().numTensors;
    const p = await profileKernels(() => tf.fused.matMul({ a, b, bias }));
    // One fused product; its custom-gradient scope and op wrapper are not kernels.
    expect(p.rows.filter((r) => r.name !== "Reshape").map((r) => [r.name, r.count])).toEqual([["_FusedMatMul", 1]]);
    expect(p.kernels).toBe(p.reshapes + 1);
    expect(tf.memory().numTensors).toBe(before);
    const plain = await profileKernels(() => tf.add(tf.matMul(a, b), bias));
    expect(plain.kernels - plain.reshapes).toBe(2);
    tf.dispose([a, b, bias]);
  });
});

describe("inference fast paths", () => {
  it("Linear is one fused kernel without a tape and equals matMul + bias, with the same gradients under a tape", async () => {
    const layer = new Linear(new Rng(1), 16, 8);
    layer.bias!.assign(gaussianNoise([8], 4) as tf.Tensor1D);
    const x = gaussianNoise([5, 16], 5) as tf.Tensor2D;
    const p = await profileKernels(() => layer.apply(x));
    expect(p.kernels - p.reshapes).toBe(1);
    const reference = tf.tidy(() => tf.add(tf.matMul(x, layer.weight), layer.bias!));
    const fast = layer.apply(x);
    expect(maxAbsDiff(fast, reference)).toBeLessThan(1e-5);
    const g = tf.grads((xi: tf.Tensor) => tf.sum(tf.square(layer.apply(xi as tf.Tensor2D))));
    const gRef = tf.grads((xi: tf.Tensor) =>
      tf.sum(tf.square(tf.add(tf.matMul(xi as tf.Tensor2D, layer.weight), layer.bias!))),
    );
    const [dx] = g([x]);
    const [dxRef] = gRef([x]);
    expect(maxAbsDiff(dx, dxRef)).toBeLessThan(1e-4);
    tf.dispose([x, reference, fast, dx, dxRef]);
    layer.dispose();
  });

  it("conv2dSame with a fused sigmoid equals sigmoid(conv) at inference and under a tape", () => {
    const x = gaussianNoise([1, 6, 6, 3], 6) as tf.Tensor4D;
    const w = tf.mul(gaussianNoise([3, 3, 3, 4], 7), 0.3) as tf.Tensor4D;
    const b = gaussianNoise([4], 8) as tf.Tensor1D;
    const reference = tf.tidy(() => tf.sigmoid(tf.add(tf.conv2d(x, w, 1, "same"), b)));
    const fused = conv2dSame(x, w, b, "sigmoid");
    expect(maxAbsDiff(fused, reference)).toBeLessThan(1e-5);
    const [dw] = tf.grads((wi: tf.Tensor) => tf.sum(conv2dSame(x, wi as tf.Tensor4D, b, "sigmoid")))([w]);
    // wasm has no Conv2DBackpropFilter: the reference is conv2dSame's own (tested) gradient.
    const [dwRef] = tf.grads((wi: tf.Tensor) => tf.sum(tf.sigmoid(conv2dSame(x, wi as tf.Tensor4D, b))))([w]);
    expect(maxAbsDiff(dw, dwRef)).toBeLessThan(1e-4);
    tf.dispose([x, w, b, reference, fused, dw, dwRef]);
  });
});

describe("train benchmark", () => {
  it("times a realtime training step, counts its kernels and leaves no tensors behind", async () => {
    const before = tf.memory().numTensors;
    const r = await measureTrainStep({ preset: "realtime", batch: 1, steps: 1, warmup: 0, profile: true });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.msPerStep).toBeGreaterThan(0);
    expect(r.examplesPerSecond).toBeCloseTo(1000 / r.msPerStep, 6);
    // 4 blocks x 21, embedders 11 (patch 2, noise MLP 4, action MLP 4, null action 1), final layer 4.
    expect(r.variables).toBe(99);
    expect(r.kernelsPerStep).toBeGreaterThan(1000);
    expect(r.peakBytes).toBeGreaterThan(0);
  }, 60_000);
});
