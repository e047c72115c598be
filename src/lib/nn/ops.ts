/**
 * Primitives written for the tfjs wasm backend's fast paths (measurements: docs/performance-notes.md):
 * - `matMul` is a plain 2D product whose gradient is two more plain 2D products of explicitly
 *   transposed operands. The built-in gradient uses `transposeA`/`transposeB`, which wasm runs
 *   10-20x slower than a plain matMul.
 * - `gelu` is tanh-GELU written with `sigmoid` (wasm's tanh is ~10x slower) and `x*x*x` (not pow):
 *   0.5 * (1 + tanh(u)) == sigmoid(2u), so x * sigmoid(2 * sqrt(2/pi) * (x + 0.044715 x^3)) is exact.
 * - `depthToSpace` / `spaceToDepth` use rank-4 reshape/transpose/reshape (tf.depthToSpace was 4x slower).
 */
import * as tf from "@tensorflow/tfjs";

const plainMatMul = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as tf.Tensor2D[];
      return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy as tf.Tensor2D)];
    },
  };
});

/**
 * Whether a gradient tape is recording. A custom gradient copies the tensors it saves (tfjs clones
 * them), so inference skips it: that halved the kernels of a live-play frame.
 */
export function recordingGradients(): boolean {
  return tf.engine().state.gradientDepth > 0;
}

/** `a [M, K] @ b [K, N] -> [M, N]`; gradients as plain matMuls of transposed operands. */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return recordingGradients() ? (plainMatMul(a, b) as tf.Tensor2D) : tf.matMul(a, b);
}

/**
 * `x [M, K] @ w [K, N] + bias [N]`. Without a gradient tape this is one fused kernel (wasm's
 * _FusedMatMul) instead of a product and an add: a live-play frame makes ~60 such calls per DiT
 * pass, each a kernel's overhead saved.
 */
export function affine(x: tf.Tensor2D, w: tf.Tensor2D, bias: tf.Tensor1D | null): tf.Tensor2D {
  if (!recordingGradients()) return (bias ? tf.fused.matMul({ a: x, b: w, bias }) : tf.matMul(x, w)) as tf.Tensor2D;
  return tf.tidy(() => {
    const y = matMul(x, w);
    return bias ? tf.add(y, bias) : y;
  });
}

/** sqrt(2/pi) * 2: the tanh argument of GELU, doubled because 0.5 * (1 + tanh(u)) = sigmoid(2u). */
const GELU_SCALE = 1.5957691216057308;

/** `x * sigmoid(u)` and `sigmoid(u)`, `u = GELU_SCALE * (x + 0.044715 x^3)`. */
function geluParts(x: tf.Tensor): { y: tf.Tensor; s: tf.Tensor } {
  const x2 = tf.mul(x, x);
  const s = tf.sigmoid(tf.mul(x, tf.add(tf.mul(x2, 0.044715 * GELU_SCALE), GELU_SCALE)));
  return { y: tf.mul(x, s), s };
}

/**
 * GELU with one custom gradient: tfjs's generic gradients saved a copy of every intermediate
 * (7 elementwise ops on the MLP's widest activation), which made up most of a training step's
 * memory (small preset, batch 1: ~490 MiB per block) and ~14 backward kernels; this saves x only.
 * d/dx = s + x * s * (1 - s) * GELU_SCALE * (1 + 3 * 0.044715 x^2).
 */
const geluOp = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  return {
    value: geluParts(x).y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx] = saved;
      const { s } = geluParts(sx);
      const x2 = tf.mul(sx, sx);
      const du = tf.add(tf.mul(x2, 3 * 0.044715 * GELU_SCALE), GELU_SCALE);
      const ds = tf.mul(tf.mul(s, tf.sub(1, s)), tf.mul(sx, du));
      return [tf.mul(dy, tf.add(s, ds))];
    },
  };
});

/** tanh-approximated GELU, any shape. */
export function gelu<T extends tf.Tensor>(x: T): T {
  if (recordingGradients()) return geluOp(x) as T;
  return tf.tidy(() => geluParts(x).y as T);
}

/** x * sigmoid(x), any shape. */
export function silu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)) as T);
}

/** Layer norm over the last axis without affine parameters (adaLN supplies scale and shift). */
export function layerNorm<T extends tf.Tensor>(x: T, eps = 1e-6): T {
  return tf.tidy(() => {
    const centred = tf.sub(x, tf.mean(x, -1, true));
    const variance = tf.mean(tf.mul(centred, centred), -1, true);
    return tf.mul(centred, tf.rsqrt(tf.add(variance, eps))) as T;
  });
}

/**
 * `[B, H, W, r*r*C] -> [B, H*r, W*r, C]`, the same element order as `tf.depthToSpace` (NHWC, DCR):
 * channel index = (dy * r + dx) * C + c.
 */
export function depthToSpace(x: tf.Tensor4D, r: number): tf.Tensor4D {
  const [b, h, w, d] = x.shape;
  const c = d / (r * r);
  return tf.tidy(() =>
    // [B*H, W, r, r*C] -> [B*H, r, W, r*C]
    tf.transpose(tf.reshape(x, [b * h, w, r, r * c]), [0, 2, 1, 3]).reshape([b, h * r, w * r, c]),
  );
}

/** Inverse of `depthToSpace`: `[B, H*r, W*r, C] -> [B, H, W, r*r*C]`. */
export function spaceToDepth(x: tf.Tensor4D, r: number): tf.Tensor4D {
  const [b, hr, wr, c] = x.shape;
  const h = hr / r;
  const w = wr / r;
  return tf.tidy(() =>
    // [B*H, r, W, r*C] -> [B*H, W, r, r*C]
    tf.transpose(tf.reshape(x, [b * h, r, w, r * c]), [0, 2, 1, 3]).reshape([b, h, w, r * r * c]),
  );
}

// ---------------------------------------------------------------------------------------------
// Attention within frames

/**
 * Whether splitting may go through host memory: on wasm (and cpu) when no gradient tape records
 * the ops (inference, or inside a custom gradient's forward/backward, where tfjs records nothing).
 * The wasm `Slice` kernel copies its WHOLE input out of the heap for every slice it makes, so
 * `tf.unstack` into G pieces copies the input G times: 80 pieces of [64, 32] took 50 ms, against
 * ~1 ms for one read-back and G uploads.
 */
function hostSplit(): boolean {
  const state = tf.engine().state;
  const taping = state.gradientDepth > 0 && state.kernelDepth === 0;
  const backend = tf.getBackend();
  return !taping && (backend === "wasm" || backend === "cpu");
}

/** `[G, r, c]` -> G tensors `[r, c]`. */
function unstackRows(x: tf.Tensor3D): tf.Tensor2D[] {
  const [g, r, c] = x.shape;
  if (!hostSplit()) return tf.unstack(x) as tf.Tensor2D[];
  const values = x.dataSync() as Float32Array;
  return Array.from({ length: g }, (_, i) => tf.tensor2d(values.subarray(i * r * c, (i + 1) * r * c), [r, c]));
}

/** `[F*N, c]` -> F tensors `[N, c]` (no copy when F = 1). */
function splitRows(x: tf.Tensor2D, frames: number): tf.Tensor2D[] {
  if (frames === 1) return [x];
  const [rows, c] = x.shape;
  return unstackRows(tf.reshape(x, [frames, rows / frames, c]));
}

/** `[F*N, c]` -> F transposed tensors `[c, N]`, with one transpose for all frames. */
function splitRowsTransposed(x: tf.Tensor2D, frames: number): tf.Tensor2D[] {
  if (frames === 1) return [tf.transpose(x)];
  const [rows, c] = x.shape;
  return unstackRows(tf.transpose(tf.reshape(x, [frames, rows / frames, c]), [0, 2, 1]));
}

/** Inverse of `splitRows`. */
function joinRows(parts: tf.Tensor2D[]): tf.Tensor2D {
  return parts.length === 1 ? parts[0] : (tf.concat(parts, 0) as tf.Tensor2D);
}

/** Inverse of `splitRowsTransposed`: F tensors `[c, N]` -> `[F*N, c]`. */
function joinRowsTransposed(parts: tf.Tensor2D[]): tf.Tensor2D {
  const [c, n] = parts[0].shape;
  if (parts.length === 1) return tf.transpose(parts[0]);
  const stacked = tf.reshape(tf.concat(parts, 0), [parts.length, c, n]);
  return tf.reshape(tf.transpose(stacked, [0, 2, 1]), [parts.length * n, c]) as tf.Tensor2D;
}

/**
 * Softmax attention inside each of `frames` equal row blocks, with probabilities:
 * `q, k, v [F*N, dh]` -> `out [F*N, dh]`, `probs` F tensors `[N, N]` (row = query). No gradient;
 * `frameAttention` is the differentiable version.
 */
export function frameAttentionWithProbs(
  q: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  frames: number,
  scale: number,
): { out: tf.Tensor2D; probs: tf.Tensor2D[] } {
  return tf.tidy(() => {
    const qs = splitRows(tf.mul(q, scale) as tf.Tensor2D, frames);
    const kTs = splitRowsTransposed(k, frames);
    const vs = splitRows(v, frames);
    const probs = qs.map((qf, f) => tf.softmax(tf.matMul(qf, kTs[f])) as tf.Tensor2D);
    return { out: joinRows(probs.map((p, f) => tf.matMul(p, vs[f]))), probs };
  });
}

/**
 * Differentiable `frameAttentionWithProbs(...).out`. One custom gradient for all frames keeps the
 * kernel count low (per frame: 3 products forward, 4 backward, all plain 2D, no transposes): with
 * tfjs's generic gradients a 20-frame training step ran ~26 kernels per frame and head, most of the
 * step's time in per-kernel overhead. Uses rowsum(dP * P) = rowsum(dO * O) so the softmax gradient
 * needs one reduction over all frames.
 */
export function frameAttention(
  q: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  frames: number,
  scale: number,
): tf.Tensor2D {
  if (!recordingGradients()) {
    const { out, probs } = frameAttentionWithProbs(q, k, v, frames, scale);
    tf.dispose(probs);
    return out;
  }
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qIn, kIn, vIn, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    const { out, probs } = frameAttentionWithProbs(qIn, kIn, vIn, frames, scale);
    save([qIn, kIn, vIn, out, ...probs]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, so, ...sp] = saved as tf.Tensor2D[];
        const dOut = dy as tf.Tensor2D;
        const deltas = splitRows(tf.sum(tf.mul(dOut, so), -1, true) as tf.Tensor2D, frames);
        const dOs = splitRows(dOut, frames);
        const dOTs = splitRowsTransposed(dOut, frames);
        const vTs = splitRowsTransposed(sv, frames);
        const ks = splitRows(sk, frames);
        const qTs = splitRowsTransposed(tf.mul(sq, scale) as tf.Tensor2D, frames);
        const dq: tf.Tensor2D[] = [];
        const dkT: tf.Tensor2D[] = [];
        const dvT: tf.Tensor2D[] = [];
        for (let f = 0; f < frames; f++) {
          const dS = tf.mul(sp[f], tf.sub(tf.matMul(dOs[f], vTs[f]), deltas[f])) as tf.Tensor2D;
          dq.push(tf.matMul(dS, ks[f]));
          dkT.push(tf.matMul(qTs[f], dS));
          dvT.push(tf.matMul(dOTs[f], sp[f]));
        }
        return [tf.mul(joinRows(dq), scale), joinRowsTransposed(dkT), joinRowsTransposed(dvT)];
      },
    };
  });
  return op(q, k, v) as tf.Tensor2D;
}
