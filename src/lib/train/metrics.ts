/**
 * What a training run reports, as plain JSON events (they cross `postMessage` from a Web Worker
 * unchanged): a `metrics` event per step, and events for checkpoints, resumes, state changes and
 * messages a person should read (a reduced batch, a damaged checkpoint passed over).
 */
import * as tf from "@tensorflow/tfjs";

export interface StepMetrics {
  /** The step just taken, 1-based (= optimizer steps so far). */
  step: number;
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  lr: number;
  /** Wall time of the step, data loading included. */
  stepMs: number;
  examplesPerSec: number;
  batchSize: number;
  /** tf.memory(): bytes held by tensors, and the tensor count (flat in a healthy run). */
  memoryBytes: number;
  numTensors: number;
  /** Task-specific scalars (VAE: recon, kl). */
  extras: Record<string, number>;
}

/** What checkpoints keep of each step (the full event is larger). */
export interface MetricRecord {
  step: number;
  loss: number;
  gradNorm: number;
  lr: number;
  stepMs: number;
  extras?: Record<string, number>;
}

export type RunState = "idle" | "running" | "paused" | "stopping" | "stopped" | "done" | "failed";

export type TrainEvent =
  | ({ type: "metrics" } & StepMetrics)
  | { type: "checkpoint"; step: number; id: string; bytes: number; ms: number; pruned: string[] }
  | { type: "resumed"; step: number; id: string; skipped: { id: string; code: string; message: string }[] }
  | { type: "state"; state: RunState; step: number }
  | { type: "message"; level: "info" | "warning" | "error"; code: string; text: string; step: number };

export type TrainListener = (event: TrainEvent) => void;

/** Six significant digits: plenty for a loss curve, and a third of the JSON. */
function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : x;
}

export function toRecord(m: StepMetrics): MetricRecord {
  const record: MetricRecord = {
    step: m.step,
    loss: round(m.loss),
    gradNorm: round(m.gradNorm),
    lr: round(m.lr),
    stepMs: round(m.stepMs),
  };
  const keys = Object.keys(m.extras);
  if (keys.length) record.extras = Object.fromEntries(keys.map((k) => [k, round(m.extras[k])]));
  return record;
}

/** tf.memory() in the fields the events carry. */
export function memorySnapshot(): { memoryBytes: number; numTensors: number } {
  const m = tf.memory();
  return { memoryBytes: m.numBytes, numTensors: m.numTensors };
}

/** Mean of the last `n` losses of a history (NaN when empty): what summaries and reports print. */
export function recentMean(
  history: readonly MetricRecord[],
  n: number,
  key: "loss" | "gradNorm" | "stepMs" = "loss",
): number {
  const tail = history.slice(-n);
  return tail.length ? tail.reduce((s, r) => s + r[key], 0) / tail.length : NaN;
}
