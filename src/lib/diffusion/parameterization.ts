/**
 * What a denoiser predicts (eps, v or x0) and every conversion between them, in one place.
 *
 * With a = sqrt(alphaBar), b = sqrt(1 - alphaBar):
 *   x_t = a x0 + b eps                     (q-sample)
 *   v   = a eps - b x0                     (Salimans & Ho 2022)
 *   x0  = (x_t - b eps) / a  = a x_t - b v
 *   eps = (x_t - a x0) / b   = b x_t + a v
 * Only eps -> x0 divides by a, which is 0 at a zero-terminal-SNR step: eps-prediction carries no
 * information about x0 there (x_T = eps), so use v or x0 with such schedules.
 *
 * Shapes: x0, eps, x_t, predictions share one shape, e.g. latents [B, h, w, c] or latent clips
 * [B, T, h, w, c]. `alphaBar` is a number or a tensor broadcastable to that shape: [B, 1, 1, 1]
 * per sample, [B, T, 1, 1, 1] per frame (diffusion forcing). Every function returns a new tensor
 * and disposes its intermediates; inputs are never disposed.
 */
import * as tf from "@tensorflow/tfjs";
import { GamedreamError } from "../core/index.js";
import { alphaBarAt, type Schedule } from "./schedules.js";

export type Parameterization = "eps" | "v" | "x0";
export const PARAMETERIZATIONS: readonly { name: Parameterization; label: string }[] = [
  { name: "eps", label: "eps (noise)" },
  { name: "v", label: "v (velocity)" },
  { name: "x0", label: "x0 (clean sample)" },
];

/** A scalar alpha-bar or a tensor broadcastable to the data. */
export type AlphaBar = number | tf.Tensor;
type Coef = number | tf.Tensor;

/** [a, b] = [sqrt(ab), sqrt(1 - ab)]; tensors when ab is one (call inside tf.tidy). */
function coefficients(alphaBar: AlphaBar): [Coef, Coef] {
  if (typeof alphaBar === "number") return [Math.sqrt(alphaBar), Math.sqrt(Math.max(0, 1 - alphaBar))];
  return [tf.sqrt(alphaBar), tf.sqrt(tf.relu(tf.sub(1, alphaBar)))];
}

export function checkParameterization(name: string): Parameterization {
  if (PARAMETERIZATIONS.some((p) => p.name === name)) return name as Parameterization;
  throw new GamedreamError(
    "PARAMETERIZATION_UNKNOWN",
    "validation",
    `Unknown parameterization "${name}". Choose one of: ${PARAMETERIZATIONS.map((p) => p.name).join(", ")}.`,
  );
}

/** x_t = a x0 + b eps. */
export function qSample(x0: tf.Tensor, eps: tf.Tensor, alphaBar: AlphaBar): tf.Tensor {
  return tf.tidy(() => {
    const [a, b] = coefficients(alphaBar);
    return tf.add(tf.mul(x0, a), tf.mul(eps, b));
  });
}

/** x0 = (x_t - b eps) / a. Infinite where alphaBar = 0. */
export function x0FromEps(xt: tf.Tensor, eps: tf.Tensor, alphaBar: AlphaBar): tf.Tensor {
  return tf.tidy(() => {
    const [a, b] = coefficients(alphaBar);
    return tf.div(tf.sub(xt, tf.mul(eps, b)), a);
  });
}

/** eps = (x_t - a x0) / b. Infinite where alphaBar = 1 (no noise). */
export function epsFromX0(xt: tf.Tensor, x0: tf.Tensor, alphaBar: AlphaBar): tf.Tensor {
  return tf.tidy(() => {
    const [a, b] = coefficients(alphaBar);
    return tf.div(tf.sub(xt, tf.mul(x0, a)), b);
  });
}

/** v = a eps - b x0. */
export function vFromX0Eps(x0: tf.Tensor, eps: tf.Tensor, alphaBar: AlphaBar): tf.Tensor {
  return tf.tidy(() => {
    const [a, b] = coefficients(alphaBar);
    return tf.sub(tf.mul(eps, a), tf.mul(x0, b));
  });
}

/** x0 = a x_t - b v. */
export function x0FromV(xt: tf.Tensor, v: tf.Tensor, alphaBar: AlphaBar): tf.Tensor {
  return tf.tidy(() => {
    const [a, b] = coefficients(alphaBar);
    return tf.sub(tf.mul(xt, a), tf.mul(v, b));
  });
}

/** eps = b x_t + a v. */
export function epsFromV(xt: tf.Tensor, v: tf.Tensor, alphaBar: AlphaBar): tf.Tensor {
  return tf.tidy(() => {
    const [a, b] = coefficients(alphaBar);
    return tf.add(tf.mul(xt, b), tf.mul(v, a));
  });
}

/** The model output's (x0, eps) estimate, whatever it predicts. The caller disposes both. */
export function predictionToX0Eps(
  prediction: tf.Tensor,
  xt: tf.Tensor,
  alphaBar: AlphaBar,
  parameterization: Parameterization,
): { x0: tf.Tensor; eps: tf.Tensor } {
  switch (parameterization) {
    case "eps":
      return { x0: x0FromEps(xt, prediction, alphaBar), eps: prediction.clone() };
    case "x0":
      return { x0: prediction.clone(), eps: epsFromX0(xt, prediction, alphaBar) };
    case "v":
      return { x0: x0FromV(xt, prediction, alphaBar), eps: epsFromV(xt, prediction, alphaBar) };
  }
}

/** What a model with this parameterization is trained to output. */
export function diffusionTarget(
  x0: tf.Tensor,
  eps: tf.Tensor,
  alphaBar: AlphaBar,
  parameterization: Parameterization,
): tf.Tensor {
  switch (parameterization) {
    case "eps":
      return eps.clone();
    case "x0":
      return x0.clone();
    case "v":
      return vFromX0Eps(x0, eps, alphaBar);
  }
}

/**
 * Alpha-bar of each (fractional) timestep as a float32 tensor of `shape`, e.g. timesteps for
 * B x T frames and shape [B, T, 1, 1, 1] to broadcast over latent clips [B, T, h, w, c].
 */
export function alphaBarTensor(schedule: Schedule, timesteps: ArrayLike<number>, shape: number[]): tf.Tensor {
  const values = Float32Array.from(timesteps, (t) => alphaBarAt(schedule, t));
  return tf.tensor(values, shape, "float32");
}
