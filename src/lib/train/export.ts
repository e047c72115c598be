/**
 * Trained models as TensorFlow.js weight manifests, the same in every host: a manifest's
 * `gamedream` section holds the model config (VAE: with its fitted `latentScale`), the step, and
 * for the DiT the training settings a sampler needs (noise schedule, clip length, context noise).
 * Reading them back is ../models/loader.ts's (`ditFromWeights`, `vaeFromWeights`).
 */
import type * as tf from "@tensorflow/tfjs";

/** What `encodeTfjsWeights` / `writeTfjsWeightsDir` need for a trained model. */
export interface ModelExport {
  weights: ReadonlyMap<string, tf.Tensor>;
  options: { config: unknown; step: number; extra: Record<string, unknown> };
}

/**
 * The weights to ship from a model and (optionally) its EMA shadow: the EMA when given, since it is
 * what a run samples best with. `extra.kind` says which model it is.
 */
export function modelExport(
  kind: "vae" | "dit",
  model: { config: unknown; variables(): ReadonlyMap<string, tf.Tensor> },
  step: number,
  options: { ema?: ReadonlyMap<string, tf.Tensor> | null; settings?: unknown; extra?: Record<string, unknown> } = {},
): ModelExport {
  return {
    weights: options.ema ?? model.variables(),
    options: {
      config: model.config,
      step,
      extra: { kind, weights: options.ema ? "ema" : "raw", settings: options.settings ?? null, ...options.extra },
    },
  };
}
