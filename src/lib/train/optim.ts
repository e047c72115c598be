/**
 * The optimisation pieces of a training step, as small functions over tensors: the learning-rate
 * schedule (linear warm-up then cosine decay), AdamW (tf.train.adam plus decoupled weight decay,
 * Loshchilov & Hutter 2019), global-norm gradient clipping and EMA weights.
 *
 * AdamW is tf.train.adam with two additions rather than a new optimizer class, so storage's
 * `captureOptimizerState`/`restoreOptimizerState` save and restore its moments bitwise: the
 * learning rate is set on the optimizer before each step (tfjs reads `learningRate` on every
 * `applyGradients`), and decay multiplies the decayed weights by `1 - lr * weightDecay` before
 * the Adam update, as PyTorch's AdamW does.
 */
import * as tf from "@tensorflow/tfjs";
import type { NamedTensors, NamedVariables } from "../nn/index.js";

export interface OptimConfig {
  /** Peak learning rate, reached at the end of warm-up. */
  lr: number;
  /** Steps of linear warm-up from 0 to `lr`. */
  warmupSteps: number;
  /** The cosine ends at `lr * minLrRatio` on the last step. */
  minLrRatio: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Decoupled weight decay per unit learning rate (0 = plain Adam); matrices only, see `decays`. */
  weightDecay: number;
  /** Global gradient-norm limit (0 or Infinity = no clipping). */
  clipNorm: number;
  /** EMA decay of the shadow weights (0 = no EMA). */
  emaDecay: number;
}

export const DEFAULT_OPTIM: Readonly<OptimConfig> = {
  lr: 3e-4,
  warmupSteps: 100,
  minLrRatio: 0.1,
  beta1: 0.9,
  beta2: 0.99,
  epsilon: 1e-8,
  weightDecay: 0.01,
  clipNorm: 1,
  emaDecay: 0.999,
};

/**
 * Learning rate for 0-based `step` of a run of `totalSteps`: linear warm-up over `warmupSteps`
 * (the first step already has lr / warmupSteps, never 0), then a half cosine from `lr` down to
 * `lr * minLrRatio` at the last step. Past `totalSteps` it stays at the minimum.
 */
export function learningRateAt(
  step: number,
  totalSteps: number,
  config: Pick<OptimConfig, "lr" | "warmupSteps" | "minLrRatio">,
): number {
  const { lr, warmupSteps, minLrRatio } = config;
  if (step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
  const span = Math.max(1, totalSteps - 1 - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / span);
  const min = lr * minLrRatio;
  return min + (lr - min) * 0.5 * (1 + Math.cos(Math.PI * progress));
}

/** Weight decay applies to matrices and conv kernels, not to biases, gains or 1D tables. */
export function decays(variable: tf.Variable): boolean {
  return variable.rank >= 2;
}

/** tf.train.adam configured from `config`; drive it with `adamWStep`. */
export function createAdamW(config: OptimConfig): tf.AdamOptimizer {
  return tf.train.adam(config.lr, config.beta1, config.beta2, config.epsilon);
}

/**
 * One AdamW update at learning rate `lr`: decoupled decay of the decayed variables, then Adam on
 * `grads` (keyed by model name, as `variables`). Consumes nothing; the caller disposes `grads`.
 */
export function adamWStep(
  optimizer: tf.AdamOptimizer,
  variables: NamedVariables,
  grads: NamedTensors,
  lr: number,
  weightDecay: number,
): void {
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
  if (weightDecay > 0) {
    const keep = 1 - lr * weightDecay;
    tf.tidy(() => {
      for (const v of variables.values()) if (decays(v)) v.assign(tf.mul(v, keep));
    });
  }
  optimizer.applyGradients([...grads].map(([name, tensor]) => ({ name: variables.get(name)!.name, tensor })));
}

/**
 * Global L2 norm of all gradients, and the gradients scaled so that norm is at most `maxNorm`
 * (unchanged when it already is, or when `maxNorm` is 0 or Infinity). Returns new tensors.
 */
export function clipByGlobalNorm(grads: NamedTensors, maxNorm: number): { grads: NamedTensors; norm: tf.Scalar } {
  const names = [...grads.keys()];
  const [norm, ...clipped] = tf.tidy(() => {
    const norm = tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
    const clip = maxNorm > 0 && Number.isFinite(maxNorm);
    // scale = min(1, maxNorm / norm); the epsilon keeps an all-zero gradient finite.
    const scale = clip ? tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6))) : null;
    return [norm, ...[...grads.values()].map((g) => (scale ? tf.mul(g, scale) : tf.clone(g)))];
  });
  return { grads: new Map(names.map((n, i) => [n, clipped[i]])), norm: norm as tf.Scalar };
}

/**
 * Exponential moving average of a module's weights (the weights to sample with). The decay
 * warms up as min(decay, (1 + n) / (10 + n)) over the updates n, so early shadows are not stuck
 * at the random initialisation.
 */
export class Ema {
  readonly shadow: NamedVariables = new Map();

  constructor(
    variables: NamedVariables,
    readonly decay: number,
  ) {
    for (const [name, v] of variables) this.shadow.set(name, tf.variable(v, false));
  }

  /** Decay used for update number `n` (0-based). */
  decayAt(n: number): number {
    return Math.min(this.decay, (1 + n) / (10 + n));
  }

  /** shadow = d * shadow + (1 - d) * weights, for update number `n`. */
  update(variables: NamedVariables, n: number): void {
    const d = this.decayAt(n);
    tf.tidy(() => {
      for (const [name, s] of this.shadow) s.assign(tf.add(tf.mul(s, d), tf.mul(variables.get(name)!, 1 - d)));
    });
  }

  /** Copies saved shadow values in (names as the module's variables). */
  assign(values: NamedTensors): void {
    for (const [name, s] of this.shadow) {
      const v = values.get(name);
      if (!v) throw new Error(`EMA weight "${name}" missing from the checkpoint`);
      s.assign(v);
    }
  }

  dispose(): void {
    for (const s of this.shadow.values()) s.dispose();
  }
}
