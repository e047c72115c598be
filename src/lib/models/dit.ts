/**
 * Video Diffusion Transformer: predicts, for every frame of a latent clip, the denoising target
 * (eps, v or x0) from that frame's noisy latent, its own noise level (diffusion forcing) and its
 * action, attending to the same patch in up to `contextFrames` earlier frames.
 *
 * Reading order (after facebookresearch/DiT models.py): config and presets, position and
 * noise-level embeddings, the block (adaLN-Zero around spatial attention, causal temporal
 * attention and an MLP), the final layer, the model with its full-clip `forward`, and the KV cache
 * with `forwardFrame` for live play.
 *
 * Layout: a clip `[B, T, h, w, c]` becomes `F = B*T` frames of `N = (h/p)*(w/p)` tokens, held as a
 * 2D `[F*N, D]` matrix in (b, t, n) order, so every Linear is one plain 2D matMul.
 *
 * Speed rules (tfjs wasm; the measurements are in docs/performance-notes.md): every 2D product
 * goes through `nn/ops` `matMul` (no transposed-flag gradients); spatial attention projects all
 * heads with one `[D, D]` Linear each for q, k, v and out, regroups rows by one transpose into
 * (frame, head) blocks, and makes one 2D product per frame and head under one custom gradient
 * (`frameAttention`); temporal attention, over at most K+1 frames, is a batched matMul over
 * (b, n, head).
 *
 * Frame positions are relative, never absolute: temporal attention adds a learned bias per head
 * and distance `t - t'` in 0..K (initialised to ALiBi-style recency slopes), and frames further
 * back than K are masked out (a sliding window). Keys and values therefore do not depend on where
 * a frame sits in a rollout, so a cached frame's keys/values stay valid as the window slides, and
 * `forwardFrame` on a cache equals the last frame of `forward` on the same frames, at any time
 * of a long rollout. Spatial positions are 2D sin-cos (fixed) or learned from that start.
 */
import * as tf from "@tensorflow/tfjs";
import { ACTION_DIM } from "../actions/index.js";
import type { Parameterization } from "../diffusion/index.js";
import { GamedreamError, Rng } from "../core/index.js";
import {
  Linear,
  variableOf,
  type Module,
  type NamedVariables,
  depthToSpace,
  frameAttention,
  frameAttentionWithProbs,
  gelu,
  layerNorm,
  matMul,
  silu,
  spaceToDepth,
} from "../nn/index.js";

export interface DiTConfig {
  /** Latent frame size `[h, w, c]` (from the VAE preset). */
  latentHeight: number;
  latentWidth: number;
  latentChannels: number;
  /** Patch side in latent pixels: N = (h/p) * (w/p) tokens per frame. */
  patchSize: number;
  hidden: number;
  depth: number;
  heads: number;
  mlpRatio: number;
  /** K: how many past frames a frame attends to (the live-play KV cache holds K frames). */
  contextFrames: number;
  /** Length of an encoded action vector. */
  actionDim: number;
  /** Width of the sinusoidal noise-level features fed to the noise-level MLP. */
  frequencyDim: number;
  spatialPositions: "sincos" | "learned";
  /** What the network predicts; samplers convert with the parameterisation module. */
  parameterization: Parameterization;
  /**
   * The action pathway (each field defaults to the first, weakest form when absent, as in
   * configs saved before it existed):
   * - `actionEmbedder`: "linear" = one Linear(A -> D); "mlp" = Linear(A -> D), SiLU, Linear(D -> D).
   * - `actionToTokens`: the action embedding is also added to every token of its frame, so it
   *   reaches attention directly and not only through the zero-initialised adaLN gates.
   * - `nullAction`: a learned "no action given" embedding that replaces a frame's action embedding
   *   where the action-keep mask is 0 (action dropout in training, classifier-free guidance).
   */
  actionEmbedder?: "linear" | "mlp";
  actionToTokens?: boolean;
  nullAction?: boolean;
  /**
   * The patch embedder also sees the previous frame's input latent, stacked on the channels
   * (DIAMOND, GameNGen): a small camera turn is then a pixel-aligned shift of a picture the
   * network holds, not something to recover through attention. Zeros for a clip's first frame.
   */
  contextLatentInput?: boolean;
}

/** The action-pathway fields with their defaults filled in. */
export function actionPathway(
  config: DiTConfig,
): Required<Pick<DiTConfig, "actionEmbedder" | "actionToTokens" | "nullAction" | "contextLatentInput">> {
  return {
    actionEmbedder: config.actionEmbedder ?? "linear",
    actionToTokens: config.actionToTokens ?? false,
    nullAction: config.nullAction ?? false,
    contextLatentInput: config.contextLatentInput ?? false,
  };
}

export type DiTPresetName = "realtime" | "small" | "base";

const COMMON = {
  mlpRatio: 4,
  actionDim: ACTION_DIM,
  frequencyDim: 256,
  spatialPositions: "sincos",
  parameterization: "v",
  actionEmbedder: "mlp",
  actionToTokens: true,
  nullAction: true,
  contextLatentInput: true,
} as const;

/** The shared shape contract: latent sizes must match `VAE_PRESETS` of the same name. */
export const DIT_PRESETS: Readonly<Record<DiTPresetName, Readonly<DiTConfig>>> = {
  // Two context frames: the previous latent is stacked on the input, so the window mostly carries
  // motion, and training clips of 3 frames then cover every temporal distance play uses.
  realtime: {
    ...COMMON,
    latentHeight: 16,
    latentWidth: 16,
    latentChannels: 8,
    patchSize: 2,
    hidden: 128,
    depth: 4,
    heads: 4,
    contextFrames: 2,
  },
  small: {
    ...COMMON,
    latentHeight: 32,
    latentWidth: 32,
    latentChannels: 8,
    patchSize: 2,
    hidden: 256,
    depth: 8,
    heads: 4,
    contextFrames: 4,
  },
  base: {
    ...COMMON,
    latentHeight: 32,
    latentWidth: 32,
    latentChannels: 8,
    patchSize: 2,
    hidden: 384,
    depth: 12,
    heads: 6,
    contextFrames: 8,
  },
};

/** Tokens per frame. */
export function tokensPerFrame(config: DiTConfig): number {
  return (config.latentHeight / config.patchSize) * (config.latentWidth / config.patchSize);
}

function invalid(message: string, details?: Record<string, unknown>): GamedreamError {
  return new GamedreamError("DIT_CONFIG_INVALID", "model", message, { recoverable: true, details });
}

export function validateDiTConfig(config: DiTConfig): void {
  const { latentHeight: h, latentWidth: w, patchSize: p, hidden, heads } = config;
  const positive = [
    "latentHeight",
    "latentWidth",
    "latentChannels",
    "patchSize",
    "hidden",
    "depth",
    "heads",
    "mlpRatio",
    "actionDim",
    "frequencyDim",
  ] as const;
  for (const key of positive) {
    if (!Number.isInteger(config[key]) || config[key] < 1)
      throw invalid(`The DiT setting "${key}" must be a positive integer, got ${config[key]}.`);
  }
  if (!Number.isInteger(config.contextFrames) || config.contextFrames < 0) {
    throw invalid(
      `The DiT setting "contextFrames" must be a whole number of frames (0 or more), got ${config.contextFrames}.`,
    );
  }
  if (h % p !== 0 || w % p !== 0) throw invalid(`The latent size ${h}x${w} is not divisible by the patch size ${p}.`);
  if (hidden % heads !== 0)
    throw invalid(`The hidden width ${hidden} is not divisible by the ${heads} attention heads.`);
  if (hidden % 4 !== 0) throw invalid(`The hidden width ${hidden} must be a multiple of 4 for 2D sin-cos positions.`);
  if (config.frequencyDim % 2 !== 0)
    throw invalid(`The noise-level feature width ${config.frequencyDim} must be even.`);
  if (config.actionEmbedder !== undefined && config.actionEmbedder !== "linear" && config.actionEmbedder !== "mlp") {
    throw invalid(
      `The DiT setting "actionEmbedder" must be "linear" or "mlp", got "${String(config.actionEmbedder)}".`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Embeddings

/** DiT's 2D sin-cos table `[N, D]`: the first half encodes the row, the second the column. */
export function sinCosPositions(rows: number, cols: number, dim: number): Float32Array {
  const quarter = dim / 4;
  const out = new Float32Array(rows * cols * dim);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const base = (r * cols + c) * dim;
      for (let i = 0; i < quarter; i++) {
        const omega = 1 / Math.pow(10000, i / quarter);
        out[base + i] = Math.sin(r * omega);
        out[base + quarter + i] = Math.cos(r * omega);
        out[base + 2 * quarter + i] = Math.sin(c * omega);
        out[base + 3 * quarter + i] = Math.cos(c * omega);
      }
    }
  }
  return out;
}

/**
 * Sinusoidal features of `noiseLevel * 1000` (the DiT timestep embedding, [cos, sin] halves),
 * written as one `sin(t * freq + phase)` so no concat is needed. `levels [F] -> [F, dim]`.
 */
function noiseLevelFeatures(levels: tf.Tensor1D, dim: number): tf.Tensor2D {
  const half = dim / 2;
  const freq = new Float32Array(dim);
  const phase = new Float32Array(dim);
  for (let i = 0; i < half; i++) {
    const f = Math.exp((-Math.log(10000) * i) / half);
    freq[i] = f;
    freq[half + i] = f;
    phase[i] = Math.PI / 2; // cos(x) = sin(x + pi/2)
  }
  return tf.tidy(() => tf.sin(tf.add(tf.mul(tf.reshape(tf.mul(levels, 1000), [-1, 1]), freq), phase)) as tf.Tensor2D);
}

// ---------------------------------------------------------------------------------------------
// Block

/** Attention probabilities for the attention-map page (batch and frames flattened). */
export type AttentionMaps = {
  /** `[layer][head]`: `[F, N, N]`, row = query patch, column = key patch, F = B*T frames in (b, t) order. */
  spatial: tf.Tensor3D[][];
  /** `[layer][head]`: `[B*N, T, T]`, row = query frame, column = key frame, for each (b, patch). */
  temporal: tf.Tensor3D[][];
};

/** Per-block keys and values of one frame's temporal attention, each `[B*N, D]`. */
export type FrameKV = {
  keys: tf.Tensor2D[];
  values: tf.Tensor2D[];
};

/**
 * adaLN-Zero modulations of one block as ONE Linear `D -> parts*D` (DiT's `adaLN_modulation`),
 * split by reshape + unstack: against one Linear per modulation this saves 2*(parts-1) kernels
 * per pass and 2*(parts-1) variables per block for the optimizer (measured: ~1/4 of a training
 * step's kernels were Adam's, one set per variable).
 */
class Modulation {
  readonly linear: Linear;

  constructor(
    rng: Rng,
    d: number,
    readonly parts: number,
  ) {
    // adaLN-Zero: every modulation starts at zero, so each gate is 0 and each block is the identity.
    this.linear = new Linear(rng, d, parts * d, { init: "zeros" });
  }

  /** `cond [F, D]` -> `parts` tensors `[F, D]`. */
  apply(cond: tf.Tensor2D): tf.Tensor2D[] {
    return tf.tidy(() => {
      const [f, d] = cond.shape;
      return tf.unstack(tf.reshape(this.linear.apply(cond), [f, this.parts, d]), 1) as tf.Tensor2D[];
    });
  }
}

/** `layerNorm(x) * (1 + scale) + shift`, per frame: `x [F*N, D]`, `shift, scale [F, D]`. */
function modulate(x: tf.Tensor2D, shift: tf.Tensor2D, scale: tf.Tensor2D, frames: number): tf.Tensor2D {
  return tf.tidy(() => {
    // One frame (live play): `[1, D]` broadcasts over `[N, D]` as it is. Reshapes are kernels too
    // (~5-15 us each through the engine), and a DiT pass made 340 of them.
    if (frames === 1) return tf.add(tf.mul(layerNorm(x), tf.add(scale, 1)), shift) as tf.Tensor2D;
    const d = x.shape[1];
    const x3 = layerNorm(tf.reshape(x, [frames, -1, d]));
    const y = tf.add(tf.mul(x3, tf.add(tf.reshape(scale, [frames, 1, d]), 1)), tf.reshape(shift, [frames, 1, d]));
    return tf.reshape(y, [-1, d]) as tf.Tensor2D;
  });
}

/** `x + gate * y` per frame. */
function gatedResidual(x: tf.Tensor2D, gate: tf.Tensor2D, y: tf.Tensor2D, frames: number): tf.Tensor2D {
  return tf.tidy(() => {
    if (frames === 1) return tf.add(x, tf.mul(y, gate)) as tf.Tensor2D;
    const d = x.shape[1];
    return tf.add(
      x,
      tf.reshape(tf.mul(tf.reshape(y, [frames, -1, d]), tf.reshape(gate, [frames, 1, d])), [-1, d]),
    ) as tf.Tensor2D;
  });
}

/**
 * Self-attention among the N patches of each frame, one 2D product per frame and head. The heads
 * share `[D, D]` projections (4 Linears, not 4 per head: fewer, larger products, and 18 fewer
 * variables per block for the optimizer); `[F*N, D]` is regrouped by one transpose into F*H
 * (frame, head) row blocks of `[N, dh]` for `frameAttention`, and back.
 */
class SpatialAttention {
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly out: Linear;

  constructor(
    rng: Rng,
    d: number,
    readonly heads: number,
  ) {
    this.q = new Linear(rng, d, d);
    // No key bias: it adds q.b to every score of a query, which softmax cancels.
    this.k = new Linear(rng, d, d, { bias: false });
    this.v = new Linear(rng, d, d);
    this.out = new Linear(rng, d, d);
  }

  /** `[F*N, D]` -> `[F*H*N, dh]`, row blocks in (frame, head) order. */
  private group(x: tf.Tensor2D, frames: number): tf.Tensor2D {
    const [rows, d] = x.shape;
    const dh = d / this.heads;
    return tf.reshape(tf.transpose(tf.reshape(x, [frames, rows / frames, this.heads, dh]), [0, 2, 1, 3]), [-1, dh]);
  }

  /** Inverse of `group`. */
  private ungroup(x: tf.Tensor2D, frames: number): tf.Tensor2D {
    const [rows, dh] = x.shape;
    const n = rows / (frames * this.heads);
    return tf.reshape(tf.transpose(tf.reshape(x, [frames, this.heads, n, dh]), [0, 2, 1, 3]), [-1, this.heads * dh]);
  }

  /** `x [F*N, D] -> [F*N, D]`; pushes `[F, N, N]` per head into `maps` when given. */
  apply(x: tf.Tensor2D, frames: number, maps?: tf.Tensor3D[]): tf.Tensor2D {
    return tf.tidy(() => {
      const h = this.heads;
      const scale = 1 / Math.sqrt(x.shape[1] / h);
      const args = [
        this.group(this.q.apply(x), frames),
        this.group(this.k.apply(x), frames),
        this.group(this.v.apply(x), frames),
        frames * h,
        scale,
      ] as const;
      let o: tf.Tensor2D;
      if (maps) {
        const withProbs = frameAttentionWithProbs(...args);
        // probs come per (frame, head): regroup to one [F, N, N] per head.
        for (let head = 0; head < h; head++)
          maps.push(tf.keep(tf.stack(withProbs.probs.filter((_, g) => g % h === head)) as tf.Tensor3D));
        o = withProbs.out;
      } else {
        o = frameAttention(...args);
      }
      return this.out.apply(this.ungroup(o, frames));
    });
  }

  collect(prefix: string, into: NamedVariables): void {
    this.q.collect(`${prefix}.q`, into);
    this.k.collect(`${prefix}.k`, into);
    this.v.collect(`${prefix}.v`, into);
    this.out.collect(`${prefix}.out`, into);
  }
}

/**
 * Causal, windowed self-attention of each patch over the same patch in frames t-K..t, with a
 * learned bias per head and distance (the only temporal position signal, see the file comment).
 */
class TemporalAttention {
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly out: Linear;
  /** `[heads, K+1]`: added to the score of a key `distance` frames back. */
  readonly distanceBias: tf.Variable<tf.Rank.R2>;

  constructor(
    rng: Rng,
    d: number,
    readonly heads: number,
    readonly window: number,
  ) {
    this.q = new Linear(rng, d, d);
    this.k = new Linear(rng, d, d, { bias: false }); // softmax cancels a key bias
    this.v = new Linear(rng, d, d);
    this.out = new Linear(rng, d, d);
    const bias = new Float32Array(heads * (window + 1));
    for (let h = 0; h < heads; h++) {
      const slope = Math.pow(2, (-8 * (h + 1)) / heads); // ALiBi slopes: heads differ in how fast they forget
      for (let dist = 0; dist <= window; dist++) bias[h * (window + 1) + dist] = -slope * dist;
    }
    this.distanceBias = variableOf(tf.tensor2d(bias, [heads, window + 1]));
  }

  /** `[H, T, T]` bias: distance bias inside the causal window, -1e9 outside it. */
  private scoreBias(frames: number): tf.Tensor3D {
    const k1 = this.window + 1;
    const select = new Float32Array(k1 * frames * frames);
    const mask = new Float32Array(frames * frames);
    for (let t = 0; t < frames; t++) {
      for (let s = 0; s < frames; s++) {
        const dist = t - s;
        if (dist >= 0 && dist <= this.window) select[dist * frames * frames + t * frames + s] = 1;
        else mask[t * frames + s] = -1e9;
      }
    }
    return tf.tidy(() => {
      const bias = matMul(this.distanceBias, tf.tensor2d(select, [k1, frames * frames]));
      return tf.add(tf.reshape(bias, [this.heads, frames, frames]), tf.tensor2d(mask, [frames, frames])) as tf.Tensor3D;
    });
  }

  /** Full clip: `x [B*T*N, D] -> [B*T*N, D]`; pushes `[B*N, T, T]` per head into `maps` when given. */
  apply(x: tf.Tensor2D, batch: number, frames: number, maps?: tf.Tensor3D[]): tf.Tensor2D {
    return tf.tidy(() => {
      const [rows, d] = x.shape;
      const n = rows / (batch * frames);
      const h = this.heads;
      const dh = d / h;
      const split = (t: tf.Tensor2D) => tf.reshape(t, [batch, frames, n, h, dh]);
      // [B, T, N, H, dh] -> [B*N*H, T, dh] (and [B*N*H, dh, T] for keys)
      const q = tf.reshape(
        tf.transpose(split(tf.mul(this.q.apply(x), 1 / Math.sqrt(dh)) as tf.Tensor2D), [0, 2, 3, 1, 4]),
        [-1, frames, dh],
      );
      const kT = tf.reshape(tf.transpose(split(this.k.apply(x)), [0, 2, 3, 4, 1]), [-1, dh, frames]);
      const v = tf.reshape(tf.transpose(split(this.v.apply(x)), [0, 2, 3, 1, 4]), [-1, frames, dh]);
      const scores = tf.add(
        tf.reshape(tf.matMul(q as tf.Tensor3D, kT as tf.Tensor3D), [-1, h, frames, frames]),
        this.scoreBias(frames),
      );
      const p = tf.softmax(scores) as tf.Tensor4D; // [B*N, H, T, T]
      if (maps) maps.push(...(tf.unstack(tf.transpose(p, [1, 0, 2, 3])) as tf.Tensor3D[]).map((m) => tf.keep(m)));
      const o = tf.matMul(tf.reshape(p, [-1, frames, frames]) as tf.Tensor3D, v as tf.Tensor3D); // [B*N*H, T, dh]
      const merged = tf.reshape(tf.transpose(tf.reshape(o, [batch, n, h, frames, dh]), [0, 3, 1, 2, 4]), [
        rows,
        d,
      ]) as tf.Tensor2D;
      return this.out.apply(merged);
    });
  }

  /**
   * One new frame against cached frames (oldest first, at most K): `x [B*N, D] -> [B*N, D]`, plus
   * this frame's keys and values `[B*N, D]` (returned so a caller may cache them). Cached frames
   * may hold one batch item for all B queries (`[N, D]`, broadcast): classifier-free guidance
   * runs the conditional and unconditional frame as a batch of 2 against one cache.
   */
  applyFrame(
    x: tf.Tensor2D,
    pastKeys: tf.Tensor2D[],
    pastValues: tf.Tensor2D[],
    batch = 1,
  ): { y: tf.Tensor2D; key: tf.Tensor2D; value: tf.Tensor2D } {
    return tf.tidy(() => {
      const [rows, d] = x.shape;
      const h = this.heads;
      const dh = d / h;
      const n = rows / batch;
      // Same rows as the query: [rows, H, dh]; otherwise [items, N, H, dh] so batches broadcast.
      const broadcast = pastKeys.some((k) => k.shape[0] !== rows);
      const view = (t: tf.Tensor2D) =>
        broadcast ? tf.reshape(t, [t.shape[0] / n, n, h, dh]) : tf.reshape(t, [t.shape[0], h, dh]);
      const q = view(tf.mul(this.q.apply(x), 1 / Math.sqrt(dh)) as tf.Tensor2D);
      const key = this.k.apply(x);
      const value = this.v.apply(x);
      const keys = [...pastKeys, key];
      const values = [...pastValues, value];
      const length = keys.length;
      // Per key frame: [.., H] scores, stacked to [.., H, L]; the bias column is the distance.
      const scores = tf.stack(
        keys.map((k) => tf.sum(tf.mul(q, view(k)), -1)),
        -1,
      );
      const distances = Array.from({ length }, (_, j) => length - 1 - j);
      const bias = tf.gather(this.distanceBias, distances, 1); // [H, L]
      const p = tf.softmax(tf.add(scores, bias)); // [.., H, L]
      const weights = tf.unstack(p, p.rank - 1);
      const mixed = tf.addN(values.map((v, j) => tf.mul(tf.expandDims(weights[j], -1), view(v))));
      return { y: this.out.apply(tf.reshape(mixed, [rows, d]) as tf.Tensor2D), key, value };
    });
  }

  /** This frame's keys and values alone, `x [B*N, D]` -> each `[B*N, D]` (what `applyFrame` returns beside y). */
  keyValue(x: tf.Tensor2D): { key: tf.Tensor2D; value: tf.Tensor2D } {
    return { key: this.k.apply(x), value: this.v.apply(x) };
  }

  collect(prefix: string, into: NamedVariables): void {
    this.q.collect(`${prefix}.q`, into);
    this.k.collect(`${prefix}.k`, into);
    this.v.collect(`${prefix}.v`, into);
    this.out.collect(`${prefix}.out`, into);
    into.set(`${prefix}.distance_bias`, this.distanceBias);
  }
}

/** adaLN-Zero block: spatial attention, causal temporal attention, MLP, each gated from the condition. */
export class DiTBlock {
  readonly spatial: SpatialAttention;
  readonly temporal: TemporalAttention;
  readonly fc1: Linear;
  readonly fc2: Linear;
  /** shift, scale, gate for spatial attention, temporal attention and the MLP, in that order. */
  readonly adaLN: Modulation;

  constructor(rng: Rng, config: DiTConfig) {
    const d = config.hidden;
    this.spatial = new SpatialAttention(rng, d, config.heads);
    this.temporal = new TemporalAttention(rng, d, config.heads, config.contextFrames);
    this.fc1 = new Linear(rng, d, d * config.mlpRatio);
    this.fc2 = new Linear(rng, d * config.mlpRatio, d);
    this.adaLN = new Modulation(rng, d, 9);
  }

  private mlp(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.fc2.apply(gelu(this.fc1.apply(x))));
  }

  /**
   * Full clip. `x [B*T*N, D]`, `cond [B*T, D]` (the SiLU of the frame conditioning) -> `[B*T*N, D]`.
   * At initialisation every gate is zero and this returns `x` exactly.
   */
  forward(x: tf.Tensor2D, cond: tf.Tensor2D, batch: number, frames: number, maps?: AttentionMaps): tf.Tensor2D {
    return tf.tidy(() => {
      const f = batch * frames;
      const [sShift, sScale, sGate, tShift, tScale, tGate, mShift, mScale, mGate] = this.adaLN.apply(cond);
      const spatialMaps: tf.Tensor3D[] | undefined = maps ? [] : undefined;
      x = gatedResidual(x, sGate, this.spatial.apply(modulate(x, sShift, sScale, f), f, spatialMaps), f);
      const temporalMaps: tf.Tensor3D[] | undefined = maps ? [] : undefined;
      x = gatedResidual(x, tGate, this.temporal.apply(modulate(x, tShift, tScale, f), batch, frames, temporalMaps), f);
      x = gatedResidual(x, mGate, this.mlp(modulate(x, mShift, mScale, f)), f);
      if (maps && spatialMaps && temporalMaps) {
        maps.spatial.push(spatialMaps);
        maps.temporal.push(temporalMaps);
      }
      return x;
    });
  }

  /** One frame per batch item: `x [B*N, D]`, `cond [B, D]`; returns the output and this frame's K/V. */
  forwardFrame(
    x: tf.Tensor2D,
    cond: tf.Tensor2D,
    pastKeys: tf.Tensor2D[],
    pastValues: tf.Tensor2D[],
  ): { x: tf.Tensor2D; key: tf.Tensor2D; value: tf.Tensor2D } {
    return tf.tidy(() => {
      const f = cond.shape[0];
      const [sShift, sScale, sGate, tShift, tScale, tGate, mShift, mScale, mGate] = this.adaLN.apply(cond);
      x = gatedResidual(x, sGate, this.spatial.apply(modulate(x, sShift, sScale, f), f), f);
      const t = this.temporal.applyFrame(modulate(x, tShift, tScale, f), pastKeys, pastValues, f);
      x = gatedResidual(x, tGate, t.y, f);
      x = gatedResidual(x, mGate, this.mlp(modulate(x, mShift, mScale, f)), f);
      return { x, key: t.key, value: t.value };
    });
  }

  /**
   * Only this frame's temporal keys/values (`forwardFrame`'s `key`, `value`): `x [B*N, D]`,
   * `cond [B, D]`. The context pass of the last block needs no more: its temporal mix, MLP and the
   * head would be computed and thrown away.
   */
  frameKeyValue(x: tf.Tensor2D, cond: tf.Tensor2D): { key: tf.Tensor2D; value: tf.Tensor2D } {
    return tf.tidy(() => {
      const f = cond.shape[0];
      const [sShift, sScale, sGate, tShift, tScale] = this.adaLN.apply(cond);
      x = gatedResidual(x, sGate, this.spatial.apply(modulate(x, sShift, sScale, f), f), f);
      return this.temporal.keyValue(modulate(x, tShift, tScale, f));
    });
  }

  collect(prefix: string, into: NamedVariables): void {
    this.spatial.collect(`${prefix}.spatial_attn`, into);
    this.temporal.collect(`${prefix}.temporal_attn`, into);
    this.fc1.collect(`${prefix}.mlp.fc1`, into);
    this.fc2.collect(`${prefix}.mlp.fc2`, into);
    this.adaLN.linear.collect(`${prefix}.adaLN_modulation`, into);
  }
}

// ---------------------------------------------------------------------------------------------
// KV cache

/**
 * Temporal keys/values of the last K clean context frames, per block, for live play, and the
 * newest frame's input latent (what `contextLatentInput` stacks onto the next frame). Frames are
 * kept as separate tensors (oldest first) so appending never concatenates: tfjs wasm copies
 * concat/slice inputs out of the heap.
 */
export class KVCache {
  private frames: FrameKV[] = [];
  private latest: tf.Tensor4D | null = null;

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.frames.length;
  }

  /**
   * Takes ownership of `kv` (and of `latent [B, h, w, c]`, the frame's input latent, when given);
   * drops (and frees) the oldest frame beyond the window.
   */
  push(kv: FrameKV, latent?: tf.Tensor4D): void {
    this.frames.push(kv);
    while (this.frames.length > this.capacity) disposeFrameKV(this.frames.shift()!);
    if (latent) {
      this.latest?.dispose();
      this.latest = latent;
    }
  }

  /**
   * Takes ownership of `latent [B, h, w, c]` as the newest latent, with no keys/values: a frame
   * that only lends its latent to the next one (the oldest frame of a "reuse-last-step" window).
   */
  pushLatent(latent: tf.Tensor4D): void {
    this.latest?.dispose();
    this.latest = latent;
  }

  /** The newest frame's input latent `[B, h, w, c]`, or null before the first push with one. */
  get lastLatent(): tf.Tensor4D | null {
    return this.latest;
  }

  /** Cached keys of one block, oldest first, each `[B*N, D]`. */
  keys(block: number): tf.Tensor2D[] {
    return this.frames.map((f) => f.keys[block]);
  }

  values(block: number): tf.Tensor2D[] {
    return this.frames.map((f) => f.values[block]);
  }

  clear(): void {
    for (const f of this.frames) disposeFrameKV(f);
    this.frames = [];
    this.latest?.dispose();
    this.latest = null;
  }

  dispose(): void {
    this.clear();
  }
}

function disposeFrameKV(kv: FrameKV): void {
  for (const t of kv.keys) t.dispose();
  for (const t of kv.values) t.dispose();
}

// ---------------------------------------------------------------------------------------------
// Model

export type DiTOutput = {
  /** `[B, T, h, w, c]`: the prediction in `config.parameterization`. */
  prediction: tf.Tensor5D;
  attention?: AttentionMaps;
};

export type FrameOutput = {
  /** `[B, h, w, c]`. */
  prediction: tf.Tensor4D;
  /** This frame's keys/values, when asked for; push them into the cache to make it context. */
  kv?: FrameKV;
};

function inputError(message: string, details?: Record<string, unknown>): GamedreamError {
  return new GamedreamError("DIT_INPUT_SHAPE", "model", message, { recoverable: true, details });
}

/** Options of a full-clip `forward`. */
export interface ForwardOptions {
  /** Return the attention probabilities of every layer and head. */
  attention?: boolean;
  /** `[B, T]` in {0, 1}: 0 replaces the frame's action by the learned null action (`nullAction`). */
  actionKeep?: tf.Tensor2D;
  /**
   * `[B, T, h, w, c]`, with `contextLatentInput`: the latent stacked onto each frame's channels
   * (default: the frame before in `latents`, zeros for the first). Training for the
   * "reuse-last-step" cache update passes clean latents here (../train/dit-task.ts).
   */
  previous?: tf.Tensor5D;
}

/** Options of `forwardFrame`. */
export interface FrameOptions {
  /** Also return this frame's keys/values. */
  returnKv?: boolean;
  /** `[B]` in {0, 1}: 0 gives that batch item the learned null action (`nullAction`). */
  actionKeep?: tf.Tensor1D;
}

export class DiT implements Module<DiTConfig> {
  readonly config: DiTConfig;
  readonly blocks: DiTBlock[] = [];
  private readonly pathway: ReturnType<typeof actionPathway>;
  private readonly patchEmbed: Linear;
  private readonly noiseMlp1: Linear;
  private readonly noiseMlp2: Linear;
  /** "linear": the only action layer; "mlp": the first of two. */
  private readonly actionEmbed: Linear;
  private readonly actionEmbed2: Linear | null;
  /** `[1, D]`: the embedding of "no action given". */
  private readonly nullEmbedding: tf.Variable<tf.Rank.R2> | null;
  /** `[N, D]`: a variable when positions are learned, a constant otherwise. */
  private readonly positions: tf.Tensor2D;
  /** Final adaLN: shift, scale. */
  private readonly finalAdaLN: Modulation;
  private readonly finalLinear: Linear;

  constructor(config: DiTConfig, seed: number) {
    validateDiTConfig(config);
    this.config = { ...config };
    this.pathway = actionPathway(config);
    const rng = new Rng(seed);
    const d = config.hidden;
    const p = config.patchSize;
    const patchDim = p * p * config.latentChannels;
    this.patchEmbed = new Linear(rng, this.pathway.contextLatentInput ? 2 * patchDim : patchDim, d);
    this.noiseMlp1 = new Linear(rng, config.frequencyDim, d, { init: { normal: 0.02 } });
    this.noiseMlp2 = new Linear(rng, d, d, { init: { normal: 0.02 } });
    const mlp = this.pathway.actionEmbedder === "mlp";
    // A Linear from the 9 action values starts near 0.02-scale (DiT's label-embedding init) when it
    // is the whole pathway; as the first layer of an MLP it gets Xavier so the action is not
    // drowned at the start (measured on the shipped weights: 0.078 rms against 0.98 for noise).
    this.actionEmbed = new Linear(rng, config.actionDim, d, { init: mlp ? "xavier" : { normal: 0.02 } });
    this.actionEmbed2 = mlp ? new Linear(rng, d, d) : null;
    this.nullEmbedding = this.pathway.nullAction ? variableOf(tf.zeros([1, d])) : null;
    const table = tf.tensor2d(sinCosPositions(config.latentHeight / p, config.latentWidth / p, d), [
      tokensPerFrame(config),
      d,
    ]);
    this.positions = config.spatialPositions === "learned" ? variableOf(table) : table;
    for (let i = 0; i < config.depth; i++) this.blocks.push(new DiTBlock(rng, config));
    // The final layer starts at zero too (DiT): the untrained model predicts 0.
    this.finalAdaLN = new Modulation(rng, d, 2);
    this.finalLinear = new Linear(rng, d, patchDim, { init: "zeros" });
  }

  variables(): NamedVariables {
    const vars: NamedVariables = new Map();
    this.patchEmbed.collect("x_embedder.proj", vars);
    if (this.positions instanceof tf.Variable) vars.set("pos_embed", this.positions);
    this.noiseMlp1.collect("t_embedder.mlp.0", vars);
    this.noiseMlp2.collect("t_embedder.mlp.2", vars);
    if (this.actionEmbed2) {
      this.actionEmbed.collect("a_embedder.mlp.0", vars);
      this.actionEmbed2.collect("a_embedder.mlp.2", vars);
    } else {
      this.actionEmbed.collect("a_embedder.proj", vars);
    }
    if (this.nullEmbedding) vars.set("a_embedder.null", this.nullEmbedding);
    this.blocks.forEach((b, i) => b.collect(`blocks.${i}`, vars));
    this.finalAdaLN.linear.collect("final_layer.adaLN_modulation", vars);
    this.finalLinear.collect("final_layer.linear", vars);
    return vars;
  }

  dispose(): void {
    for (const v of this.variables().values()) v.dispose();
    if (!this.positions.isDisposed) this.positions.dispose();
  }

  /** An empty cache sized to this model's context window. */
  createCache(): KVCache {
    return new KVCache(this.config.contextFrames);
  }

  /** Action embedding `[F, D]` of `actions [F, A]`; where `keep [F]` is 0, the null action's. */
  private embedActions(actions: tf.Tensor2D, keep?: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => {
      let e = this.actionEmbed.apply(actions);
      if (this.actionEmbed2) e = this.actionEmbed2.apply(silu(e));
      if (!keep) return e;
      if (!this.nullEmbedding)
        throw inputError(
          "This DiT has no learned null action (nullAction is off), so actions cannot be dropped or guided.",
        );
      const k = tf.reshape(keep, [-1, 1]);
      return tf.add(tf.mul(e, k), tf.mul(this.nullEmbedding, tf.sub(1, k))) as tf.Tensor2D;
    });
  }

  /** Frame conditioning, SiLU applied: `levels [F]`, action embedding `[F, D]` -> `[F, D]`. */
  private condition(levels: tf.Tensor1D, actionEmbedding: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const noise = this.noiseMlp2.apply(
        silu(this.noiseMlp1.apply(noiseLevelFeatures(levels, this.config.frequencyDim))),
      );
      return silu(tf.add(noise, actionEmbedding) as tf.Tensor2D);
    });
  }

  /**
   * `latents [F, h, w, c]` (with `previous [F, h, w, c]` stacked on the channels when
   * `contextLatentInput`) -> tokens `[F*N, D]` with spatial positions and, with `actionToTokens`,
   * the frame's action embedding `[F, D]` added.
   */
  private embed(latents: tf.Tensor4D, previous: tf.Tensor4D | null, actionEmbedding: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const { patchSize: p, hidden: d } = this.config;
      const f = latents.shape[0];
      const input = previous ? tf.concat([latents, previous], 3) : latents;
      const patches = tf.reshape(spaceToDepth(input, p), [f * tokensPerFrame(this.config), -1]) as tf.Tensor2D;
      let x = tf.add(tf.reshape(this.patchEmbed.apply(patches), [f, -1, d]), this.positions);
      if (this.pathway.actionToTokens) x = tf.add(x, tf.reshape(actionEmbedding, [f, 1, d]));
      return tf.reshape(x, [-1, d]) as tf.Tensor2D;
    });
  }

  /** Final adaLN and unpatchify: `x [F*N, D]`, `cond [F, D]` -> `[F, h, w, c]`. */
  private head(x: tf.Tensor2D, cond: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => {
      const { patchSize: p, latentHeight: h, latentWidth: w } = this.config;
      const f = cond.shape[0];
      const [shift, scale] = this.finalAdaLN.apply(cond);
      const y = this.finalLinear.apply(modulate(x, shift, scale, f));
      return depthToSpace(tf.reshape(y, [f, h / p, w / p, -1]) as tf.Tensor4D, p);
    });
  }

  private checkFrame(latent: tf.Tensor, what: string, leading: number): void {
    const { latentHeight: h, latentWidth: w, latentChannels: c } = this.config;
    const tail = latent.shape.slice(leading).join(",");
    if (latent.rank !== leading + 3 || tail !== `${h},${w},${c}`) {
      throw inputError(`The DiT expects ${what} with frames of ${h}x${w}x${c} latents, got shape [${latent.shape}].`, {
        shape: latent.shape,
      });
    }
  }

  /**
   * Full clip (training, teacher-forced evaluation, attention maps).
   * `latents [B, T, h, w, c]` noisy latents, `noiseLevels [B, T]` in [0, 1], `actions [B, T, A]`
   * -> prediction `[B, T, h, w, c]`; with `attention`, the probabilities of every layer and head.
   * With `contextLatentInput`, frame t also sees `latents[:, t-1]` (zeros for t = 0), or
   * `options.previous[:, t]` when given.
   */
  forward(
    latents: tf.Tensor5D,
    noiseLevels: tf.Tensor2D,
    actions: tf.Tensor3D,
    options: ForwardOptions = {},
  ): DiTOutput {
    this.checkFrame(latents, "latents [B, T, h, w, c]", 2);
    const [batch, frames] = latents.shape;
    if (noiseLevels.shape.join(",") !== `${batch},${frames}`)
      throw inputError(`Noise levels must have shape [${batch}, ${frames}], got [${noiseLevels.shape}].`);
    if (actions.shape.join(",") !== `${batch},${frames},${this.config.actionDim}`) {
      throw inputError(
        `Actions must have shape [${batch}, ${frames}, ${this.config.actionDim}], got [${actions.shape}].`,
      );
    }
    if (options.actionKeep && options.actionKeep.shape.join(",") !== `${batch},${frames}`) {
      throw inputError(
        `The action-keep mask must have shape [${batch}, ${frames}], got [${options.actionKeep.shape}].`,
      );
    }
    if (options.previous) {
      if (!this.pathway.contextLatentInput)
        throw inputError("This DiT does not stack a previous latent on its input (contextLatentInput is off).");
      if (options.previous.shape.join(",") !== latents.shape.join(","))
        throw inputError(
          `The previous latents must have the latents' shape [${latents.shape}], got [${options.previous.shape}].`,
        );
    }
    return tf.tidy(() => {
      const { latentHeight: h, latentWidth: w, latentChannels: c, actionDim } = this.config;
      const f = batch * frames;
      const flat = tf.reshape(latents, [f, h, w, c]) as tf.Tensor4D;
      const previous = !this.pathway.contextLatentInput
        ? null
        : options.previous
          ? (tf.reshape(options.previous, [f, h, w, c]) as tf.Tensor4D)
          : previousFrames(latents);
      const actionEmbedding = this.embedActions(
        tf.reshape(actions, [f, actionDim]),
        options.actionKeep ? tf.reshape(options.actionKeep, [f]) : undefined,
      );
      let x = this.embed(flat, previous, actionEmbedding);
      const cond = this.condition(tf.reshape(noiseLevels, [f]), actionEmbedding);
      const maps: AttentionMaps | undefined = options.attention ? { spatial: [], temporal: [] } : undefined;
      for (const block of this.blocks) x = block.forward(x, cond, batch, frames, maps);
      const prediction = tf.reshape(this.head(x, cond), [batch, frames, h, w, c]) as tf.Tensor5D;
      return maps ? { prediction, attention: maps } : { prediction };
    });
  }

  /**
   * One new frame per batch item against the cache (live play): computes only the new frame's
   * tokens. `latent [B, h, w, c]`, `noiseLevel` a number or `[B]`, `action [B, A]` -> `[B, h, w, c]`.
   * Equals the last frame of `forward` on (cached frames..., this frame). The cache may hold one
   * batch item for all B (classifier-free guidance: B = 2, conditional and unconditional). With
   * `returnKv`, also returns this frame's keys/values; `cache.push(kv, latent)` then makes it
   * context for the next frame (meaningful when the pass ran at the context noise level).
   */
  forwardFrame(
    cache: KVCache,
    latent: tf.Tensor4D,
    noiseLevel: number | tf.Tensor1D,
    action: tf.Tensor2D,
    options: FrameOptions = {},
  ): FrameOutput {
    this.checkFrameInputs(latent, noiseLevel, action);
    return tf.tidy(() => {
      const { x, cond } = this.frameTokens(cache, latent, noiseLevel, action, options.actionKeep);
      const out = this.frameBlocks(cache, x, cond, this.blocks.length);
      const prediction = this.head(out.x, cond);
      return options.returnKv ? { prediction, kv: out.kv } : { prediction };
    });
  }

  /**
   * Runs the frame at `noiseLevel` (the context level) and appends its keys/values and latent to the
   * cache: the keys/values `forwardFrame(..., { returnKv: true })` gives, without what only its
   * prediction needs (the last block's temporal mix and MLP, the head: about 15% of the pass).
   * `stacked [B, h, w, c]` is the latent the next frame sees on its channels (default `latent`;
   * the clean latent when `latent` is a noisy one under "reuse-last-step").
   */
  appendFrame(
    cache: KVCache,
    latent: tf.Tensor4D,
    noiseLevel: number | tf.Tensor1D,
    action: tf.Tensor2D,
    stacked: tf.Tensor4D = latent,
  ): void {
    const kv = this.frameKeyValues(cache, latent, noiseLevel, action);
    cache.push(kv, this.pathway.contextLatentInput ? stacked.clone() : undefined);
  }

  /** `forwardFrame`'s `kv` alone (one frame per batch item against `cache`). */
  private frameKeyValues(
    cache: KVCache,
    latent: tf.Tensor4D,
    noiseLevel: number | tf.Tensor1D,
    action: tf.Tensor2D,
  ): FrameKV {
    this.checkFrameInputs(latent, noiseLevel, action);
    return tf.tidy(() => {
      const { x, cond } = this.frameTokens(cache, latent, noiseLevel, action);
      const last = this.blocks.length - 1;
      const { x: lastInput, kv } = this.frameBlocks(cache, x, cond, last);
      const lastKv = this.blocks[last].frameKeyValue(lastInput, cond);
      return { keys: [...kv.keys, lastKv.key], values: [...kv.values, lastKv.value] };
    });
  }

  /**
   * The first `count` blocks on a new frame's tokens against the cache: `x [B*N, D]`, `cond [B, D]`
   * -> their output and each block's keys/values. Call inside a tidy.
   */
  private frameBlocks(
    cache: KVCache,
    x: tf.Tensor2D,
    cond: tf.Tensor2D,
    count: number,
  ): { x: tf.Tensor2D; kv: FrameKV } {
    const keys: tf.Tensor2D[] = [];
    const values: tf.Tensor2D[] = [];
    for (let i = 0; i < count; i++) {
      const out = this.blocks[i].forwardFrame(x, cond, cache.keys(i), cache.values(i));
      x = out.x;
      keys.push(out.key);
      values.push(out.value);
    }
    return { x, kv: { keys, values } };
  }

  private checkFrameInputs(latent: tf.Tensor4D, noiseLevel: number | tf.Tensor1D, action: tf.Tensor2D): void {
    this.checkFrame(latent, "a latent [B, h, w, c]", 1);
    const batch = latent.shape[0];
    if (action.shape.join(",") !== `${batch},${this.config.actionDim}`) {
      throw inputError(`The action must have shape [${batch}, ${this.config.actionDim}], got [${action.shape}].`);
    }
    if (typeof noiseLevel !== "number" && noiseLevel.shape.join(",") !== `${batch}`) {
      throw inputError(`The noise level must be a number or have shape [${batch}], got [${noiseLevel.shape}].`);
    }
  }

  /**
   * A new frame's tokens `x [B*N, D]` and conditioning `cond [B, D]`: its latent (with the cache's
   * newest latent stacked on, under `contextLatentInput`), noise level and action. Call inside a tidy.
   */
  private frameTokens(
    cache: KVCache,
    latent: tf.Tensor4D,
    noiseLevel: number | tf.Tensor1D,
    action: tf.Tensor2D,
    actionKeep?: tf.Tensor1D,
  ): { x: tf.Tensor2D; cond: tf.Tensor2D } {
    const batch = latent.shape[0];
    const levels = typeof noiseLevel === "number" ? (tf.fill([batch], noiseLevel) as tf.Tensor1D) : noiseLevel;
    let previous: tf.Tensor4D | null = null;
    if (this.pathway.contextLatentInput) {
      const last = cache.lastLatent;
      previous =
        last === null
          ? tf.zerosLike(latent)
          : last.shape[0] === batch
            ? last
            : (tf.tile(last, [batch / last.shape[0], 1, 1, 1]) as tf.Tensor4D);
    }
    const actionEmbedding = this.embedActions(action, actionKeep);
    return { x: this.embed(latent, previous, actionEmbedding), cond: this.condition(levels, actionEmbedding) };
  }
}

/** `[B, T, h, w, c]` -> `[B*T, h, w, c]` where frame t holds frame t-1 of its clip, zeros for t = 0. */
function previousFrames(latents: tf.Tensor5D): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, t, h, w, c] = latents.shape;
    const shifted =
      t === 1
        ? tf.zerosLike(latents)
        : tf.concat([tf.zeros([b, 1, h, w, c]), tf.slice(latents, [0, 0, 0, 0, 0], [b, t - 1, h, w, c])], 1);
    return tf.reshape(shifted, [b * t, h, w, c]) as tf.Tensor4D;
  });
}

/** A DiT with weights drawn from `seed` (adaLN-Zero: every block starts as the identity). */
export function createDiT(config: DiTConfig, seed = 0): DiT {
  return new DiT(config, seed);
}

/** Frees every tensor of an `AttentionMaps`. */
export function disposeAttentionMaps(maps: AttentionMaps): void {
  for (const layer of [...maps.spatial, ...maps.temporal]) for (const t of layer) t.dispose();
}
