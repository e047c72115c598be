/**
 * Presets fitted to the device: from what the device has (the backend backend.ts started, its
 * memory, a short calibration matmul) choose the model preset and training batch size, with the
 * reasons in words, and let the user override any part. Also the policy a trainer follows when
 * memory runs short mid-run: halve the batch and go on rather than crash.
 *
 * Host-independent: browser facts (`navigator.deviceMemory`, Chromium's `performance.memory`) are
 * read when present and treated as unknown elsewhere (Node), never required.
 */
import { benchMatmul } from "./primitives.js";
import { type BackendChoice, type BackendName, GamedreamError } from "../core/index.js";
import {
  ditParameterCount,
  presetCostTable,
  tokensPerFrame,
  PRESETS,
  PRESET_NAMES,
  getPreset,
  type PresetName,
  vaeParameterCounts,
} from "../models/index.js";

const GB = 1024 ** 3;

/** What the device offers, as measured or reported. `null` means the platform does not say. */
export interface DeviceFacts {
  backend: BackendName;
  /** The backend runs on a software rasteriser (SwiftShader, llvmpipe). */
  softwareGpu: boolean;
  /** `navigator.deviceMemory` in GiB (browsers round it and cap it at 8). */
  deviceMemoryGb: number | null;
  /** Chromium's `performance.memory.jsHeapSizeLimit`, bytes. */
  jsHeapLimitBytes: number | null;
  cores: number | null;
  /** Square 512 matmul throughput on `backend`, GFLOP/s. */
  matmulGflops: number | null;
}

export interface DeviceOverrides {
  preset?: PresetName | null;
  batchSize?: number | null;
  backend?: BackendName | null;
}

export interface DeviceChoice {
  preset: PresetName;
  batchSize: number;
  backend: BackendName;
  /** Frames per training clip the estimate assumed (the preset's context window + 1). */
  clipFrames: number;
  /** Memory the choice may use for training, bytes. */
  memoryBudgetBytes: number;
  /** Estimated training memory of the chosen preset and batch, bytes. */
  trainingBytes: number;
  /** Estimated frames per second of live play with the chosen preset. */
  playFps: number | null;
  /** One sentence per decision, for the page. */
  reasons: string[];
  /** Which fields the user set rather than the policy. */
  overridden: (keyof DeviceOverrides)[];
  facts: DeviceFacts;
}

/** Below this estimated play rate a bigger preset is not worth choosing. */
export const MIN_PLAY_FPS = 10;
/** Small kernels reach about half of a 512^3 matmul's throughput (5-15 vs 19-20 GFLOP/s, docs/performance-notes.md). */
const KERNEL_EFFICIENCY = 0.5;
export const MAX_BATCH_SIZE = 16;
/** Without `navigator.deviceMemory`, assume a common 4 GiB machine. */
const ASSUMED_MEMORY_GB = 4;
/** Share of device memory one tab's training may take: the OS, the browser and the page need the rest. */
const MEMORY_SHARE = 0.25;
/** wasm32's heap cannot grow past 4 GiB, and tfjs' wasm backend stops at 2 GiB in practice. */
const WASM_HEAP_BYTES = 2 * GB;

/** Reads what the platform reports about memory and cores; no measurement. */
export function reportedDeviceFacts(choice: Pick<BackendChoice, "backend" | "attempts">): DeviceFacts {
  const nav = globalThis.navigator as (Navigator & { deviceMemory?: number }) | undefined;
  const perf = globalThis.performance as (Performance & { memory?: { jsHeapSizeLimit?: number } }) | undefined;
  const attempt = choice.attempts.find((a) => a.ok && a.backend === choice.backend);
  return {
    backend: choice.backend,
    softwareGpu: attempt?.software === true,
    deviceMemoryGb: typeof nav?.deviceMemory === "number" ? nav.deviceMemory : null,
    jsHeapLimitBytes: typeof perf?.memory?.jsHeapSizeLimit === "number" ? perf.memory.jsHeapSizeLimit : null,
    cores: typeof nav?.hardwareConcurrency === "number" ? nav.hardwareConcurrency : null,
    matmulGflops: null,
  };
}

/**
 * Reported facts plus a calibration run: a 512^3 matmul on the current backend, 5 timed runs
 * (about 0.1 s on 2-core wasm). Call after `initBackend`.
 */
export async function probeDevice(
  choice: Pick<BackendChoice, "backend" | "attempts">,
  options: { calibrate?: boolean } = {},
): Promise<DeviceFacts> {
  const facts = reportedDeviceFacts(choice);
  if (options.calibrate === false) return facts;
  const { gflops } = await benchMatmul(512, 5);
  return { ...facts, matmulGflops: gflops };
}

/**
 * Rough training memory of one step, bytes: weights, gradients and Adam's two moments (4 copies
 * of every parameter), plus activations kept for the backward pass, which grow with the batch.
 * The activation term counts ~24 floats per token per block and every attention matrix, and the
 * VAE encoder's feature maps (about 16 floats per input pixel); within 2x of tf.memory() on the
 * presets, which is what a batch-size choice needs.
 */
export function estimateTrainingBytes(preset: PresetName, batchSize: number, clipFrames: number): number {
  const { dit, vae } = PRESETS[preset];
  const params = ditParameterCount(dit) + vaeParameterCounts(vae).total;
  const n = tokensPerFrame(dit);
  const perFrameDit = dit.depth * (24 * n * dit.hidden + dit.heads * n * n + dit.heads * n * (dit.contextFrames + 1));
  const perFrameVae = 16 * vae.imageSize * vae.imageSize * vae.imageChannels;
  return 4 * (4 * params + batchSize * clipFrames * (perFrameDit + perFrameVae));
}

/** Estimated live-play frame rate of `preset` at `gflops` matmul throughput. */
export function estimatePlayFps(preset: PresetName, gflops: number): number {
  const row = presetCostTable().find((r) => r.preset === preset)!;
  return (gflops * 1e9 * KERNEL_EFFICIENCY) / row.flopsPerFrame;
}

/** Bytes training may use on this device, and why. */
export function memoryBudget(facts: DeviceFacts): { bytes: number; reason: string } {
  const deviceGb = facts.deviceMemoryGb ?? ASSUMED_MEMORY_GB;
  let bytes = deviceGb * GB * MEMORY_SHARE;
  const parts = [
    facts.deviceMemoryGb === null
      ? `the browser does not report its memory, so ${ASSUMED_MEMORY_GB} GiB is assumed`
      : `the device reports ${facts.deviceMemoryGb} GiB of memory`,
    `training may use ${Math.round(MEMORY_SHARE * 100)}% of it`,
  ];
  if (facts.backend === "wasm" && bytes > WASM_HEAP_BYTES) {
    bytes = WASM_HEAP_BYTES;
    parts.push("capped at the wasm heap's 2 GiB");
  }
  return { bytes, reason: `Memory budget ${(bytes / GB).toFixed(2)} GiB: ${parts.join(", ")}.` };
}

function largestBatch(preset: PresetName, clipFrames: number, budget: number): number {
  let batch = MAX_BATCH_SIZE;
  while (batch > 1 && estimateTrainingBytes(preset, batch, clipFrames) > budget) batch /= 2;
  return batch;
}

function checkBatchSize(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 256) {
    throw new GamedreamError(
      "DEVICE_BAD_OVERRIDE",
      "validation",
      `Batch size must be a whole number from 1 to 256, got ${value}.`,
      { details: { value } },
    );
  }
  return value;
}

/**
 * The preset, batch size and backend for this device, each with a reason. The policy: the largest
 * preset that still plays at `MIN_PLAY_FPS` (by the calibration) and trains at batch 1 within the
 * memory budget, else `realtime`; then the largest power-of-two batch up to `MAX_BATCH_SIZE` that
 * fits the budget. The backend is the one backend.ts started (it already ranks software GPUs
 * below wasm). Overrides replace a decision and are said to be overrides.
 */
export function chooseDeviceSettings(facts: DeviceFacts, overrides: DeviceOverrides = {}): DeviceChoice {
  const reasons: string[] = [];
  const overridden: (keyof DeviceOverrides)[] = [];
  const budget = memoryBudget(facts);
  reasons.push(budget.reason);

  let preset: PresetName;
  if (overrides.preset) {
    preset = getPreset(overrides.preset).name;
    overridden.push("preset");
    reasons.push(`Preset ${preset}: chosen by you.`);
  } else {
    const fitting = PRESET_NAMES.filter((name) => {
      const frames = PRESETS[name].dit.contextFrames + 1;
      const fps =
        facts.matmulGflops === null ? (name === "realtime" ? Infinity : 0) : estimatePlayFps(name, facts.matmulGflops);
      return fps >= MIN_PLAY_FPS && estimateTrainingBytes(name, 1, frames) <= budget.bytes;
    });
    preset = fitting.at(-1) ?? "realtime";
    if (facts.matmulGflops === null)
      reasons.push("Preset realtime: no calibration run, so the preset made for a 2-core CPU.");
    else {
      const fps = estimatePlayFps(preset, facts.matmulGflops);
      const next = PRESET_NAMES[PRESET_NAMES.indexOf(preset) + 1];
      const why = next
        ? `${next} would play at about ${estimatePlayFps(next, facts.matmulGflops).toFixed(1)} FPS or not fit in memory`
        : "the largest preset";
      reasons.push(
        fitting.length === 0
          ? `Preset realtime: even it is estimated at ${fps.toFixed(1)} FPS here (calibration ${facts.matmulGflops.toFixed(1)} GFLOP/s), below ${MIN_PLAY_FPS} FPS, but nothing smaller exists.`
          : `Preset ${preset}: the calibration matmul ran at ${facts.matmulGflops.toFixed(1)} GFLOP/s, so ${preset} plays at about ${fps.toFixed(0)} FPS; ${why}.`,
      );
    }
  }

  const clipFrames = PRESETS[preset].dit.contextFrames + 1;
  let batchSize: number;
  if (overrides.batchSize) {
    batchSize = checkBatchSize(overrides.batchSize);
    overridden.push("batchSize");
    const bytes = estimateTrainingBytes(preset, batchSize, clipFrames);
    reasons.push(
      `Batch size ${batchSize}: chosen by you` +
        (bytes > budget.bytes
          ? `; it needs about ${(bytes / GB).toFixed(2)} GiB, over the budget, so training may step it down when memory runs short.`
          : "."),
    );
  } else {
    batchSize = largestBatch(preset, clipFrames, budget.bytes);
    reasons.push(
      `Batch size ${batchSize}: about ${(estimateTrainingBytes(preset, batchSize, clipFrames) / GB).toFixed(2)} GiB for clips of ${clipFrames} frames` +
        (batchSize === MAX_BATCH_SIZE
          ? ` (the most the trainer uses).`
          : `; batch ${batchSize * 2} would exceed the budget.`),
    );
  }

  let backend = facts.backend;
  if (overrides.backend && overrides.backend !== facts.backend) {
    backend = overrides.backend;
    overridden.push("backend");
    reasons.push(
      `Backend ${backend}: chosen by you; it takes effect when the page restarts TensorFlow.js (?backend=${backend}).`,
    );
  } else {
    reasons.push(
      `Backend ${backend}: the fastest that started here` +
        (facts.softwareGpu ? " (a software GPU: expect it to be slow)." : "."),
    );
  }

  return {
    preset,
    batchSize,
    backend,
    clipFrames,
    memoryBudgetBytes: budget.bytes,
    trainingBytes: estimateTrainingBytes(preset, batchSize, clipFrames),
    playFps: facts.matmulGflops === null ? null : estimatePlayFps(preset, facts.matmulGflops),
    reasons,
    overridden,
    facts,
  };
}

const OUT_OF_MEMORY = [
  /out of memory/i,
  /\bOOM\b/,
  /Array buffer allocation failed/i,
  /Cannot enlarge memory/i,
  /WebAssembly\.Memory.*(grow|maximum)/i,
  /Maximum memory size exceeded/i,
  /Failed to allocate/i,
  /Invalid typed array length/i,
  /CONTEXT_LOST_WEBGL|context lost/i,
];

/** True for the ways tfjs backends and browsers report running out of memory. */
export function isOutOfMemoryError(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 4; depth++) {
    const { name, message } = e as { name?: string; message?: string };
    if (name === "GPUOutOfMemoryError" || (name === "RangeError" && /allocat|memory|length/i.test(message ?? "")))
      return true;
    if (typeof message === "string" && OUT_OF_MEMORY.some((re) => re.test(message))) return true;
    if (typeof e === "string" && OUT_OF_MEMORY.some((re) => re.test(e as string))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

export type MemoryShortDecision =
  | { retry: true; batchSize: number; message: string }
  | { retry: false; error: GamedreamError };

/**
 * What a training loop does when a step throws `error` at `batchSize`: `null` when it is not a
 * memory error (rethrow it); retry at half the batch (dispose the failed step's tensors first)
 * while it is above `minBatchSize`; otherwise stop with a typed `TRAINING_OUT_OF_MEMORY`.
 */
export function batchSizeAfterMemoryError(
  error: unknown,
  batchSize: number,
  minBatchSize = 1,
): MemoryShortDecision | null {
  if (!isOutOfMemoryError(error)) return null;
  if (batchSize > minBatchSize) {
    const next = Math.max(minBatchSize, Math.floor(batchSize / 2));
    return {
      retry: true,
      batchSize: next,
      message: `Memory ran short at batch size ${batchSize}; training goes on at batch size ${next}.`,
    };
  }
  return {
    retry: false,
    error: new GamedreamError(
      "TRAINING_OUT_OF_MEMORY",
      "training",
      `Memory ran short even at batch size ${batchSize}. Choose a smaller preset, close other tabs, or use a device with more memory; the last checkpoint is intact.`,
      { recoverable: true, details: { batchSize }, cause: error },
    ),
  };
}
