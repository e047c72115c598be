/**
 * Kernel profiles: what a piece of tensor work runs, counted and timed per kernel. Counts do not
 * depend on machine load, so they compare variants fairly on a busy machine where wall-clock
 * medians swing by +-25%; per-kernel times say where the time goes.
 *
 * `tf.profile` also lists op wrappers (`fusedMatMul__op`, custom-gradient scopes) as kernels,
 * which would count work twice: only names registered as kernels of the active backend count.
 */
import * as tf from "@tensorflow/tfjs";

export interface KernelRow {
  /** Kernel name, e.g. "BatchMatMul", "_FusedMatMul", "Reshape". */
  name: string;
  count: number;
  /** Summed kernel time (ms; wasm times each kernel synchronously, so it includes its overhead). */
  ms: number;
}

export interface KernelProfile {
  /** Kernels launched (op wrappers excluded). */
  kernels: number;
  /** Kernels that move no data (Reshape, Identity): engine overhead only. */
  reshapes: number;
  kernelMs: number;
  /** Most bytes held at once during the call, tensors alive before it included (tf.profile). */
  peakBytes: number;
  /** Tensors the call left behind (its results included). */
  newTensors: number;
  /** One row per kernel name, most time first. */
  rows: KernelRow[];
}

const METADATA_ONLY = new Set(["Reshape", "Identity"]);

/**
 * Profiles one call of `fn` on the current backend. Whatever `fn` returns is disposed afterwards
 * (profile a call that leaves nothing else behind, or `newTensors` shows the leak).
 */
export async function profileKernels(fn: () => tf.TensorContainer): Promise<KernelProfile> {
  let result: tf.TensorContainer = [];
  const backend = tf.getBackend();
  const info = await tf.profile(() => {
    result = fn();
    return result;
  });
  tf.dispose(result);
  const byName = new Map<string, KernelRow>();
  let kernels = 0;
  let reshapes = 0;
  for (const k of info.kernels) {
    if (tf.getKernel(k.name, backend) === undefined) continue;
    kernels++;
    if (METADATA_ONLY.has(k.name)) reshapes++;
    const row = byName.get(k.name) ?? { name: k.name, count: 0, ms: 0 };
    row.count++;
    row.ms += typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    byName.set(k.name, row);
  }
  const rows = [...byName.values()].sort((a, b) => b.ms - a.ms || b.count - a.count);
  return {
    kernels,
    reshapes,
    kernelMs: rows.reduce((s, r) => s + r.ms, 0),
    peakBytes: info.peakBytes,
    newTensors: info.newTensors,
    rows,
  };
}

/** `"BatchMatMul 120x 3.1ms, Add 80x 0.9ms, ..."`: the top `n` rows for logs and result details. */
export function formatKernelRows(rows: readonly KernelRow[], n = 6): string {
  return rows
    .slice(0, n)
    .map((r) => `${r.name} ${r.count}x ${r.ms.toFixed(1)}ms`)
    .join(", ");
}
