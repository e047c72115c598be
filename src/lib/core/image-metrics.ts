/**
 * Image quality metrics as tensor functions: PSNR, SSIM and per-frame statistics (for drift).
 *
 * Inputs are frames `[H, W, C]` or batches `[B, H, W, C]` (both arguments the same shape); every
 * function returns one value per frame, `[B]` (`[1]` for a single frame), and disposes its
 * intermediates. Reading the numbers back is the caller's choice (`await t.data()`).
 *
 * Data range: `dataRange` is max - min of the pixel scale, default 2 for the model's frames in
 * [-1, 1]; pass 1 for [0, 1] and 255 for bytes. PSNR and SSIM depend on it (PSNR through the peak,
 * SSIM through its stabilising constants), so a report states the range it used.
 *
 * PSNR = 10 log10(R^2 / MSE), MSE over all pixels and channels of a frame. Identical frames have
 * MSE 0 and an infinite PSNR; it is capped at `PSNR_CAP_DB` (100 dB) so means and JSON stay finite.
 *
 * SSIM follows Wang et al. 2004: an 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03,
 * C1 = (K1 R)^2, C2 = (K2 R)^2, population (not sample) variances, computed per channel on the
 * "valid" positions (no padding) and averaged over positions and channels. This equals
 * scikit-image's `structural_similarity(..., gaussian_weights=True, sigma=1.5,
 * use_sample_covariance=False, data_range=R, channel_axis=-1)`.
 */
import * as tf from "@tensorflow/tfjs";
import { GamedreamError } from "./errors.js";

export const PSNR_CAP_DB = 100;
/** The model's frames live in [-1, 1]. */
export const DEFAULT_DATA_RANGE = 2;
export const SSIM_WINDOW = 11;
export const SSIM_SIGMA = 1.5;
const K1 = 0.01;
const K2 = 0.03;

export interface MetricOptions {
  /** max - min of the pixel scale (default 2, for [-1, 1]). */
  dataRange?: number;
}

/** `[H, W, C]` -> `[1, H, W, C]`; `[B, H, W, C]` unchanged. Checks that both inputs agree. */
function asBatches(a: tf.Tensor, b: tf.Tensor): [tf.Tensor4D, tf.Tensor4D] {
  if (a.shape.join(",") !== b.shape.join(",")) {
    throw new GamedreamError(
      "METRIC_SHAPE",
      "validation",
      `Frames to compare must have the same shape, got [${a.shape.join(", ")}] and [${b.shape.join(", ")}].`,
    );
  }
  if (a.rank !== 3 && a.rank !== 4) {
    throw new GamedreamError(
      "METRIC_SHAPE",
      "validation",
      `Metrics take frames [H, W, C] or batches [B, H, W, C], got [${a.shape.join(", ")}].`,
    );
  }
  return a.rank === 3
    ? [tf.expandDims(a, 0) as tf.Tensor4D, tf.expandDims(b, 0) as tf.Tensor4D]
    : [a as tf.Tensor4D, b as tf.Tensor4D];
}

function range(options: MetricOptions): number {
  const r = options.dataRange ?? DEFAULT_DATA_RANGE;
  if (!(r > 0) || !Number.isFinite(r))
    throw new GamedreamError("METRIC_RANGE", "validation", `The data range must be a positive number, got ${r}.`);
  return r;
}

/** Mean squared error per frame: `[B, H, W, C]` x2 -> `[B]`. */
export function mse(a: tf.Tensor, b: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const [x, y] = asBatches(a, b);
    return tf.mean(tf.squaredDifference(x, y), [1, 2, 3]) as tf.Tensor1D;
  });
}

/** PSNR in dB per frame, capped at `PSNR_CAP_DB`: `[B, H, W, C]` x2 -> `[B]`. */
export function psnr(a: tf.Tensor, b: tf.Tensor, options: MetricOptions = {}): tf.Tensor1D {
  const r = range(options);
  return tf.tidy(() => {
    const floor = r * r * Math.pow(10, -PSNR_CAP_DB / 10);
    const err = tf.maximum(mse(a, b), floor);
    return tf.mul(tf.div(tf.log(tf.div(r * r, err)), Math.LN10), 10) as tf.Tensor1D;
  });
}

/** Normalised 1D Gaussian taps (length SSIM_WINDOW). */
export function gaussianWindow(size = SSIM_WINDOW, sigma = SSIM_SIGMA): Float32Array {
  const taps = new Float32Array(size);
  const mid = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    taps[i] = Math.exp(-((i - mid) ** 2) / (2 * sigma * sigma));
    sum += taps[i];
  }
  return taps.map((v) => v / sum);
}

/** Separable Gaussian filter, "valid" positions: `[B, H, W, C]` -> `[B, H-10, W-10, C]`. */
function gaussianFilter(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const channels = x.shape[3];
    const taps = gaussianWindow();
    const kernel = (rows: number, cols: number) => {
      const values = new Float32Array(SSIM_WINDOW * channels);
      for (let i = 0; i < SSIM_WINDOW; i++) for (let c = 0; c < channels; c++) values[i * channels + c] = taps[i];
      return tf.tensor4d(values, [rows, cols, channels, 1]);
    };
    const horizontal = tf.depthwiseConv2d(x, kernel(1, SSIM_WINDOW), 1, "valid");
    return tf.depthwiseConv2d(horizontal, kernel(SSIM_WINDOW, 1), 1, "valid");
  });
}

/** SSIM per frame (see the file comment): `[B, H, W, C]` x2 -> `[B]`. Frames need H, W >= 11. */
export function ssim(a: tf.Tensor, b: tf.Tensor, options: MetricOptions = {}): tf.Tensor1D {
  const r = range(options);
  return tf.tidy(() => {
    const [x, y] = asBatches(a, b);
    if (x.shape[1] < SSIM_WINDOW || x.shape[2] < SSIM_WINDOW) {
      throw new GamedreamError(
        "METRIC_SHAPE",
        "validation",
        `SSIM needs frames of at least ${SSIM_WINDOW}x${SSIM_WINDOW} pixels, got ${x.shape[1]}x${x.shape[2]}.`,
      );
    }
    const c1 = (K1 * r) ** 2;
    const c2 = (K2 * r) ** 2;
    const muX = gaussianFilter(x);
    const muY = gaussianFilter(y);
    const varX = tf.sub(gaussianFilter(tf.square(x)), tf.square(muX));
    const varY = tf.sub(gaussianFilter(tf.square(y)), tf.square(muY));
    const cov = tf.sub(gaussianFilter(tf.mul(x, y)), tf.mul(muX, muY));
    const numerator = tf.mul(tf.add(tf.mul(tf.mul(muX, muY), 2), c1), tf.add(tf.mul(cov, 2), c2));
    const denominator = tf.mul(tf.add(tf.add(tf.square(muX), tf.square(muY)), c1), tf.add(tf.add(varX, varY), c2));
    return tf.mean(tf.div(numerator, denominator), [1, 2, 3]) as tf.Tensor1D;
  });
}

/** Mean and (population) standard deviation of every frame: `[B, H, W, C]` -> `[B]` each. */
export function frameStats(frames: tf.Tensor): { mean: tf.Tensor1D; std: tf.Tensor1D } {
  return tf.tidy(() => {
    const x = frames.rank === 3 ? tf.expandDims(frames, 0) : frames;
    const axes = x.shape.slice(1).map((_, i) => i + 1);
    const { mean, variance } = tf.moments(x, axes);
    return { mean: mean as tf.Tensor1D, std: tf.sqrt(variance) as tf.Tensor1D };
  });
}

/** Mean of a list of numbers, NaN for none (JSON writes it as null). */
export function average(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((s, v) => s + v, 0) / values.length;
}
