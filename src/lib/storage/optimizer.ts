/**
 * Optimizer state as plain, host-independent data: slot tensors named after the model's
 * PyTorch-style variable names (`dit.blocks.0.attn.q.weight/m`), so a run restored in a new process,
 * whose tf.Variables carry other engine names, gets every moment back on the right variable.
 *
 * Works with the tf.train optimizers that implement getWeights/setWeights (adam, sgd, momentum,
 * rmsprop, adagrad, adadelta). A custom optimizer (e.g. an AdamW in train.ts) can build an
 * `OptimizerState` itself.
 */
import * as tf from "@tensorflow/tfjs";
import { GamedreamError } from "../core/index.js";
import type { NamedTensors, NamedVariables } from "../nn/index.js";

export interface OptimizerState {
  /** `tf.train` class name (`Adam`, `SGD`, ...) or a custom optimizer's name. */
  className: string;
  /** Hyperparameters as JSON (`getConfig()` of tf.train optimizers). */
  config: Record<string, unknown>;
  /**
   * Scalar state. tf.train optimizers store `iterations`; Adam also `accBeta1`/`accBeta2`, the
   * float32 running products of beta, which setWeights would otherwise recompute with `pow` and
   * change in the last bit.
   */
  scalars: Record<string, number>;
  /** Slot tensors in the optimizer's own order (Adam: all `/m`, then all `/v`). */
  slots: NamedTensors;
}

/** Adam's private running beta products: read and restored bitwise (see `OptimizerState.scalars`). */
interface AdamInternals {
  accBeta1?: tf.Variable;
  accBeta2?: tf.Variable;
}

function engineToModelNames(variables: NamedVariables): Map<string, string> {
  return new Map([...variables].map(([modelName, v]) => [v.name, modelName]));
}

/** Splits `engineName/suffix` at the longest known engine variable name. */
function renameSlot(slotName: string, names: Map<string, string>): string | null {
  let best: string | null = null;
  for (const engineName of names.keys()) {
    if (slotName.startsWith(engineName + "/") && (best === null || engineName.length > best.length)) best = engineName;
  }
  return best === null ? null : names.get(best) + slotName.slice(best.length);
}

/**
 * Copies an optimizer's state. `variables` maps model names to the variables the optimizer
 * updates (the same map used to build checkpoint weights, prefixes included). The returned slot
 * tensors are copies the caller owns (`disposeOptimizerState`).
 */
export async function captureOptimizerState(
  optimizer: tf.Optimizer,
  variables: NamedVariables,
): Promise<OptimizerState> {
  const weights = await optimizer.getWeights();
  const names = engineToModelNames(variables);
  const scalars: Record<string, number> = {};
  const slots: NamedTensors = new Map();
  try {
    for (const { name, tensor } of weights) {
      if (name === "iter") {
        scalars.iterations = (await tensor.data())[0];
        continue;
      }
      const modelName = renameSlot(name, names);
      if (modelName === null) {
        throw new GamedreamError(
          "OPTIMIZER_STATE",
          "training",
          `The optimizer holds state for a variable ("${name}") that is not among the variables being saved; pass every variable the optimizer updates.`,
          { recoverable: false, details: { slot: name } },
        );
      }
      slots.set(modelName, tf.clone(tensor));
    }
  } catch (e) {
    tf.dispose([...slots.values()]);
    throw e;
  } finally {
    // getWeights makes a fresh scalar for the iteration count; the slot tensors are the
    // optimizer's own variables and stay alive.
    tf.dispose(weights.filter((w) => w.name === "iter").map((w) => w.tensor));
  }
  const internals = optimizer as unknown as AdamInternals;
  if (internals.accBeta1 && internals.accBeta2) {
    scalars.accBeta1 = (await internals.accBeta1.data())[0];
    scalars.accBeta2 = (await internals.accBeta2.data())[0];
  }
  return {
    className: optimizer.getClassName(),
    config: optimizer.getConfig() as Record<string, unknown>,
    scalars,
    slots,
  };
}

/**
 * Puts saved state into `optimizer` (of the same class), re-pointing slots at the variables in
 * `variables` by model name. Slot variables the optimizer had before are disposed. `state` is
 * not consumed: the caller still disposes it.
 */
export async function restoreOptimizerState(
  optimizer: tf.Optimizer,
  state: OptimizerState,
  variables: NamedVariables,
): Promise<void> {
  if (optimizer.getClassName() !== state.className) {
    throw new GamedreamError(
      "OPTIMIZER_STATE",
      "training",
      `The checkpoint's optimizer state is for ${state.className}, but the run uses ${optimizer.getClassName()}; use the same optimizer to resume.`,
      { recoverable: false, details: { saved: state.className, current: optimizer.getClassName() } },
    );
  }
  const weightValues: { name: string; tensor: tf.Tensor }[] = [];
  for (const [modelName, tensor] of state.slots) {
    const slash = modelName.lastIndexOf("/");
    const variable = slash < 0 ? undefined : variables.get(modelName.slice(0, slash));
    if (!variable) {
      throw new GamedreamError(
        "OPTIMIZER_STATE",
        "training",
        `The checkpoint's optimizer state refers to "${modelName}", which the model does not have; the model config differs from the saved run.`,
        { recoverable: false, details: { slot: modelName } },
      );
    }
    weightValues.push({ name: variable.name + modelName.slice(slash), tensor });
  }
  const previous = await optimizer.getWeights();
  const iterations = tf.scalar(state.scalars.iterations ?? 0, "int32");
  try {
    // setWeights copies each tensor into a new variable.
    await optimizer.setWeights([{ name: "iter", tensor: iterations }, ...weightValues]);
  } finally {
    iterations.dispose();
  }
  tf.dispose(previous.map((w) => w.tensor));
  const internals = optimizer as unknown as AdamInternals;
  if (
    internals.accBeta1 &&
    internals.accBeta2 &&
    state.scalars.accBeta1 !== undefined &&
    state.scalars.accBeta2 !== undefined
  ) {
    const { accBeta1, accBeta2 } = internals;
    tf.tidy(() => {
      accBeta1.assign(tf.scalar(state.scalars.accBeta1));
      accBeta2.assign(tf.scalar(state.scalars.accBeta2));
    });
  }
}

export function disposeOptimizerState(state: OptimizerState): void {
  tf.dispose([...state.slots.values()]);
}
