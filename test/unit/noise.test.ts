import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { gaussianNoise, uniformNoise } from "../../src/lib/nn/index.js";
import { Rng } from "../../src/lib/core/index.js";

describe("seeded noise", () => {
  it("is standard normal and deterministic for a seed", () => {
    const a = gaussianNoise([100, 101], 7);
    const b = gaussianNoise([100, 101], 7);
    const c = gaussianNoise([100, 101], 8);
    const { mean, variance } = tf.moments(a);
    expect(Math.abs(mean.dataSync()[0])).toBeLessThan(0.03);
    expect(Math.abs(variance.dataSync()[0] - 1)).toBeLessThan(0.05);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(tf.sub(a, c).abs().max().dataSync()[0]).toBeGreaterThan(1);
    tf.dispose([a, b, c, mean, variance]);
  });

  it("advances a shared Rng so successive draws differ", () => {
    const rng = new Rng(3);
    const a = gaussianNoise([64], rng);
    const b = gaussianNoise([64], rng);
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(b.dataSync()));
    const u = uniformNoise([1000], 5, -1, 1);
    expect(u.min().dataSync()[0]).toBeGreaterThanOrEqual(-1);
    expect(u.max().dataSync()[0]).toBeLessThan(1);
    tf.dispose([a, b, u]);
  });
});
