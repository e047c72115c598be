/**
 * Benchmark sections for performance work, run by the suite in Node and Chromium:
 * - `train`: the trainer's own DiT training step at batch 4 (loss, gradients, global-norm
 *   clipping, AdamW, EMA), ms/step and examples/s, kernels per step;
 * - `profile`: where a realtime frame's time goes, component by component, timed interleaved in
 *   one loop so machine load hits every component alike: a DiT pass on a full KV cache, the VAE
 *   decode with its readback, and the float -> RGBA conversion; with kernel counts (load-free).
 * Also `measureDiTBlock`, the tfjs side of the PyTorch comparison (bench/pytorch.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { summarize, type BenchResult, type BenchSection, type SuiteContext, type TimingStats } from "./primitives.js";
import {
  createDiT,
  DiTBlock,
  type DiT,
  type DiTConfig,
  ditFrameFlops,
  ditTrainStepFlops,
  PRESETS,
  type PresetName,
  createVAE,
  vaeDecoderFlops,
} from "../models/index.js";
import { unitToRgba, formatKernelRows, profileKernels, Rng } from "../core/index.js";
import { type NamedVariables, gaussianNoise } from "../nn/index.js";
import type { LatentClipSource } from "../data/index.js";
import { DEFAULT_DIT_TRAIN, DEFAULT_OPTIM, Trainer, setupDiTTask } from "../train/index.js";

const now = (): number => (typeof performance !== "undefined" ? performance.now() : Date.now());

/** Moves every weight off its (often zero) initial value, so no adaLN gate short-cuts the work. */
function perturb(vars: NamedVariables, seed: number): void {
  let i = 0;
  for (const v of vars.values()) {
    const moved = tf.tidy(() => tf.add(v, tf.mul(gaussianNoise(v.shape, seed + i++), 0.02)));
    v.assign(moved);
    moved.dispose();
  }
}

/** Peak resident memory figures the host exposes (bytes), or null where it has none. */
export function hostMemory(): { rssBytes: number | null; jsHeapBytes: number | null; wasmHeapBytes: number | null } {
  const proc = (globalThis as { process?: { memoryUsage?: () => { rss: number; heapUsed: number } } }).process;
  const perfMemory = (globalThis as { performance?: { memory?: { usedJSHeapSize: number } } }).performance?.memory;
  const backend = tf.getBackend() === "wasm" ? (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }) : null;
  return {
    rssBytes: proc?.memoryUsage ? proc.memoryUsage().rss : null,
    jsHeapBytes: proc?.memoryUsage ? proc.memoryUsage().heapUsed : perfMemory ? perfMemory.usedJSHeapSize : null,
    // The wasm heap only grows: its size is the backend's peak.
    wasmHeapBytes: backend?.wasm?.HEAPU8 ? backend.wasm.HEAPU8.byteLength : null,
  };
}

// ---------------------------------------------------------------------------------------------
// Training

export interface TrainStepBench {
  preset: PresetName;
  batch: number;
  frames: number;
  stats: TimingStats;
  msPerStep: number;
  examplesPerSecond: number;
  variables: number;
  kernelsPerStep: number;
  peakBytes: number;
  flopsPerStep: number;
  gflops: number;
  topKernels: string;
}

/**
 * Times `steps` training steps of a preset's DiT on random latent clips `[batch, frames, h, w, c]`
 * after `warmup` untimed ones: the trainer's own step (`Trainer.trainStep` of ../train/loop.ts:
 * the batch, variableGrads of the DiT loss, global-norm clipping, AdamW, EMA, one readback), on a
 * task made by the shared training setup (../train/setup.ts) with the default recipe.
 */
export async function measureTrainStep(options: {
  preset: PresetName;
  batch?: number;
  frames?: number;
  steps: number;
  warmup?: number;
  profile?: boolean;
}): Promise<TrainStepBench> {
  const preset = PRESETS[options.preset];
  const batch = options.batch ?? 4;
  const frames = options.frames ?? DEFAULT_DIT_TRAIN.clipLength;
  const { latentHeight: h, latentWidth: w, latentChannels: c, actionDim } = preset.dit;
  const latents = gaussianNoise([batch, frames, h, w, c], 2) as tf.Tensor5D;
  const actions = tf.tidy(() =>
    tf.cast(tf.greater(gaussianNoise([batch, frames, actionDim], 3), 1), "float32"),
  ) as tf.Tensor3D;
  // The same clips every step (the task disposes each batch, so it gets copies).
  const source: LatentClipSource = { sampleClips: () => ({ latents: tf.clone(latents), actions: tf.clone(actions) }) };
  const task = setupDiTTask({
    start: { from: "config", config: preset.dit, seed: 0 },
    vae: preset.vae,
    latents: source,
    settings: { clipLength: frames },
  });
  const warmup = options.warmup ?? 1;
  const trainer = new Trainer(task, {
    steps: warmup + options.steps,
    batchSize: batch,
    seed: 1,
    optim: DEFAULT_OPTIM,
    yieldBetweenSteps: false,
  });
  try {
    for (let i = 0; i < warmup; i++) await trainer.trainStep();
    const samples: number[] = [];
    for (let i = 0; i < options.steps; i++) {
      const t0 = now();
      if (!(await trainer.trainStep()))
        throw new Error(`measureTrainStep: ${options.preset} at batch ${batch} ran out of memory`);
      samples.push(now() - t0);
    }
    let profile = null;
    if (options.profile) {
      const batchForProfile = await task.nextBatch(new Rng(2), batch);
      profile = await profileKernels(() => {
        trainer.trainOnBatch(batchForProfile, DEFAULT_OPTIM.lr);
        return [];
      });
      task.disposeBatch(batchForProfile);
    }
    const stats = summarize(samples);
    const flops = ditTrainStepFlops(preset.dit, batch, frames);
    return {
      preset: preset.name,
      batch,
      frames,
      stats,
      msPerStep: stats.medianMs,
      examplesPerSecond: (batch * 1000) / stats.medianMs,
      variables: task.model.variables().size,
      kernelsPerStep: profile?.kernels ?? -1,
      peakBytes: profile?.peakBytes ?? -1,
      flopsPerStep: flops,
      gflops: flops / stats.medianMs / 1e6,
      topKernels: profile ? formatKernelRows(profile.rows) : "",
    };
  } finally {
    tf.dispose([latents, actions]);
    trainer.dispose();
    task.model.dispose();
  }
}

export const trainSection: BenchSection = {
  name: "train",
  description:
    "DiT training step (AdamW + clipping + EMA, random latents): ms/step, examples/s, kernels/step. Realtime at batch 4 x 5 frames over several steps; small one step at batch 1 x 2 frames (wasm heap limit); base not run.",
  async run(ctx) {
    // Batch 4 x 5 frames of small/base does not fit wasm's 4 GB heap (an out-of-memory abort
    // kills the whole runtime): small batch 1 x 5 peaked at 3.7 GB here, so small runs at
    // batch 1 x 2 frames and base is left out (see bench/README.md).
    const cases: { preset: PresetName; steps: number; batch?: number; frames?: number }[] = ctx.quick
      ? [{ preset: "realtime", steps: 2 }]
      : [
          { preset: "realtime", steps: 8 },
          { preset: "small", steps: 1, batch: 1, frames: 2 },
        ];
    // Training runs where it is fast (wasm). On webgl/webgpu here (software rasterisers, 4-25x
    // slower) one step of realtime, untimed repetitions skipped; pure-JS cpu is not a training path.
    if (ctx.backend === "cpu") return [];
    const runnable = ctx.backend === "wasm" ? cases : [{ preset: "realtime" as const, steps: 1 }];
    const results: BenchResult[] = [];
    for (const c of runnable) {
      const r = await measureTrainStep({ ...c, warmup: 1, profile: c.preset === "realtime" && ctx.backend === "wasm" });
      ctx.log(
        `train ${r.preset} batch ${r.batch}x${r.frames} on ${ctx.backend}: ${r.msPerStep.toFixed(0)} ms/step, ${r.examplesPerSecond.toFixed(2)} examples/s, ` +
          `${r.kernelsPerStep} kernels/step, ${r.variables} variables, ${r.gflops.toFixed(2)} GFLOP/s${r.topKernels ? ` (${r.topKernels})` : ""}`,
      );
      results.push({
        name: "train-step",
        host: ctx.host,
        backend: ctx.backend,
        params: { preset: r.preset, batch: r.batch, frames: r.frames },
        metric: "ms/step",
        value: r.msPerStep,
        unit: "ms",
        details: {
          examplesPerSecond: r.examplesPerSecond,
          p10Ms: r.stats.p10Ms,
          p90Ms: r.stats.p90Ms,
          reps: r.stats.reps,
          variables: r.variables,
          kernelsPerStep: r.kernelsPerStep,
          peakBytes: r.peakBytes,
          flopsPerStep: r.flopsPerStep,
          gflops: r.gflops,
          topKernels: r.topKernels,
        },
      });
    }
    return results;
  },
};

// ---------------------------------------------------------------------------------------------
// Where a realtime frame's time goes

export interface FrameProfile {
  /** Median ms of each component over interleaved rounds. */
  ditPassMs: number;
  decodeMs: number;
  rgbaMs: number;
  ditKernels: number;
  decodeKernels: number;
  ditFlops: number;
  decodeFlops: number;
  ditTop: string;
  decodeTop: string;
  rounds: number;
}

/** Components of one generated frame of `preset`, timed interleaved (see the file comment). */
export async function profileFrame(preset: PresetName, rounds: number): Promise<FrameProfile> {
  const p = PRESETS[preset];
  const dit: DiT = createDiT(p.dit, 0);
  const vae = createVAE(p.vae, 0);
  perturb(dit.variables(), 10);
  const cache = dit.createCache();
  const { latentHeight: h, latentWidth: w, latentChannels: c, actionDim } = p.dit;
  const latent = gaussianNoise([1, h, w, c], 1) as tf.Tensor4D;
  const action = tf.zeros([1, actionDim]) as tf.Tensor2D;
  const rgba = new Uint8ClampedArray(p.vae.imageSize * p.vae.imageSize * 4);
  try {
    for (let i = 0; i < p.dit.contextFrames; i++) dit.appendFrame(cache, latent, 0.02, action);
    const ditPass = () => dit.forwardFrame(cache, latent, 0.5, action).prediction;
    const decode = () => vae.decodeScaled(latent);
    const ditProfile = await profileKernels(ditPass);
    const decodeProfile = await profileKernels(decode);
    let pixels: Float32Array = new Float32Array(0);
    const times = { dit: [] as number[], decode: [] as number[], rgba: [] as number[] };
    for (let r = 0; r < rounds + 2; r++) {
      let t0 = now();
      const y = ditPass();
      await y.data();
      y.dispose();
      const t1 = now();
      const frame = decode();
      pixels = (await frame.data()) as Float32Array;
      frame.dispose();
      const t2 = now();
      unitToRgba(pixels, rgba);
      const t3 = now();
      if (r < 2) continue; // warm-up
      times.dit.push(t1 - t0);
      times.decode.push(t2 - t1);
      times.rgba.push(t3 - t2);
      t0 = t3;
    }
    return {
      ditPassMs: summarize(times.dit).medianMs,
      decodeMs: summarize(times.decode).medianMs,
      rgbaMs: summarize(times.rgba).medianMs,
      ditKernels: ditProfile.kernels,
      decodeKernels: decodeProfile.kernels,
      ditFlops: ditFrameFlops(p.dit),
      decodeFlops: vaeDecoderFlops(p.vae),
      ditTop: formatKernelRows(ditProfile.rows),
      decodeTop: formatKernelRows(decodeProfile.rows),
      rounds,
    };
  } finally {
    cache.dispose();
    tf.dispose([latent, action]);
    dit.dispose();
    vae.dispose();
  }
}

export const profileSection: BenchSection = {
  name: "profile",
  description:
    "Where a realtime frame's time goes: one DiT pass on a full KV cache, the VAE decode with readback, the RGBA conversion (interleaved medians), with kernel counts and GFLOP/s.",
  async run(ctx: SuiteContext): Promise<BenchResult[]> {
    const r = await profileFrame("realtime", ctx.quick || ctx.backend !== "wasm" ? 5 : 30);
    ctx.log(
      `profile realtime on ${ctx.backend}: DiT pass ${r.ditPassMs.toFixed(1)} ms (${r.ditKernels} kernels: ${r.ditTop}); ` +
        `decode+readback ${r.decodeMs.toFixed(1)} ms (${r.decodeKernels} kernels: ${r.decodeTop}); RGBA ${r.rgbaMs.toFixed(1)} ms`,
    );
    const base = { host: ctx.host, backend: ctx.backend, metric: "latency", unit: "ms" };
    return [
      {
        ...base,
        name: "profile-dit-pass",
        params: { preset: "realtime" },
        value: r.ditPassMs,
        details: {
          kernels: r.ditKernels,
          flops: r.ditFlops,
          gflops: r.ditFlops / r.ditPassMs / 1e6,
          top: r.ditTop,
          reps: r.rounds,
        },
      },
      {
        ...base,
        name: "profile-decode",
        params: { preset: "realtime" },
        value: r.decodeMs,
        details: {
          kernels: r.decodeKernels,
          flops: r.decodeFlops,
          gflops: r.decodeFlops / r.decodeMs / 1e6,
          top: r.decodeTop,
          reps: r.rounds,
        },
      },
      { ...base, name: "profile-rgba", params: { preset: "realtime" }, value: r.rgbaMs, details: { reps: r.rounds } },
    ];
  },
};

// ---------------------------------------------------------------------------------------------
// One DiT block, for the PyTorch comparison

export interface BlockBench {
  /** One new frame's tokens `[N, D]` against K cached frames (live play's unit of work). */
  inferenceMs: number;
  /** Forward + backward of the block on `[batch * frames * N, D]` (gradients of every weight). */
  trainMs: number;
  tokens: number;
  hidden: number;
  heads: number;
  contextFrames: number;
  batch: number;
  frames: number;
}

/**
 * Times one DiT block of `config` (random weights, seeded) in tfjs: `forwardFrame` of one frame
 * against a full cache, and forward + backward on `batch` clips of `frames` frames. Medians.
 */
export async function measureDiTBlock(
  config: DiTConfig,
  options: { reps: number; batch?: number; frames?: number },
): Promise<BlockBench> {
  const batch = options.batch ?? 4;
  const frames = options.frames ?? 5;
  const n = (config.latentHeight / config.patchSize) * (config.latentWidth / config.patchSize);
  const d = config.hidden;
  const block = new DiTBlock(new Rng(0), config);
  const vars: NamedVariables = new Map();
  block.collect("block", vars);
  perturb(vars, 20);
  const x1 = gaussianNoise([n, d], 1) as tf.Tensor2D;
  const cond1 = gaussianNoise([1, d], 2) as tf.Tensor2D;
  const keys = Array.from({ length: config.contextFrames }, (_, i) => gaussianNoise([n, d], 10 + i) as tf.Tensor2D);
  const values = Array.from({ length: config.contextFrames }, (_, i) => gaussianNoise([n, d], 20 + i) as tf.Tensor2D);
  const xb = gaussianNoise([batch * frames * n, d], 3) as tf.Tensor2D;
  const condb = gaussianNoise([batch * frames, d], 4) as tf.Tensor2D;
  const time = async (fn: () => tf.Tensor[], reps: number): Promise<number> => {
    const samples: number[] = [];
    for (let i = 0; i < reps + 2; i++) {
      const t0 = now();
      const out = fn();
      await out[0].data();
      tf.dispose(out);
      if (i >= 2) samples.push(now() - t0);
    }
    return summarize(samples).medianMs;
  };
  try {
    const inference = () => {
      const r = block.forwardFrame(x1, cond1, keys, values);
      return [r.x, r.key, r.value];
    };
    const train = () => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(block.forward(xb, condb, batch, frames)) as tf.Scalar,
        [...vars.values()],
      );
      return [value, ...Object.values(grads)];
    };
    const inferenceMs = await time(inference, options.reps);
    const trainMs = await time(train, Math.max(2, Math.round(options.reps / 5)));
    return {
      inferenceMs,
      trainMs,
      tokens: n,
      hidden: d,
      heads: config.heads,
      contextFrames: config.contextFrames,
      batch,
      frames,
    };
  } finally {
    tf.dispose([x1, cond1, xb, condb, ...keys, ...values]);
    for (const v of vars.values()) v.dispose();
  }
}
