/**
 * End-to-end generation speed of a preset, the number live play lives by: per generated frame,
 * all sampling steps, the context update, the VAE decode and the readback to RGBA bytes, with the
 * KV cache full (K context frames). Random weights: the work per frame does not depend on them.
 * Runs the same in Node and in a page (the benchmark suite's `generate` section).
 *
 * To be comparable between configurations and between runs on a shared machine, the cases are
 * measured together: every world model is built and warmed up first (a fixed time of generated
 * frames: the first frames of a configuration pay for kernel compilation and heap growth), then
 * rounds of a few frames per case are interleaved, so a slow spell of the machine hits every case
 * alike. Each case reports its median over all rounds and the spread of its per-round medians.
 */
import { NO_ACTION, type Action } from "../actions/index.js";
import type { SamplerName } from "../diffusion/index.js";
import {
  createDiT,
  type DiT,
  ditFrameFlops,
  ditPassesPerFrame,
  DEFAULT_DIT_SCHEDULE,
  PRESETS,
  type PresetName,
  type SamplingDefaults,
  createVAE,
  vaeDecoderFlops,
  type VAE,
} from "../models/index.js";
import { FRAME_SIZE } from "../core/index.js";
import { createGame } from "../game/index.js";
import { summarize, type BenchResult, type BenchSection, type TimingStats } from "./primitives.js";
import { createWorldModel } from "../play/index.js";

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
  /** DiT passes per frame (one frame each; see `ditPassesPerFrame`). */
  ditPasses: number;
  flopsPerFrame: number;
  /** flopsPerFrame / median time. */
  gflops: number;
}

const now = (): number => (typeof performance !== "undefined" ? performance.now() : Date.now());

/** FLOPs of one generated frame (matrix products and convolutions; see ../models/flops.ts). */
export function generationFlops(
  dit: DiT["config"],
  vae: VAE["config"],
  sampling: Pick<SamplingDefaults, "sampler" | "steps" | "cacheUpdate" | "guidanceScale">,
): { ditPasses: number; flops: number } {
  const ditPasses = ditPassesPerFrame(sampling);
  return { ditPasses, flops: ditPasses * ditFrameFlops(dit) + vaeDecoderFlops(vae) };
}

/** One configuration to time. */
export interface GenerationCase {
  preset: PresetName;
  steps?: number;
  sampler?: SamplerName;
  cacheUpdate?: SamplingDefaults["cacheUpdate"];
  /** Classifier-free guidance on the action (default: the preset's; above 1 the DiT runs a batch of 2). */
  guidanceScale?: number;
}

export interface InterleavedOptions {
  /** Untimed generation per case before timing (default 1500 ms, at least K + 3 frames). */
  warmupMs?: number;
  /** Interleaved rounds (default 16) of `framesPerRound` frames per case (default 5). */
  rounds?: number;
  framesPerRound?: number;
}

export interface CaseTiming extends GenerationBench {
  guidanceScale: number;
  /** (max - min) / median of the per-round medians: how much the machine moved under this case. */
  roundSpread: number;
}

/** Times the cases together (see the file comment): warm-up each, then interleaved rounds. */
export async function measureGenerationCases(
  cases: readonly GenerationCase[],
  options: InterleavedOptions = {},
): Promise<CaseTiming[]> {
  const rounds = options.rounds ?? 16;
  const perRound = options.framesPerRound ?? 5;
  const action: Action = { ...NO_ACTION, movement: [1, 0, 0, 0] };
  const out = new Uint8ClampedArray(FRAME_SIZE * FRAME_SIZE * 4);
  const setups = cases.map((c) => {
    const preset = PRESETS[c.preset];
    const vae = createVAE(preset.vae, 0);
    const dit = createDiT(preset.dit, 0);
    const settings = {
      sampler: c.sampler ?? preset.sampling.sampler,
      steps: c.steps ?? preset.sampling.steps,
      cacheUpdate: c.cacheUpdate ?? preset.sampling.cacheUpdate,
      guidanceScale: c.guidanceScale ?? preset.sampling.guidanceScale,
    };
    const wm = createWorldModel({
      vae,
      dit,
      schedule: DEFAULT_DIT_SCHEDULE,
      preset: preset.name,
      ...settings,
      seed: 0,
    });
    return { preset, vae, dit, wm, settings, samples: [] as number[], roundMedians: [] as number[] };
  });
  try {
    const game = createGame({ seed: 1 });
    const start = game.render();
    for (const s of setups) {
      s.wm.start([start]);
      const began = now();
      for (let i = 0; i < s.preset.dit.contextFrames + 3 || now() - began < (options.warmupMs ?? 1500); i++)
        await s.wm.stepRgba(action, out);
    }
    for (let r = 0; r < rounds; r++) {
      for (const s of setups) {
        const round: number[] = [];
        for (let i = 0; i < perRound; i++) {
          const t0 = now();
          await s.wm.stepRgba(action, out);
          round.push(now() - t0);
        }
        s.samples.push(...round);
        s.roundMedians.push(summarize(round).medianMs);
      }
    }
    return setups.map((s) => {
      const stats = summarize(s.samples);
      const { ditPasses, flops: flopsPerFrame } = generationFlops(s.preset.dit, s.preset.vae, s.settings);
      return {
        preset: s.preset.name,
        steps: s.settings.steps,
        sampler: s.settings.sampler,
        cacheUpdate: s.settings.cacheUpdate,
        guidanceScale: s.settings.guidanceScale,
        stats,
        msPerFrame: stats.medianMs,
        fps: 1000 / stats.medianMs,
        ditPasses,
        flopsPerFrame,
        gflops: flopsPerFrame / (stats.medianMs / 1000) / 1e9,
        roundSpread: (Math.max(...s.roundMedians) - Math.min(...s.roundMedians)) / stats.medianMs,
      };
    });
  } finally {
    for (const s of setups) {
      s.wm.dispose();
      s.vae.dispose();
      s.dit.dispose();
    }
  }
}

/** Times one configuration (warm-up, then `frames` frames); see `measureGenerationCases`. */
export async function measureGenerationMs(options: GenerationBenchOptions): Promise<GenerationBench> {
  const frames = options.frames ?? 30;
  const [timing] = await measureGenerationCases([options], { warmupMs: 0, rounds: 1, framesPerRound: frames });
  return timing;
}

/**
 * The configurations the `generate` section times: first what the shipped weights play at (1 step
 * unguided without a context pass: their DiT is guidance-distilled and trained for the
 * "reuse-last-step" cache update, and its manifest records both), then the same with a context pass
 * (what the DiT shipped before it plays at), realtime unguided at 2 and 4 steps, the realtime
 * preset's own settings (one step, action guidance 1.5: a batch of 2 per DiT pass, and a context
 * pass; what an undistilled realtime DiT plays at), and small at 4 unguided steps.
 */
export const GENERATION_CASES: readonly GenerationCase[] = [
  { preset: "realtime", steps: 1, guidanceScale: 1, cacheUpdate: "reuse-last-step" },
  { preset: "realtime", steps: 1, guidanceScale: 1, cacheUpdate: "context-pass" },
  { preset: "realtime", steps: 2, guidanceScale: 1 },
  { preset: "realtime", steps: 4, guidanceScale: 1 },
  { preset: "realtime" },
  { preset: "small", steps: 4, guidanceScale: 1 },
];

export const generateSection: BenchSection = {
  name: "generate",
  description:
    "End-to-end generation per frame (all sampling steps + context update + VAE decode + RGBA readback), random weights, full KV cache; realtime cases warmed up and timed in interleaved rounds.",
  async run(ctx) {
    const results: BenchResult[] = [];
    const realtime = GENERATION_CASES.filter((c) => c.preset === "realtime" && (!ctx.quick || (c.steps ?? 1) <= 2));
    const timings = await measureGenerationCases(
      realtime,
      ctx.quick ? { warmupMs: 300, rounds: 2, framesPerRound: 3 } : {},
    );
    if (!ctx.quick)
      timings.push(
        ...(await measureGenerationCases(
          GENERATION_CASES.filter((c) => c.preset !== "realtime"),
          { warmupMs: 0, rounds: 2, framesPerRound: 4 },
        )),
      );
    for (const r of timings) {
      ctx.log(
        `generate ${r.preset} ${r.steps} step(s)${r.guidanceScale !== 1 ? ` guidance ${r.guidanceScale}` : ""}${r.cacheUpdate === "reuse-last-step" ? " no context pass" : ""} on ${ctx.backend}: ${r.msPerFrame.toFixed(1)} ms/frame (${r.fps.toFixed(1)} FPS, p10-p90 ${r.stats.p10Ms.toFixed(1)}-${r.stats.p90Ms.toFixed(1)} ms, round spread ${(100 * r.roundSpread).toFixed(0)}%), ${(r.flopsPerFrame / 1e9).toFixed(3)} GFLOP/frame`,
      );
      results.push({
        name: "generate-frame",
        host: ctx.host,
        backend: ctx.backend,
        params: {
          preset: r.preset,
          steps: r.steps,
          sampler: r.sampler,
          cacheUpdate: r.cacheUpdate,
          guidanceScale: r.guidanceScale,
        },
        metric: "ms/frame",
        value: r.msPerFrame,
        unit: "ms",
        details: {
          fps: r.fps,
          p10Ms: r.stats.p10Ms,
          p90Ms: r.stats.p90Ms,
          reps: r.stats.reps,
          roundSpread: r.roundSpread,
          ditPasses: r.ditPasses,
          flopsPerFrame: r.flopsPerFrame,
          gflops: r.gflops,
        },
      });
    }
    return results;
  },
};
