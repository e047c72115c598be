/**
 * The optional PyTorch comparison (Node only, never needed by `npm test`): one DiT block of the
 * realtime preset timed in tfjs (wasm, current backend) and in PyTorch CPU on one thread
 * (bench/pytorch_block.py, OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1)), alternating
 * tfjs, torch, tfjs, torch in the same run so machine load hits both alike. Reports each side and
 * the ratio tfjs / torch (goal: within 3x). Skips with a log line when python3 or torch is missing.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { BenchResult } from "../src/lib/bench.js";
import { measureDiTBlock, type BlockBench } from "../src/lib/bench-perf.js";
import { PRESETS } from "../src/lib/presets.js";

const SCRIPT = fileURLToPath(new URL("./pytorch_block.py", import.meta.url));

interface TorchTiming {
  inferenceMs: number;
  trainMs: number;
  threads: number;
  torch: string;
}

function python(): string | null {
  for (const candidate of ["/usr/bin/python3", "python3"]) {
    if (candidate.startsWith("/") && !existsSync(candidate)) continue;
    const probe = spawnSync(candidate, ["-c", "import torch"], { stdio: "ignore" });
    if (probe.status === 0) return candidate;
  }
  return null;
}

function runTorch(exe: string, block: BlockBench, reps: number): TorchTiming {
  const args = [block.tokens, block.hidden, block.heads, block.contextFrames, block.batch, block.frames, reps].map(String);
  const out = spawnSync(exe, [SCRIPT, ...args], { env: { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1" }, encoding: "utf8" });
  if (out.status !== 0) throw new Error(`bench/pytorch_block.py failed: ${out.stderr.trim().split("\n").pop()}`);
  return JSON.parse(out.stdout.trim().split("\n").pop()!) as TorchTiming;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function runPytorchComparison(options: { quick: boolean; backend: string; log: (m: string) => void }): Promise<BenchResult[]> {
  const exe = python();
  if (!exe) {
    options.log("pytorch: python3 with torch not found; comparison skipped (optional)");
    return [];
  }
  const config = PRESETS.realtime.dit;
  const reps = options.quick ? 5 : 30;
  const rounds = options.quick ? 1 : 2;
  const tfjs: BlockBench[] = [];
  const torch: TorchTiming[] = [];
  for (let r = 0; r < rounds; r++) {
    tfjs.push(await measureDiTBlock(config, { reps }));
    torch.push(runTorch(exe, tfjs[0], reps));
  }
  const t = { inferenceMs: median(tfjs.map((x) => x.inferenceMs)), trainMs: median(tfjs.map((x) => x.trainMs)) };
  const p = { inferenceMs: median(torch.map((x) => x.inferenceMs)), trainMs: median(torch.map((x) => x.trainMs)) };
  const b = tfjs[0];
  const params = { preset: "realtime", tokens: b.tokens, hidden: b.hidden, heads: b.heads, contextFrames: b.contextFrames };
  options.log(
    `pytorch: one realtime DiT block, inference tfjs ${t.inferenceMs.toFixed(2)} ms vs torch ${p.inferenceMs.toFixed(2)} ms (x${(t.inferenceMs / p.inferenceMs).toFixed(1)}); ` +
      `train fwd+bwd ${b.batch}x${b.frames} frames tfjs ${t.trainMs.toFixed(0)} ms vs torch ${p.trainMs.toFixed(0)} ms (x${(t.trainMs / p.trainMs).toFixed(1)})`,
  );
  const details = { torch: torch[0].torch, torchThreads: torch[0].threads, rounds };
  return [
    { name: "pytorch-block-inference", host: "node", backend: options.backend, params, metric: "tfjs / pytorch", value: t.inferenceMs / p.inferenceMs, unit: "x", details: { ...details, tfjsMs: t.inferenceMs, pytorchMs: p.inferenceMs } },
    { name: "pytorch-block-train", host: "node", backend: options.backend, params: { ...params, batch: b.batch, frames: b.frames }, metric: "tfjs / pytorch", value: t.trainMs / p.trainMs, unit: "x", details: { ...details, tfjsMs: t.trainMs, pytorchMs: p.trainMs } },
  ];
}
