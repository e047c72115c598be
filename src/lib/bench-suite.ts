/**
 * The benchmark suite that runs the same way in Node (`npm run bench`) and in a browser (the
 * benchmarks page, which bench/run.ts drives in headless Chromium). Each section measures one
 * thing on the current backend and yields flat `BenchResult`s.
 */
import * as tf from "@tensorflow/tfjs";
import { benchMatmul, memorySnapshot, type BenchResult } from "./bench.js";
import { measureGameRenderMs } from "./game/game.js";
import { generateSection } from "./worldmodel/bench.js";
import { hostMemory, profileSection, trainSection } from "./bench-perf.js";

export interface SuiteContext {
  host: BenchResult["host"];
  backend: string;
  /** Smaller repetition counts for smoke runs (tests). */
  quick: boolean;
  log(message: string): void;
}

export interface BenchSection {
  name: string;
  description: string;
  run(ctx: SuiteContext): Promise<BenchResult[]>;
}

export const matmulSection: BenchSection = {
  name: "matmul",
  description: "Square matmul GFLOP/s: the backend's practical peak, the yardstick for model throughput.",
  async run(ctx) {
    const results: BenchResult[] = [];
    for (const n of ctx.quick ? [256] : [256, 512]) {
      const { gflops, stats } = await benchMatmul(n, ctx.quick ? 5 : 20);
      ctx.log(`matmul ${n}^3 on ${ctx.backend}: ${gflops.toFixed(2)} GFLOP/s (median ${stats.medianMs.toFixed(2)} ms)`);
      results.push({
        name: `matmul-${n}`,
        host: ctx.host,
        backend: ctx.backend,
        params: { n },
        metric: "throughput",
        value: gflops,
        unit: "GFLOP/s",
        details: { medianMs: stats.medianMs, p10Ms: stats.p10Ms, p90Ms: stats.p90Ms, reps: stats.reps },
      });
    }
    return results;
  },
};

export const gameSection: BenchSection = {
  name: "game",
  description: "Built-in game: ms per step (simulation + raycast render) and per render alone, 256x256 RGBA. Backend-independent (plain TypeScript).",
  async run(ctx) {
    // Plain JS: measured once per host, not once per tfjs backend.
    if (ctx.backend !== "wasm") return [];
    const { stepMs, renderMs, frames } = measureGameRenderMs(ctx.quick ? 60 : 300);
    ctx.log(`game: ${stepMs.toFixed(2)} ms/step, ${renderMs.toFixed(2)} ms/render`);
    const base = { host: ctx.host, backend: "js", params: { frames } };
    return [
      { ...base, name: "game-step", metric: "latency", value: stepMs, unit: "ms/frame" },
      { ...base, name: "game-render", metric: "latency", value: renderMs, unit: "ms/frame" },
    ];
  },
};

/** Sections in the order they run. Later sections are appended as the pipeline grows. */
export const SECTIONS: BenchSection[] = [matmulSection, gameSection, generateSection, profileSection, trainSection];

/**
 * Adds `peakGflops` (the backend's best matmul GFLOP/s in this run) and `fractionOfPeak` to every
 * result that reports achieved `gflops`: the goal is at least half the backend's matmul peak.
 */
function annotatePeak(results: BenchResult[], peak: number): void {
  for (const r of results) {
    const g = r.details?.gflops;
    if (typeof g === "number" && peak > 0) r.details = { ...r.details, peakGflops: peak, fractionOfPeak: g / peak };
  }
}

/**
 * Runs `sections` on each backend in `backends` (switching with tf.setBackend), recording
 * tensors before/after each section so leaks show up in the results.
 */
export async function runSuite(options: {
  host: BenchResult["host"];
  backends: string[];
  sections?: BenchSection[];
  only?: string[];
  quick?: boolean;
  log?: (message: string) => void;
  onResult?: (result: BenchResult) => void;
}): Promise<BenchResult[]> {
  const log = options.log ?? (() => {});
  const sections = (options.sections ?? SECTIONS).filter((s) => !options.only?.length || options.only.includes(s.name));
  const all: BenchResult[] = [];
  for (const backend of options.backends) {
    const ok = await tf.setBackend(backend).catch(() => false);
    if (!ok) {
      log(`backend ${backend} unavailable; skipped`);
      continue;
    }
    await tf.ready();
    // The yardstick for achieved GFLOP/s: measured in this run, on this backend.
    let peak = 0;
    for (const section of sections) {
      const before = memorySnapshot();
      const results = await section.run({ host: options.host, backend, quick: options.quick ?? false, log });
      const after = memorySnapshot();
      for (const r of results) if (r.name.startsWith("matmul-")) peak = Math.max(peak, r.value);
      if (peak === 0 && results.some((r) => typeof r.details?.gflops === "number")) peak = (await benchMatmul(512, 5)).gflops;
      annotatePeak(results, peak);
      const host = hostMemory();
      const leak: BenchResult = {
        name: `${section.name}-tensors`,
        host: options.host,
        backend,
        metric: "numTensors delta",
        value: after.numTensors - before.numTensors,
        unit: "tensors",
        details: {
          before: before.numTensors,
          after: after.numTensors,
          bytesBefore: before.numBytes,
          bytesAfter: after.numBytes,
          // Process-level memory after the section (Node RSS / Chromium JS heap / wasm heap size).
          rssBytes: host.rssBytes,
          jsHeapBytes: host.jsHeapBytes,
          wasmHeapBytes: host.wasmHeapBytes,
        },
      };
      for (const r of [...results, leak]) {
        all.push(r);
        options.onResult?.(r);
      }
    }
  }
  return all;
}
