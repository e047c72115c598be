/**
 * Seeded Gaussian noise as tensors, generated in JS from `Rng` rather than with
 * `tf.randomNormal(..., seed)`: tfjs' seeded ops go through seedrandom's `alea`, which is lost
 * when Framework bundles seedrandom for the browser ("alea is not a function"), and our own
 * generator gives the same numbers in Node, pages and workers on every backend.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../core/index.js";

/** Standard normal noise of `shape` from `seed` (an integer or an Rng that advances). */
export function gaussianNoise(shape: number[], seed: number | Rng): tf.Tensor {
  const rng = typeof seed === "number" ? new Rng(seed) : seed;
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  // Box-Muller gives two normals per pair of uniforms.
  for (let i = 0; i < size; i += 2) {
    let u = rng.next();
    while (u === 0) u = rng.next();
    const v = rng.next();
    const r = Math.sqrt(-2 * Math.log(u));
    values[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < size) values[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return tf.tensor(values, shape, "float32");
}

/** Uniform [lo, hi) noise of `shape` from `seed`. */
export function uniformNoise(shape: number[], seed: number | Rng, lo = 0, hi = 1): tf.Tensor {
  const rng = typeof seed === "number" ? new Rng(seed) : seed;
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = lo + (hi - lo) * rng.next();
  return tf.tensor(values, shape, "float32");
}
