import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { PSNR_CAP_DB, frameStats, gaussianWindow, mse, psnr, ssim, Rng } from "../../src/lib/core/index.js";

function randomImage(seed: number, shape: number[], lo = -1, hi = 1): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.uniform(lo, hi)),
    shape,
  );
}

/** SSIM by the definition, with plain loops (float64): `x, y` as [H][W][C] arrays. */
function referenceSsim(x: Float32Array, y: Float32Array, h: number, w: number, c: number, range: number): number {
  const g = gaussianWindow(11, 1.5);
  const c1 = (0.01 * range) ** 2;
  const c2 = (0.03 * range) ** 2;
  let total = 0;
  let count = 0;
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i + 11 <= h; i++) {
      for (let j = 0; j + 11 <= w; j++) {
        let mx = 0,
          my = 0,
          xx = 0,
          yy = 0,
          xy = 0;
        for (let u = 0; u < 11; u++) {
          for (let v = 0; v < 11; v++) {
            const wt = g[u] * g[v];
            const idx = ((i + u) * w + (j + v)) * c + ch;
            mx += wt * x[idx];
            my += wt * y[idx];
            xx += wt * x[idx] * x[idx];
            yy += wt * y[idx] * y[idx];
            xy += wt * x[idx] * y[idx];
          }
        }
        const vx = xx - mx * mx;
        const vy = yy - my * my;
        const cov = xy - mx * my;
        total += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
        count++;
      }
    }
  }
  return total / count;
}

describe("metrics", () => {
  it("PSNR of a known MSE: 0.1 everywhere on [0, 1] gives MSE 0.01 and 20 dB", async () => {
    const a = tf.zeros([8, 8, 3]);
    const b = tf.fill([8, 8, 3], 0.1);
    expect((await mse(a, b).data())[0]).toBeCloseTo(0.01, 6);
    expect((await psnr(a, b, { dataRange: 1 }).data())[0]).toBeCloseTo(20, 4);
    // Same error on the [-1, 1] scale (range 2): 10 log10(4 / 0.01) = 26.02 dB.
    expect((await psnr(a, b).data())[0]).toBeCloseTo(10 * Math.log10(400), 4);
    tf.dispose([a, b]);
  });

  it("PSNR of identical frames is capped at PSNR_CAP_DB; SSIM is 1", async () => {
    const a = randomImage(1, [2, 24, 24, 3]);
    expect(Array.from(await psnr(a, a).data())).toEqual([PSNR_CAP_DB, PSNR_CAP_DB]);
    const s = await ssim(a, a).data();
    expect(s[0]).toBeCloseTo(1, 5);
    expect(s[1]).toBeCloseTo(1, 5);
    a.dispose();
  });

  it("batched PSNR equals per-frame PSNR", async () => {
    const a = randomImage(2, [3, 16, 16, 3]);
    const b = randomImage(3, [3, 16, 16, 3]);
    const batched = await psnr(a, b).data();
    for (let i = 0; i < 3; i++) {
      const single = tf.tidy(() => psnr(tf.gather(a, i), tf.gather(b, i)));
      expect((await single.data())[0]).toBeCloseTo(batched[i], 4);
      single.dispose();
    }
    tf.dispose([a, b]);
  });

  it("SSIM of a constant offset between constant frames matches the formula", async () => {
    // Constant frames: variances and covariance are 0, so SSIM = (2 m1 m2 + C1) / (m1^2 + m2^2 + C1).
    const m1 = 0.2;
    const m2 = 0.5;
    const a = tf.fill([16, 16, 1], m1);
    const b = tf.fill([16, 16, 1], m2);
    const c1 = (0.01 * 2) ** 2;
    const expected = (2 * m1 * m2 + c1) / (m1 * m1 + m2 * m2 + c1);
    expect((await ssim(a, b).data())[0]).toBeCloseTo(expected, 4);
    tf.dispose([a, b]);
  });

  it("SSIM matches a loop implementation of the definition on random frames", async () => {
    const [h, w, c] = [20, 17, 2];
    const a = randomImage(4, [h, w, c]);
    const noise = randomImage(5, [h, w, c], -0.3, 0.3);
    const b = tf.add(a, noise);
    const expected = referenceSsim(a.dataSync() as Float32Array, b.dataSync() as Float32Array, h, w, c, 2);
    const got = (await ssim(a, b).data())[0];
    expect(got).toBeCloseTo(expected, 4);
    expect(got).toBeLessThan(0.99);
    tf.dispose([a, noise, b]);
  });

  it("frame statistics give each frame's mean and std", async () => {
    const frames = tf.tensor4d([0, 0, 2, 2, 1, 1, 1, 1], [2, 2, 2, 1]);
    const { mean, std } = frameStats(frames);
    expect(Array.from(await mean.data())).toEqual([1, 1]);
    expect(Array.from(await std.data())).toEqual([1, 0]);
    tf.dispose([frames, mean, std]);
  });

  it("disposes its intermediates and rejects mismatched shapes", () => {
    const a = randomImage(6, [2, 16, 16, 3]);
    const b = randomImage(7, [2, 16, 16, 3]);
    const before = tf.memory().numTensors;
    tf.dispose([psnr(a, b), ssim(a, b), mse(a, b), ...Object.values(frameStats(a))]);
    expect(tf.memory().numTensors).toBe(before);
    const c = tf.zeros([16, 16, 3]);
    expect(() => psnr(a, c)).toThrowError(/same shape/);
    tf.dispose([a, b, c]);
  });
});
