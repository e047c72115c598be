/**
 * Measures a world model on a dataset's held-out episodes and writes a JSON report.
 *
 *   npm run eval -- --run RUN_OR_WEIGHTS_DIR --data DIR --out FILE.json
 *     [--rollout-frames 1000] [--still-frames 60] [--samples 256] [--branch-states 40] [--seed 0]
 *     [--sampler ddim] [--steps N] [--context-noise L] [--cache-update context-pass|reuse-last-step] [--guidance W]
 *     [--vae DIR] [--raw]
 *
 * RUN_OR_WEIGHTS_DIR is a weights folder (`vae/model.json` + `dit/model.json`, checksums verified)
 * or a DiT training run of `npm run train` (its latest good checkpoint, EMA weights unless --raw,
 * or its exported model/), paired with the VAE it trained on (run.json's `vae`, or --vae DIR). Report fields: src/lib/play/eval.ts. Progress on stderr, a one-line
 * summary on stdout; bad flags exit 2 with `error[CODE]: message`, other failures exit 1.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { initBackend, GamedreamError, formatErrorLine, relativizeReport } from "../src/lib/core/index.js";
import { DatasetReader } from "../src/lib/data/index.js";
import { DirectoryDatasetStore } from "../src/lib/data/node.js";
import { SAMPLERS } from "../src/lib/diffusion/index.js";
import {
  isCacheUpdate,
  loadDiT,
  loadDiTFromCheckpoints,
  loadModel,
  loadModelFromWeights,
  loadVAE,
  type LoadedModel,
  MAX_GUIDANCE_SCALE,
} from "../src/lib/models/index.js";
import { readFileBytes, FsCheckpointStore } from "../src/lib/storage/node.js";
import { evaluateModel, type EvalPhase, type WorldModelSettings } from "../src/lib/play/index.js";
import { createProgress, formatDuration, summaryLine, type Progress } from "./progress.js";

const USAGE = `usage: npm run eval -- --run RUN_OR_WEIGHTS_DIR --data DIR --out FILE.json
         [--rollout-frames 1000] [--still-frames 60] [--samples 256] [--branch-states 40] [--seed 0] [--sampler ${SAMPLERS.map((s) => s.name).join("|")}]
         [--steps N] [--context-noise LEVEL] [--cache-update context-pass|reuse-last-step] [--guidance W] [--vae DIR] [--raw]`;

function badFlag(message: string): GamedreamError {
  return new GamedreamError("CLI_BAD_FLAG", "validation", `${message}\n${USAGE}`);
}

function integer(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw badFlag(`--${name} must be a whole number >= ${min}, got "${value}".`);
  return n;
}

/**
 * A weights folder (vae/ + dit/), or a DiT training run (run.json, checkpoints/ or model/) whose
 * VAE is the one it trained on (run.json's `vae`, or --vae).
 */
async function loadModelFrom(dir: string, vaeFlag: string | undefined, preferEma: boolean): Promise<LoadedModel> {
  const read = { readFile: readFileBytes };
  if (existsSync(join(dir, "vae", "model.json")) && existsSync(join(dir, "dit", "model.json"))) {
    return loadModelFromWeights(dir, read);
  }
  if (existsSync(join(dir, "run.json"))) {
    const run = JSON.parse(await readFile(join(dir, "run.json"), "utf8")) as { model?: string; vae?: string | null };
    if (run.model !== "dit")
      throw badFlag(`${dir} is a ${run.model ?? "unknown"} training run; evaluate a DiT run or a weights folder.`);
    const vaeDir = vaeFlag === undefined ? run.vae : resolve(vaeFlag);
    if (!vaeDir) throw badFlag(`${dir}/run.json names no VAE; pass --vae DIR.`);
    const vae = () => loadVAE(join(vaeDir, "model.json"), read);
    // Checkpoints hold the newest state of a run (model/ is written when a run finishes).
    if (existsSync(join(dir, "checkpoints"))) {
      const store = await FsCheckpointStore.open(dir);
      return loadModel({ vae, dit: () => loadDiTFromCheckpoints(store, { preferEma }) });
    }
    return loadModel({ vae, dit: () => loadDiT(join(dir, "model", "model.json"), read) });
  }
  throw new GamedreamError(
    "EVAL_NO_MODEL",
    "model",
    `${dir} holds no model: expected a weights folder (vae/model.json and dit/model.json) or a DiT training run (run.json).`,
    { recoverable: false },
  );
}

/** JSON with NaN and Infinity as null, numbers rounded to 5 significant decimals where long. */
function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_, v) => (typeof v === "number" ? (Number.isFinite(v) ? Number(v.toPrecision(6)) : null) : v),
    1,
  );
}

async function main(argv: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        run: { type: "string" },
        data: { type: "string" },
        out: { type: "string" },
        "rollout-frames": { type: "string", default: "1000" },
        "still-frames": { type: "string", default: "60" },
        samples: { type: "string", default: "256" },
        "branch-states": { type: "string", default: "40" },
        guidance: { type: "string" },
        seed: { type: "string", default: "0" },
        sampler: { type: "string" },
        steps: { type: "string" },
        "context-noise": { type: "string" },
        "cache-update": { type: "string" },
        vae: { type: "string" },
        raw: { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    throw badFlag((e as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  for (const flag of ["run", "data", "out"] as const) if (!values[flag]) throw badFlag(`--${flag} is required.`);
  const rolloutFrames = integer("rollout-frames", values["rollout-frames"], 0)!;
  const stillFrames = integer("still-frames", values["still-frames"], 0)!;
  const samples = integer("samples", values.samples, 1)!;
  const branchStates = integer("branch-states", values["branch-states"], 0)!;
  const seed = integer("seed", values.seed, 0)!;
  const settings: Partial<WorldModelSettings> = {};
  if (values.sampler !== undefined) {
    if (!SAMPLERS.some((s) => s.name === values.sampler))
      throw badFlag(`--sampler must be one of ${SAMPLERS.map((s) => s.name).join(", ")}, got "${values.sampler}".`);
    settings.sampler = values.sampler as WorldModelSettings["sampler"];
  }
  settings.steps = integer("steps", values.steps, 1);
  if (values["context-noise"] !== undefined) {
    const level = Number(values["context-noise"]);
    if (!(level >= 0 && level <= 1))
      throw badFlag(`--context-noise must be a noise level in [0, 1], got "${values["context-noise"]}".`);
    settings.contextNoise = level;
  }
  if (values["cache-update"] !== undefined) {
    if (!isCacheUpdate(values["cache-update"])) {
      throw badFlag(`--cache-update must be context-pass or reuse-last-step, got "${values["cache-update"]}".`);
    }
    settings.cacheUpdate = values["cache-update"];
  }
  if (values.guidance !== undefined) {
    const scale = Number(values.guidance);
    if (!(scale >= 0 && scale <= MAX_GUIDANCE_SCALE))
      throw badFlag(`--guidance must be a scale in [0, ${MAX_GUIDANCE_SCALE}] (1 = off), got "${values.guidance}".`);
    settings.guidanceScale = scale;
  }

  const run = resolve(values.run!);
  const data = resolve(values.data!);
  const out = resolve(values.out!);
  if (!existsSync(run)) throw badFlag(`--run ${run} does not exist.`);
  if (!existsSync(join(data, "manifest.json")))
    throw badFlag(`--data ${data} is not a dataset folder (no manifest.json); build one with npm run dataset.`);

  const backend = await initBackend();
  const reader = await DatasetReader.open(new DirectoryDatasetStore(data));
  const model = await loadModelFrom(run, values.vae, !values.raw);
  const bars: Partial<Record<EvalPhase, Progress>> = {};
  const labels: Record<EvalPhase, string> = {
    "next-frame": "next-frame samples",
    "action-control": "branched states",
    rollout: "rollout frames",
    "standing-still": "standing-still frames",
  };
  try {
    const report = await evaluateModel(model, reader, {
      samples,
      branchStates,
      rolloutFrames,
      stillFrames,
      seed,
      settings,
      onProgress: (phase, done, total) => {
        if (!bars[phase]) for (const bar of Object.values(bars)) bar.done();
        const bar = (bars[phase] ??= createProgress({ total, label: labels[phase] }));
        bar.update(done);
      },
    });
    for (const bar of Object.values(bars)) bar.done();
    // Paths relative to the repository (src/lib/core/report-paths.ts): the report is committed and shared.
    const document = relativizeReport(
      { ...report, backend: backend.backend, run, data, command: ["npm run eval --", ...argv].join(" ") },
      process.cwd(),
    );
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, toJson(document) + "\n");
    const db = (x: number) => `${x.toFixed(2)}dB`;
    console.log(
      summaryLine("eval", {
        nextFramePsnr: db(report.nextFramePsnr),
        copyLastFramePsnr: db(report.copyLastFramePsnr),
        shuffledActionsPsnr: db(report.shuffledActionsPsnr),
        S: report.actionSensitivity === null ? "-" : report.actionSensitivity.toFixed(3),
        D: report.actionDiscrimination === null ? "-" : db(report.actionDiscrimination),
        vaeReconPsnr: db(report.vaeReconPsnr),
        rollout: report.rollout ? (report.rollout.collapse.collapsed ? "collapsed" : "stable") : "skipped",
        stillPsnr: report.standingStill ? db(report.standingStill.meanPsnr.value) : "-",
        msPerFrame: report.rollout ? report.rollout.msPerFrame.median.toFixed(1) : "-",
        time: formatDuration(report.timings.totalSeconds),
        out,
      }),
    );
  } finally {
    model.dispose();
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(formatErrorLine(e));
  process.exitCode = e instanceof GamedreamError && e.code === "CLI_BAD_FLAG" ? 2 : 1;
});
