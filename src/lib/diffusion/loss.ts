/**
 * The diffusion training loss: mean squared error between the model output and the target of
 * its parameterization, optionally weighted per sample or frame by min-SNR-gamma and masked per
 * frame (diffusion forcing trains only some frames).
 */
import * as tf from "@tensorflow/tfjs";
import { diffusionTarget, type Parameterization } from "./parameterization.js";

/**
 * Min-SNR-gamma weights (Hang et al. 2023), written for each parameterization so every one
 * weights the same x0-space error min(snr, gamma) ||x0 - x0_hat||^2:
 *   eps: min(snr, gamma) / snr = min(1, gamma / snr)   (finite at snr = 0)
 *   v:   min(snr, gamma) / (snr + 1)
 *   x0:  min(snr, gamma)
 * alphaBar: any shape (e.g. [B, T, 1, 1, 1]); returns weights of the same shape.
 */
export function minSnrWeights(alphaBar: tf.Tensor, gamma: number, parameterization: Parameterization): tf.Tensor {
  return tf.tidy(() => {
    const snr = tf.div(alphaBar, tf.sub(1, alphaBar));
    switch (parameterization) {
      case "eps":
        return tf.minimum(1, tf.div(gamma, snr));
      case "v":
        return tf.div(tf.minimum(snr, gamma), tf.add(snr, 1));
      case "x0":
        return tf.minimum(snr, gamma);
    }
  });
}

export interface DiffusionLossInputs {
  /** Model output, e.g. [B, T, h, w, c]. */
  prediction: tf.Tensor;
  /** Clean data and the noise that made x_t, same shape as prediction. */
  x0: tf.Tensor;
  eps: tf.Tensor;
  /** Alpha-bar used to noise x0, broadcastable to prediction: [B, 1, 1, 1] or [B, T, 1, 1, 1]. */
  alphaBar: tf.Tensor;
  parameterization: Parameterization;
  /** Min-SNR-gamma weighting (gamma = 5 in the paper); off when unset. */
  minSnrGamma?: number;
  /**
   * Per-frame weights or a 0/1 mask, e.g. [B, T] (trailing unit axes are added to match the data
   * rank). The loss is a weighted mean: frames with weight 0 neither count nor dilute it.
   */
  frameWeights?: tf.Tensor;
}

/**
 * Scalar loss: sum(w * m * (prediction - target)^2) / sum(m) over all elements, where m is the
 * frame mask broadcast to the data and w the min-SNR weight (1 without it). Differentiable in
 * `prediction`; with no mask it is mean(w * squared error).
 */
export function diffusionLoss(inputs: DiffusionLossInputs): tf.Scalar {
  const { prediction, x0, eps, alphaBar, parameterization, minSnrGamma, frameWeights } = inputs;
  return tf.tidy(() => {
    const target = diffusionTarget(x0, eps, alphaBar, parameterization);
    let squared = tf.squaredDifference(prediction, target);
    if (minSnrGamma !== undefined) squared = tf.mul(squared, minSnrWeights(alphaBar, minSnrGamma, parameterization));
    if (frameWeights === undefined) return tf.mean(squared) as tf.Scalar;
    const mask = tf.broadcastTo(withTrailingAxes(frameWeights, prediction.rank), prediction.shape);
    return tf.div(tf.sum(tf.mul(squared, mask)), tf.maximum(tf.sum(mask), 1e-12)) as tf.Scalar;
  });
}

function withTrailingAxes(t: tf.Tensor, rank: number): tf.Tensor {
  return t.rank >= rank ? t : tf.reshape(t, [...t.shape, ...new Array<number>(rank - t.rank).fill(1)]);
}
