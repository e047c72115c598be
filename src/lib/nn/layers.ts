/**
 * Small layers holding their own `tf.Variable`s, initialised from a seeded `Rng` so a model is a
 * pure function of (config, seed). Weights are stored `[in, out]` (tfjs layout, `x @ W`);
 * a PyTorch export transposes them to `[out, in]`.
 */
import * as tf from "@tensorflow/tfjs";
import type { NamedVariables } from "./module.js";
import { affine } from "./ops.js";
import type { Rng } from "../core/index.js";

/** How a weight starts: Xavier-uniform (DiT's Linear init), zeros (adaLN-Zero), or N(0, std). */
export type WeightInit = "xavier" | "zeros" | { normal: number };

/** A seeded `[rows, cols]` tensor. */
export function initTensor(rng: Rng, shape: [number, number], init: WeightInit): tf.Tensor2D {
  const [rows, cols] = shape;
  const values = new Float32Array(rows * cols);
  if (init === "xavier") {
    const limit = Math.sqrt(6 / (rows + cols));
    for (let i = 0; i < values.length; i++) values[i] = rng.uniform(-limit, limit);
  } else if (init !== "zeros") {
    for (let i = 0; i < values.length; i++) values[i] = rng.normal() * init.normal;
  }
  return tf.tensor2d(values, shape);
}

/** A trainable variable taking over `value` (which is disposed). */
export function variableOf<R extends tf.Rank>(value: tf.Tensor<R>): tf.Variable<R> {
  const v = tf.variable(value);
  value.dispose();
  return v;
}

/** `y = x @ W + b` with `x [M, in] -> y [M, out]`, through `affine` (fast-gradient `matMul`; one fused kernel at inference). */
export class Linear {
  readonly weight: tf.Variable<tf.Rank.R2>;
  readonly bias: tf.Variable<tf.Rank.R1> | null;

  constructor(rng: Rng, inFeatures: number, outFeatures: number, options: { init?: WeightInit; bias?: boolean } = {}) {
    this.weight = variableOf(initTensor(rng, [inFeatures, outFeatures], options.init ?? "xavier"));
    // DiT initialises every Linear bias to zero.
    this.bias = options.bias === false ? null : variableOf(tf.zeros([outFeatures]));
  }

  /** `x [M, in] -> [M, out]`. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return affine(x, this.weight, this.bias);
  }

  /** Adds `prefix.weight` and `prefix.bias` to `into`. */
  collect(prefix: string, into: NamedVariables): void {
    into.set(`${prefix}.weight`, this.weight);
    if (this.bias) into.set(`${prefix}.bias`, this.bias);
  }

  dispose(): void {
    this.weight.dispose();
    this.bias?.dispose();
  }
}
