/**
 * The optional PyTorch comparison (Node only, never needed by `npm test`). Two parts:
 * - the PyTorch trainer's step (python/gamedream_torch/bench.py: the `train_step` of
 *   gamedream_torch.train, realtime preset, same batch and clip length as the tfjs train-step
 *   section) on CPU at 1 and 2 threads, as steps/s beside the tfjs trainer in Node and Chromium;
 * - one DiT block of the
 * realtime preset timed in tfjs (wasm, current backend) and in PyTorch CPU on one thread
 * (bench/pytorch_block.py, OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1)), alternating
 * tfjs, torch, tfjs, torch in the same run so machine load hits both alike. Reports each side and
 * the ratio tfjs / torch (goal: within 3x). Skips with a log line when python3 or torch is missing.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type BenchResult, measureDiTBlock, type BlockBench } from "../src/lib/bench/index.js";
import { PRESETS } from "../src/lib/models/index.js";

const SCRIPT = fileURLToPath(new URL("./pytorch_block.py", import.meta.url));
const PYTHON_DIR = fileURLToPath(new URL("../python", import.meta.url));

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
  const args = [block.tokens, block.hidden, block.heads, block.contextFrames, block.batch, block.frames, reps].map(
    String,
  );
  const out = spawnSync(exe, [SCRIPT, ...args], {
    env: { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1" },
    encoding: "utf8",
  });
  if (out.status !== 0) throw new Error(`bench/pytorch_block.py failed: ${out.stderr.trim().split("\n").pop()}`);
  return JSON.parse(out.stdout.trim().split("\n").pop()!) as TorchTiming;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface TrainerTiming {
  preset: string;
  batch: number;
  frames: number;
  threads: number;
  msPerStep: number;
  stepsPerSec: number;
  p10Ms: number;
  p90Ms: number;
  torch: string;
}

/**
 * The PyTorch trainer's step on CPU at `threads` threads: realtime preset, batch and clip length
 * of the tfjs train-step section (DEFAULT_DIT_TRAIN.clipLength frames).
 */
function runTorchTrainer(exe: string, threads: number, steps: number, batch: number, frames: number): TrainerTiming {
  const args = [
    "-m",
    "gamedream_torch.bench",
    "--preset",
    "realtime",
    "--batch",
    String(batch),
    "--frames",
    String(frames),
    "--steps",
    String(steps),
    "--threads",
    String(threads),
  ];
  const env = {
    ...process.env,
    PYTHONPATH: PYTHON_DIR,
    OPENBLAS_NUM_THREADS: "1",
    OMP_NUM_THREADS: String(threads),
    OMP_WAIT_POLICY: "PASSIVE",
  };
  const out = spawnSync(exe, args, { env, encoding: "utf8" });
  if (out.status !== 0) throw new Error(`gamedream_torch.bench failed: ${out.stderr.trim().split("\n").pop()}`);
  return JSON.parse(out.stdout.trim().split("\n").pop()!) as TrainerTiming;
}

/** PyTorch trainer steps/s on CPU, 1 and 2 threads (skipped with a log line without torch). */
export async function runPytorchTrainer(options: {
  quick: boolean;
  batch: number;
  frames: number;
  log: (m: string) => void;
}): Promise<BenchResult[]> {
  const exe = python();
  if (!exe) {
    options.log("pytorch trainer: python3 with torch not found; skipped (optional)");
    return [];
  }
  const results: BenchResult[] = [];
  for (const threads of [1, 2]) {
    const t = runTorchTrainer(exe, threads, options.quick ? 4 : 20, options.batch, options.frames);
    options.log(
      `pytorch trainer realtime batch ${t.batch}x${t.frames} on CPU, ${t.threads} thread(s): ${t.msPerStep.toFixed(0)} ms/step, ${t.stepsPerSec.toFixed(2)} steps/s`,
    );
    results.push({
      name: "pytorch-train-step",
      host: "node",
      backend: "torch-cpu",
      params: { preset: "realtime", batch: t.batch, frames: t.frames, threads: t.threads },
      metric: "steps/s",
      value: t.stepsPerSec,
      unit: "steps/s",
      details: { msPerStep: t.msPerStep, p10Ms: t.p10Ms, p90Ms: t.p90Ms, torch: t.torch },
    });
  }
  return results;
}

export async function runPytorchComparison(options: {
  quick: boolean;
  backend: string;
  log: (m: string) => void;
}): Promise<BenchResult[]> {
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
  const params = {
    preset: "realtime",
    tokens: b.tokens,
    hidden: b.hidden,
    heads: b.heads,
    contextFrames: b.contextFrames,
  };
  options.log(
    `pytorch: one realtime DiT block, inference tfjs ${t.inferenceMs.toFixed(2)} ms vs torch ${p.inferenceMs.toFixed(2)} ms (x${(t.inferenceMs / p.inferenceMs).toFixed(1)}); ` +
      `train fwd+bwd ${b.batch}x${b.frames} frames tfjs ${t.trainMs.toFixed(0)} ms vs torch ${p.trainMs.toFixed(0)} ms (x${(t.trainMs / p.trainMs).toFixed(1)})`,
  );
  const details = { torch: torch[0].torch, torchThreads: torch[0].threads, rounds };
  return [
    {
      name: "pytorch-block-inference",
      host: "node",
      backend: options.backend,
      params,
      metric: "tfjs / pytorch",
      value: t.inferenceMs / p.inferenceMs,
      unit: "x",
      details: { ...details, tfjsMs: t.inferenceMs, pytorchMs: p.inferenceMs },
    },
    {
      name: "pytorch-block-train",
      host: "node",
      backend: options.backend,
      params: { ...params, batch: b.batch, frames: b.frames },
      metric: "tfjs / pytorch",
      value: t.trainMs / p.trainMs,
      unit: "x",
      details: { ...details, tfjsMs: t.trainMs, pytorchMs: p.trainMs },
    },
  ];
}
