/**
 * Benchmark primitives shared by `npm run bench` (Node) and the benchmarks page (browser), so
 * both hosts measure the same thing the same way. Results are flat records; bench/run.ts
 * collects them into one JSON file (schema in bench/README.md).
 */
import type { PlayInit, PlayWorkerLike } from "../play/index.js";
import * as tf from "@tensorflow/tfjs";
import { gaussianNoise } from "../nn/index.js";

export interface BenchResult {
  /** What was measured, e.g. "matmul-512", "generate-frame", "train-step". */
  name: string;
  host: "node" | "chromium";
  backend: string;
  /** Preset, sampler steps, batch... whatever distinguishes runs of the same name. */
  params?: Record<string, string | number | boolean>;
  metric: string;
  value: number;
  unit: string;
  /** Extra numbers: p10/p90, repetitions, memory, etc. */
  details?: Record<string, number | string | boolean | null>;
}

/** What every benchmark section is given: the host it runs on and a progress log. */
export interface SuiteContext {
  host: BenchResult["host"];
  backend: string;
  /** Smaller repetition counts for smoke runs (tests). */
  quick: boolean;
  log(message: string): void;
  /** Play workers to time (a page of the built site gives them; ./play.ts). */
  play?: PlayBenchHost;
}

/** What a page gives the `play` section (./play.ts) to start play workers as the Play page does. */
export interface PlayBenchHost {
  createWorker(): PlayWorkerLike;
  /** Absolute URL of the decode worker's bundle. */
  decodeWorkerUrl: string;
  wasmPaths: Record<string, string>;
  /** Fresh OffscreenCanvases per worker (a canvas transfers once); absent: the worker posts pixels. */
  canvases?: () => NonNullable<PlayInit["canvases"]>;
}

/** One section of the suite (./suite.ts runs them in order). */
export interface BenchSection {
  name: string;
  description: string;
  run(ctx: SuiteContext): Promise<BenchResult[]>;
}

export interface TimingStats {
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  meanMs: number;
  reps: number;
}

function percentile(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i];
}

export function summarize(samples: number[]): TimingStats {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    medianMs: percentile(sorted, 0.5),
    p10Ms: percentile(sorted, 0.1),
    p90Ms: percentile(sorted, 0.9),
    meanMs: samples.reduce((a, b) => a + b, 0) / samples.length,
    reps: samples.length,
  };
}

const now = (): number => (typeof performance !== "undefined" ? performance.now() : Date.now());

/**
 * Times `fn` (which must finish its own work, e.g. by awaiting `data()` of its result) after
 * `warmup` untimed runs. Returns the per-run statistics.
 */
export async function timeIt(
  fn: () => Promise<void> | void,
  options: { warmup?: number; reps?: number; minMs?: number } = {},
): Promise<TimingStats> {
  const { warmup = 3, reps = 20, minMs = 0 } = options;
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  const started = now();
  while (samples.length < reps || now() - started < minMs) {
    const t0 = now();
    await fn();
    samples.push(now() - t0);
    if (samples.length >= reps * 10) break;
  }
  return summarize(samples);
}

/**
 * Square matmul throughput on the current backend: n x n times n x n, 2 n^3 FLOPs, result read
 * back each run so lazy backends (webgl, webgpu) are timed to completion.
 */
export async function benchMatmul(n = 512, reps = 20): Promise<{ gflops: number; stats: TimingStats }> {
  const a = gaussianNoise([n, n], 1);
  const b = gaussianNoise([n, n], 2);
  try {
    const stats = await timeIt(
      async () => {
        const c = tf.matMul(a, b);
        await c.data();
        c.dispose();
      },
      { warmup: 3, reps },
    );
    return { gflops: (2 * n ** 3) / (stats.medianMs * 1e6), stats };
  } finally {
    a.dispose();
    b.dispose();
  }
}

/** tf.memory() numbers worth reporting next to a benchmark. */
export function memorySnapshot(): { numTensors: number; numBytes: number } {
  const m = tf.memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes };
}
