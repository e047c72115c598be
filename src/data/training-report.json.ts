/**
 * Data loader for the reports page: the shipped run's training record (weights/realtime/report.json,
 * written by scripts/train-shipped.ts) as the page draws it: one row per training phase (VAE, DiT,
 * the guidance distillation of the DiT, the tuning of the VAE decoder and the distillation of a DiT
 * that plays without a context pass, when the report records them) with steps, time and losses, the
 * loss curves as {model, step, loss} rows (model: the phase's name on the page), the DiT's action
 * sensitivity S over training as {step, S} rows (`sensitivity`), the held-out numbers recorded
 * with the run, and which weight files exist. Without a report the output says so
 * (`available: false` and a sentence why), so the site builds before any run is shipped.
 * `GAMEDREAM_WEIGHTS` points it at another folder (tests, side builds). Run alone:
 * `npx tsx src/data/training-report.json.ts`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const TRAINING_REPORT_SCHEMA = "gamedream-training-report/1";
const dir = process.env.GAMEDREAM_WEIGHTS || "weights/realtime";
const file = join(dir, "report.json");

type Json = Record<string, unknown>;

/** The training phases a report may record (its keys), in the order they ran, and their names on the page. */
const PHASES = [
  ["vae", "VAE"],
  ["dit", "DiT"],
  ["distillation", "DiT guidance distillation"],
  ["decoder", "VAE decoder tuning"],
  ["reuseDistillation", "DiT distillation without a context pass"],
] as const;
const isRecord = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

const weights = { vae: existsSync(join(dir, "vae", "model.json")), dit: existsSync(join(dir, "dit", "model.json")) };
let out: Json = {
  schema: TRAINING_REPORT_SCHEMA,
  available: false,
  source: file,
  weights,
  message: "",
  phases: [],
  curve: [],
  sensitivity: [],
  heldout: null,
};

if (!existsSync(file)) {
  out.message = `No shipped run yet: ${file} does not exist. Train one with “npx tsx scripts/train-shipped.ts --minutes 20”.`;
} else {
  try {
    const report = JSON.parse(readFileSync(file, "utf8")) as Json;
    const phases: Json[] = [];
    const curve: Json[] = [];
    for (const [model, label] of PHASES) {
      const phase = report[model];
      if (!isRecord(phase)) continue;
      const optim = isRecord(phase.optim) ? phase.optim : {};
      phases.push({
        model,
        label,
        steps: num(phase.steps),
        seconds: num(phase.seconds),
        parameters: num(phase.parameters),
        batchSize: num(phase.batchSize),
        lr: num(optim.lr),
        firstLoss: num(phase.firstLoss),
        finalLoss: num(phase.finalLoss),
        msPerStep: num(phase.msPerStep),
      });
      for (const point of Array.isArray(phase.lossCurve) ? phase.lossCurve : []) {
        if (Array.isArray(point) && num(point[0]) !== null && num(point[1]) !== null)
          curve.push({ model: label, step: point[0], loss: point[1] });
      }
    }
    const sensitivity: Json[] = [];
    const dit = isRecord(report.dit) ? report.dit : {};
    for (const point of Array.isArray(dit.actionSensitivityCurve) ? dit.actionSensitivityCurve : []) {
      if (Array.isArray(point) && num(point[0]) !== null && num(point[1]) !== null)
        sensitivity.push({ step: point[0], S: point[1] });
    }
    const heldout = isRecord(report.heldout) ? report.heldout : null;
    out = {
      ...out,
      available: true,
      message: `The shipped run: ${phases.map((p) => `${String(p.label)} ${p.steps} steps`).join(", ")}.`,
      createdAt: report.createdAt ?? null,
      command: report.command ?? null,
      backend: report.backend ?? null,
      preset: report.preset ?? null,
      dataset: report.dataset ?? null,
      trainingSeconds: num(report.trainingSeconds),
      totalSeconds: num(report.totalSeconds),
      phases,
      curve,
      sensitivity,
      heldout,
    };
  } catch (e) {
    out.message = `${file} could not be read (${(e as Error).message}); the report is shown without it.`;
  }
}
process.stdout.write(JSON.stringify(out));
