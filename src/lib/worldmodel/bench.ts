/**
 * End-to-end generation speed of a preset, the number live play lives by: per generated frame,
 * all sampling steps, the context update, the VAE decode and the readback to RGBA bytes, with the
 * KV cache full (K context frames). Random weights: the work per frame does not depend on them.
 * Runs the same in Node and in a page (the benchmark suite's `generate` section).
 */
import { NO_ACTION, type Action } from "../actions.js";
import type { BenchSection } from "../bench-suite.js";
import type { SamplerName } from "../diffusion/index.js";
import { createDiT, type DiT } from "../dit.js";
import { denoiserEvaluations, ditFrameFlops } from "../flops.js";
import { FRAME_SIZE } from "../frames.js";
import { createGame } from "../game/game.js";
import { PRESETS, type PresetName, type SamplingDefaults } from "../presets.js";
import { summarize, type BenchResult, type TimingStats } from "../bench.js";
import { DEFAULT_DIT_TRAIN } from "../train/dit-task.js";
import { createVAE, vaeDecoderFlops, type VAE } from "../vae.js";
import { createWorldModel } from "../worldmodel.js";

export interface GenerationBenchOptions {
  preset: PresetName;
  /** Sampling steps per frame (default: the preset's). */
  steps?: number;
  sampler?: SamplerName;
  cacheUpdate?: SamplingDefaults["cacheUpdate"];
  /** Timed frames (default 30), after K + 3 untimed ones that fill the cache and warm up kernels. */
  frames?: number;
}

export interface GenerationBench {
  preset: PresetName;
  steps: number;
  sampler: SamplerName;
  cacheUpdate: SamplingDefaults["cacheUpdate"];
  stats: TimingStats;
  msPerFrame: number;
  fps: number;
  /** DiT passes per frame: denoiser evaluations, plus one when the cache update is a context pass. */
  ditPasses: number;
  flopsPerFrame: number;
  /** flopsPerFrame / median time. */
  gflops: number;
}

const now = (): number => (typeof performance !== "undefined" ? performance.now() : Date.now());

/** FLOPs of one generated frame (matrix products and convolutions; see ../flops.ts). */
export function generationFlops(dit: DiT["config"], vae: VAE["config"], sampler: SamplerName, steps: number, cacheUpdate: SamplingDefaults["cacheUpdate"]): { ditPasses: number; flops: number } {
  const ditPasses = denoiserEvaluations(sampler, steps) + (cacheUpdate === "context-pass" ? 1 : 0);
  return { ditPasses, flops: ditPasses * ditFrameFlops(dit) + vaeDecoderFlops(vae) };
}

/** Times `frames` generated frames of a preset with random weights, readback to RGBA included. */
export async function measureGenerationMs(options: GenerationBenchOptions): Promise<GenerationBench> {
  const preset = PRESETS[options.preset];
  const sampler = options.sampler ?? preset.sampling.sampler;
  const steps = options.steps ?? preset.sampling.steps;
  const cacheUpdate = options.cacheUpdate ?? preset.sampling.cacheUpdate;
  const vae = createVAE(preset.vae, 0);
  const dit = createDiT(preset.dit, 0);
  const wm = createWorldModel({ vae, dit, schedule: DEFAULT_DIT_TRAIN.schedule, preset: preset.name, sampler, steps, cacheUpdate, seed: 0 });
  try {
    const game = createGame({ seed: 1 });
    wm.start([game.render()]);
    const action: Action = { ...NO_ACTION, movement: [1, 0, 0, 0] };
    const out = new Uint8ClampedArray(FRAME_SIZE * FRAME_SIZE * 4);
    for (let i = 0; i < preset.dit.contextFrames + 3; i++) await wm.stepRgba(action, out);
    const samples: number[] = [];
    for (let i = 0; i < (options.frames ?? 30); i++) {
      const t0 = now();
      await wm.stepRgba(action, out);
      samples.push(now() - t0);
    }
    const stats = summarize(samples);
    const { ditPasses, flops } = generationFlops(preset.dit, preset.vae, sampler, steps, cacheUpdate);
    return {
      preset: preset.name,
      steps,
      sampler,
      cacheUpdate,
      stats,
      msPerFrame: stats.medianMs,
      fps: 1000 / stats.medianMs,
      ditPasses,
      flopsPerFrame: flops,
      gflops: flops / (stats.medianMs / 1000) / 1e9,
    };
  } finally {
    wm.dispose();
    vae.dispose();
    dit.dispose();
  }
}

/** The configurations the `generate` section times: realtime at 1, 2 and 4 steps, small at 4. */
export const GENERATION_CASES: readonly { preset: PresetName; steps: number }[] = [
  { preset: "realtime", steps: 1 },
  { preset: "realtime", steps: 2 },
  { preset: "realtime", steps: 4 },
  { preset: "small", steps: 4 },
];

export const generateSection: BenchSection = {
  name: "generate",
  description: "End-to-end generation per frame (all sampling steps + context update + VAE decode + RGBA readback), random weights, full KV cache.",
  async run(ctx) {
    const results: BenchResult[] = [];
    const cases = ctx.quick ? GENERATION_CASES.filter((c) => c.preset === "realtime" && c.steps <= 2) : GENERATION_CASES;
    for (const c of cases) {
      const r = await measureGenerationMs({ ...c, frames: ctx.quick ? 5 : c.preset === "small" ? 8 : 30 });
      ctx.log(`generate ${r.preset} ${r.steps} step(s) on ${ctx.backend}: ${r.msPerFrame.toFixed(1)} ms/frame (${r.fps.toFixed(1)} FPS), ${(r.flopsPerFrame / 1e9).toFixed(3)} GFLOP/frame, ${r.gflops.toFixed(2)} GFLOP/s`);
      results.push({
        name: "generate-frame",
        host: ctx.host,
        backend: ctx.backend,
        params: { preset: r.preset, steps: r.steps, sampler: r.sampler, cacheUpdate: r.cacheUpdate },
        metric: "ms/frame",
        value: r.msPerFrame,
        unit: "ms",
        details: {
          fps: r.fps,
          p10Ms: r.stats.p10Ms,
          p90Ms: r.stats.p90Ms,
          reps: r.stats.reps,
          ditPasses: r.ditPasses,
          flopsPerFrame: r.flopsPerFrame,
          gflops: r.gflops,
        },
      });
    }
    return results;
  },
};
