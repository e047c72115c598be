import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import {
  depthToSpace,
  frameAttention,
  frameAttentionWithProbs,
  gelu,
  layerNorm,
  matMul,
  spaceToDepth,
} from "../../src/lib/nn/index.js";

/** max |a - b| / max |b|. */
function relError(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / Math.max(1e-12, tf.max(tf.abs(b)).dataSync()[0]));
}

function gradsOf(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], weight: tf.Tensor): tf.Tensor[] {
  // A fixed random weighting makes every output element matter to the scalar.
  return tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(f(...args), weight)))(xs);
}

describe("matMul", () => {
  it("matches tf.matMul in value and gradients", () => {
    tf.tidy(() => {
      const a = tf.randomNormal([37, 19], 0, 1, "float32", 1) as tf.Tensor2D;
      const b = tf.randomNormal([19, 23], 0, 1, "float32", 2) as tf.Tensor2D;
      const w = tf.randomNormal([37, 23], 0, 1, "float32", 3);
      expect(relError(matMul(a, b), tf.matMul(a, b))).toBeLessThan(1e-6);
      const ours = gradsOf((x, y) => matMul(x as tf.Tensor2D, y as tf.Tensor2D), [a, b], w);
      const ref = gradsOf((x, y) => tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D), [a, b], w);
      expect(relError(ours[0], ref[0])).toBeLessThan(1e-5);
      expect(relError(ours[1], ref[1])).toBeLessThan(1e-5);
    });
  });
});

describe("gelu", () => {
  it("equals tanh-GELU in value and gradient", () => {
    tf.tidy(() => {
      const x = tf.mul(tf.randomNormal([500], 0, 1, "float32", 4), 3);
      const w = tf.randomNormal([500], 0, 1, "float32", 5);
      const reference = (t: tf.Tensor) =>
        tf.mul(
          tf.mul(t, 0.5),
          tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(t, tf.mul(0.044715, tf.pow(t, 3)))))),
        );
      expect(relError(gelu(x), reference(x))).toBeLessThan(1e-5);
      expect(relError(gradsOf(gelu, [x], w)[0], gradsOf(reference, [x], w)[0])).toBeLessThan(1e-5);
    });
  });
});

describe("layerNorm", () => {
  it("matches a moments-based reference in value and gradient", () => {
    tf.tidy(() => {
      const x = tf.add(tf.mul(tf.randomNormal([6, 10, 16], 0, 1, "float32", 6), 2), 0.5);
      const w = tf.randomNormal([6, 10, 16], 0, 1, "float32", 7);
      const reference = (t: tf.Tensor) => {
        const { mean, variance } = tf.moments(t, -1, true);
        return tf.div(tf.sub(t, mean), tf.sqrt(tf.add(variance, 1e-6)));
      };
      expect(relError(layerNorm(x), reference(x))).toBeLessThan(1e-5);
      expect(relError(gradsOf((t) => layerNorm(t), [x], w)[0], gradsOf(reference, [x], w)[0])).toBeLessThan(1e-4);
    });
  });
});

describe("depthToSpace / spaceToDepth", () => {
  it("depthToSpace matches tf.depthToSpace exactly and spaceToDepth inverts it", () => {
    tf.tidy(() => {
      const x = tf.randomNormal([2, 3, 4, 2 * 2 * 5], 0, 1, "float32", 8) as tf.Tensor4D;
      const ours = depthToSpace(x, 2);
      expect(ours.shape).toEqual([2, 6, 8, 5]);
      expect(relError(ours, tf.depthToSpace(x, 2))).toBe(0);
      expect(relError(spaceToDepth(ours, 2), x)).toBe(0);
    });
  });
});

describe("frameAttention", () => {
  const reference = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, frames: number, scale: number) => {
    const [rows, dh] = q.shape;
    const n = rows / frames;
    const q3 = tf.reshape(q, [frames, n, dh]) as tf.Tensor3D;
    const k3 = tf.reshape(k, [frames, n, dh]) as tf.Tensor3D;
    const v3 = tf.reshape(v, [frames, n, dh]) as tf.Tensor3D;
    const p = tf.softmax(tf.mul(tf.matMul(q3, k3, false, true), scale)) as tf.Tensor3D;
    return tf.reshape(tf.matMul(p, v3), [rows, dh]);
  };

  for (const frames of [1, 3]) {
    it(`matches softmax attention per frame in value and gradients (${frames} frames)`, () => {
      tf.tidy(() => {
        const n = 7;
        const dh = 5;
        const [q, k, v] = [9, 10, 11].map((s) => tf.randomNormal([frames * n, dh], 0, 1, "float32", s) as tf.Tensor2D);
        const w = tf.randomNormal([frames * n, dh], 0, 1, "float32", 12);
        const scale = 1 / Math.sqrt(dh);
        expect(relError(frameAttention(q, k, v, frames, scale), reference(q, k, v, frames, scale))).toBeLessThan(1e-5);
        const withProbs = frameAttentionWithProbs(q, k, v, frames, scale);
        expect(withProbs.probs).toHaveLength(frames);
        expect(relError(tf.sum(withProbs.probs[0], -1), tf.ones([n]))).toBeLessThan(1e-6);
        const ours = gradsOf(
          (a, b, c) => frameAttention(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D, frames, scale),
          [q, k, v],
          w,
        );
        const ref = gradsOf((a, b, c) => reference(a, b, c, frames, scale), [q, k, v], w);
        for (let i = 0; i < 3; i++) expect(relError(ours[i], ref[i])).toBeLessThan(1e-5);
      });
    });
  }
});
