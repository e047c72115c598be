/**
 * The benchmark suite that runs the same way in Node (`npm run bench`) and in a browser (the
 * benchmarks page, which bench/run.ts drives in headless Chromium). Each section measures one
 * thing on the current backend and yields flat `BenchResult`s.
 */
import * as tf from "@tensorflow/tfjs";
import {
  benchMatmul,
  memorySnapshot,
  timeIt,
  type BenchResult,
  type BenchSection,
  type PlayBenchHost,
} from "./primitives.js";
import { DatasetReader, MemoryDatasetStore, buildDataset, episodeFromFrames } from "../data/index.js";
import { RGB_FRAME_BYTES, Rng } from "../core/index.js";
import { ACTION_DIM, NO_ACTION } from "../actions/index.js";
import { measureGameRenderMs } from "../game/index.js";
import { generateSection } from "./generate.js";
import { playSection } from "./play.js";
import { hostMemory, profileSection, trainSection } from "./perf.js";

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
  description:
    "Built-in game: ms per step (simulation + raycast render) and per render alone, 256x256 RGBA. Backend-independent (plain TypeScript).",
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

export const datasetSection: BenchSection = {
  name: "dataset",
  description:
    "Dataset integrity: opening a dataset hashes every shard once (SHA-256, WebCrypto) against its manifest; after that, batch reads trust the bytes. Measures the open (MB/s, ms per 512-frame shard) and a training batch read (4 clips x 5 frames) after it, which hashes nothing.",
  async run(ctx) {
    // Plain JS and WebCrypto: measured once per host, not once per tfjs backend.
    if (ctx.backend !== "wasm") return [];
    const frames = ctx.quick ? 32 : 256;
    const rng = new Rng(3);
    // Noise frames (content does not matter to a hash; xorshift keeps setup fast).
    let x = 0x9e3779b9;
    const rgb = Array.from({ length: frames }, () => {
      const words = new Uint32Array(RGB_FRAME_BYTES / 4);
      for (let i = 0; i < words.length; i++) words[i] = x = ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5)) >>> 0;
      return new Uint8Array(words.buffer);
    });
    const store = new MemoryDatasetStore();
    const half = frames / 2;
    await buildDataset(
      store,
      [0, 1].map((e) =>
        episodeFromFrames(
          { id: `bench-${e}`, seed: e + 1, source: "game" },
          rgb.slice(e * half, (e + 1) * half),
          Array(half).fill(NO_ACTION),
        ),
      ),
      { heldoutFraction: 0 },
    );
    let reader: DatasetReader | null = null;
    const open = await timeIt(async () => void (reader = await DatasetReader.open(store)), {
      warmup: 1,
      reps: ctx.quick ? 2 : 5,
    });
    const bytes = reader!.verification!.bytes;
    const read = await timeIt(
      async () => void (await reader!.sampleBatch(rng, { clipLength: 5, batchSize: 4, split: "train" })),
      { warmup: 1, reps: ctx.quick ? 3 : 20 },
    );
    const mbPerS = bytes / 1e6 / (open.medianMs / 1000);
    const shardMs = ((512 * (RGB_FRAME_BYTES + 4 * ACTION_DIM)) / 1e6 / mbPerS) * 1000;
    ctx.log(
      `dataset: verify on open ${mbPerS.toFixed(0)} MB/s (${open.medianMs.toFixed(1)} ms for ${(bytes / 1e6).toFixed(1)} MB; ~${shardMs.toFixed(0)} ms per 512-frame shard), batch read after it ${read.medianMs.toFixed(2)} ms`,
    );
    const base = { host: ctx.host, backend: "js" };
    const results: BenchResult[] = [
      {
        ...base,
        name: "dataset-verify",
        params: { frames, shards: reader!.verification!.shards },
        metric: "throughput",
        value: mbPerS,
        unit: "MB/s",
        details: { medianMs: open.medianMs, bytes, msPer512FrameShard: shardMs, reps: open.reps },
      },
      {
        ...base,
        name: "dataset-batch-read",
        params: { batch: 4, clipLength: 5 },
        metric: "latency",
        value: read.medianMs,
        unit: "ms/batch",
        details: { p90Ms: read.p90Ms, hashes: 0, reps: read.reps },
      },
    ];
    return results;
  },
};

/** Sections in the order they run. Later sections are appended as the pipeline grows. */
export const SECTIONS: BenchSection[] = [
  matmulSection,
  gameSection,
  datasetSection,
  generateSection,
  playSection,
  profileSection,
  trainSection,
];

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
  /** The wasm backend's thread count, recorded on its results (`details.wasmThreads`). */
  wasmThreads?: number;
  /** Play workers for the `play` section (a page of the built site). */
  play?: PlayBenchHost;
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
      const results = await section.run({
        host: options.host,
        backend,
        quick: options.quick ?? false,
        log,
        play: options.play,
      });
      const after = memorySnapshot();
      for (const r of results) if (r.name.startsWith("matmul-")) peak = Math.max(peak, r.value);
      if (peak === 0 && results.some((r) => typeof r.details?.gflops === "number"))
        peak = (await benchMatmul(512, 5)).gflops;
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
        if (backend === "wasm" && options.wasmThreads !== undefined)
          r.details = { ...r.details, wasmThreads: options.wasmThreads };
        all.push(r);
        options.onResult?.(r);
      }
    }
  }
  return all;
}
