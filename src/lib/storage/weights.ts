/**
 * Several modules' weights in one flat map with dotted prefixes (`vae.`, `dit.`, `ema.`), the way
 * checkpoints and exports store them, and back.
 */
import type * as tf from "@tensorflow/tfjs";
import { GamedreamError } from "../core/index.js";
import { assignVariables, type Module, type NamedTensors } from "../nn/index.js";

/** `{ dit: m.variables(), ema: shadow }` -> `dit.blocks.0...`, `ema.blocks.0...`, in that order. */
export function prefixNames<T extends tf.Tensor>(parts: Record<string, ReadonlyMap<string, T>>): Map<string, T> {
  const out = new Map<string, T>();
  for (const [prefix, named] of Object.entries(parts)) {
    for (const [name, tensor] of named) out.set(`${prefix}.${name}`, tensor);
  }
  return out;
}

/** The entries under `prefix.`, with the prefix removed (tensors are shared, not copied). */
export function withoutPrefix<T extends tf.Tensor>(named: ReadonlyMap<string, T>, prefix: string): Map<string, T> {
  const head = `${prefix}.`;
  const out = new Map<string, T>();
  for (const [name, tensor] of named) if (name.startsWith(head)) out.set(name.slice(head.length), tensor);
  return out;
}

/**
 * Copies `weights` (names as the module's `variables()` gives them) into the module; a missing
 * name or a shape that differs is a typed `WEIGHTS_MISMATCH` naming the weight.
 */
export function assignWeights(
  module: Pick<Module<unknown>, "variables">,
  weights: NamedTensors,
  what = "the weights",
): void {
  try {
    assignVariables(module, weights);
  } catch (e) {
    throw new GamedreamError(
      "WEIGHTS_MISMATCH",
      "model",
      `${what} do not fit this model (${(e as Error).message}); the model config must match the one they were saved with.`,
      { recoverable: false, cause: e },
    );
  }
}
