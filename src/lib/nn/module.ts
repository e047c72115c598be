/**
 * The one contract every model in gamedream (DiT, VAE, ...) follows, so training, storage,
 * export and pages can treat them alike: named variables with PyTorch-style dotted names
 * (`blocks.0.attn.q.weight`), a config that is plain JSON data, and explicit disposal.
 */
import * as tf from "@tensorflow/tfjs";

/** Variables in a stable order, keyed by PyTorch-style names. */
export type NamedVariables = Map<string, tf.Variable>;

/** Plain tensors keyed by name (checkpoints, exports, optimizer slots). */
export type NamedTensors = Map<string, tf.Tensor>;

export interface Module<Config> {
  readonly config: Config;
  /** Every variable the module owns, trainable or not, in a stable order. */
  variables(): NamedVariables;
  /** Frees every variable. The module cannot be used afterwards. */
  dispose(): void;
}

/** Total number of scalar parameters of a module. */
export function countParameters(module: Pick<Module<unknown>, "variables">): number {
  let n = 0;
  for (const v of module.variables().values()) n += v.size;
  return n;
}

/** Copies values into a module's variables by name; shapes must match exactly. */
export function assignVariables(module: Pick<Module<unknown>, "variables">, values: NamedTensors): void {
  const vars = module.variables();
  for (const [name, variable] of vars) {
    const value = values.get(name);
    if (!value) throw new Error(`missing weight "${name}"`);
    if (value.shape.join(",") !== variable.shape.join(",")) {
      throw new Error(`weight "${name}" has shape [${value.shape}] but the model expects [${variable.shape}]`);
    }
    variable.assign(value);
  }
}
