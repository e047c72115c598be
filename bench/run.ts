/**
 * `npm run bench -- --out FILE.json [--quick] [--only matmul,generate,profile,train,pytorch] [--no-browser]
 *  [--browser-threads N] [--browser-backends wasm,webgl,webgpu]`
 *
 * Runs the suite of src/lib/bench/suite.ts in Node (wasm, and cpu for matmul only) and in headless
 * Chromium (wasm, webgl, webgpu when present) through the built site's benchmarks page, plus the
 * Node-only sections, and writes one JSON file (schema: bench/README.md). Without --out the file
 * goes to bench/results/<date>-<commit>.json. Chromium's wasm runs with the threads the Play page's
 * worker gets (every logical core) unless --browser-threads says otherwise.
 */
import { execSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend, relativizeReport } from "../src/lib/core/index.js";
import { type BenchResult, runSuite, matmulSection } from "../src/lib/bench/index.js";
import { runBrowserSuite } from "./browser.js";
import { makeIngestFixture } from "./ingest-fixture.js";
import { measureIngestMsPerFrame } from "../src/lib/video/node.js";
import { runPytorchComparison, runPytorchTrainer } from "./pytorch.js";
import { DEFAULT_DIT_TRAIN } from "../src/lib/train/index.js";

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes("--quick");
const only = flag("only")?.split(",").filter(Boolean);
const browserThreads = flag("browser-threads");
const browserBackends = flag("browser-backends")?.split(",").filter(Boolean);
if (browserThreads !== undefined && !/^[1-9][0-9]*$/.test(browserThreads)) {
  console.error(`--browser-threads must be a whole number of at least 1, got ${browserThreads}`);
  process.exit(2);
}
const commit = (() => {
  try {
    return execSync("git rev-parse --short HEAD", { stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
  } catch {
    return "unknown";
  }
})();
const createdAt = new Date().toISOString();
const out = flag("out") ?? `bench/results/${createdAt.slice(0, 10)}-${commit}.json`;
const log = (m: string): void => console.error(`bench: ${m}`);

const results: BenchResult[] = [];
const started = Date.now();
// The wasm runtime rethrows unhandled rejections with its whole source attached; report
// failures in one line instead.
process.on("unhandledRejection", (e) => fail(e));
function fail(e: unknown): never {
  console.error(`error[BENCH]: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}

await initBackend({ override: "wasm" });
log(`Node ${process.version}, tfjs ${tf.version.tfjs}, ${cpus().length} cores (${cpus()[0]?.model ?? "?"})`);
results.push(...(await runSuite({ host: "node", backends: ["wasm"], only, quick, log })));
if (!only || only.includes("matmul")) {
  results.push(...(await runSuite({ host: "node", backends: ["cpu"], sections: [matmulSection], quick: true, log })));
}

if (!only || only.includes("pytorch")) {
  // Optional: skipped (with a log line) where python3 has no torch.
  await tf.setBackend("wasm");
  results.push(...(await runPytorchComparison({ quick, backend: "wasm", log })));
}
if (!only || only.includes("pytorch") || only.includes("train")) {
  // The PyTorch trainer at the tfjs train-step section's preset, batch and clip length.
  results.push(...(await runPytorchTrainer({ quick, batch: 4, frames: DEFAULT_DIT_TRAIN.clipLength, log })));
}

const wantIngest = !only || only.includes("ingest");
const ingestClip = wantIngest ? makeIngestFixture(quick ? 3 : 10) : undefined;
if (ingestClip) {
  // Node ingestion spawns ffprobe + ffmpeg (rawvideo pipe); the clip is 640x360 H.264 at 30 fps.
  const timing = await measureIngestMsPerFrame(ingestClip);
  log(`ingest (Node, ffmpeg): ${timing.msPerFrame.toFixed(2)} ms/frame over ${timing.frames} frames`);
  results.push({
    name: "ingest",
    host: "node",
    backend: "ffmpeg",
    params: { input: "640x360 h264", frames: timing.frames },
    metric: "latency",
    value: timing.msPerFrame,
    unit: "ms/frame",
    details: { totalMs: timing.totalMs },
  });
}

if (!args.includes("--no-browser")) {
  results.push(
    ...(await runBrowserSuite({
      only,
      quick,
      log,
      ingestClip,
      threads: browserThreads ? Number(browserThreads) : undefined,
      backends: browserBackends,
    }).catch(fail)),
  );
}

const report = {
  schema: "gamedream-bench/1",
  createdAt,
  commit,
  machine: {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    tfjs: tf.version.tfjs,
  },
  quick,
  durationS: Math.round((Date.now() - started) / 100) / 10,
  results,
};
mkdirSync(dirname(out), { recursive: true });
// Paths relative to the repository (src/lib/core/report-paths.ts): results are committed.
writeFileSync(out, JSON.stringify(relativizeReport(report, process.cwd()), null, 2) + "\n");
console.log(`bench: ${results.length} results in ${report.durationS} s -> ${out}`);
for (const r of results.filter((r) => !r.name.endsWith("-tensors"))) {
  const params = r.params
    ? Object.entries(r.params)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ")
    : "";
  console.log(
    `  ${r.host.padEnd(8)} ${r.backend.padEnd(6)} ${(r.name + " " + params).padEnd(44)} ${r.value.toFixed(2).padStart(10)} ${r.unit}`,
  );
}
// The trainers side by side: the same realtime preset, batch and clip length.
const trainRates = results
  .filter(
    (r) =>
      (r.name === "train-step" && r.params?.preset === "realtime" && r.backend === "wasm") ||
      r.name === "pytorch-train-step",
  )
  .map((r) => {
    const stepsPerSec = r.name === "train-step" ? 1000 / r.value : r.value;
    const who =
      r.name === "train-step"
        ? `tfjs ${r.host} wasm`
        : `PyTorch CPU ${r.params?.threads} thread${r.params?.threads === 1 ? "" : "s"}`;
    return `${who} ${stepsPerSec.toFixed(2)}`;
  });
if (trainRates.length > 0)
  console.log(
    `  trainer steps/s (realtime, batch 4 x ${DEFAULT_DIT_TRAIN.clipLength} frames): ${trainRates.join(", ")}`,
  );
const leaks = results.filter((r) => r.name.endsWith("-tensors") && r.value !== 0);
if (leaks.length)
  console.log(
    `bench: tensor count changed in ${leaks.map((l) => `${l.host}/${l.backend}/${l.name} (${l.value})`).join(", ")}`,
  );
if (!existsSync(out)) process.exit(1);
