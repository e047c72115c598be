/**
 * Trained models as TensorFlow.js weight manifests and back, the same in every host: a manifest's
 * `gamedream` section holds the model config (VAE: with its fitted `latentScale`), the step, and
 * for the DiT the training settings a sampler needs (noise schedule, clip length, context noise).
 * Loading goes through storage's checksum-verifying readers, then these builders.
 */
import type * as tf from "@tensorflow/tfjs";
import { type DiT, type DiTConfig, createDiT } from "../dit.js";
import { GamedreamError } from "../errors.js";
import type { NamedTensors } from "../nn/module.js";
import { assignWeights } from "../storage.js";
import type { LoadedWeights } from "../storage/tfjs-manifest.js";
import { type VAE, type VAEConfig, createVAE } from "../vae.js";
import { DEFAULT_DIT_TRAIN, type DiTTrainSettings } from "./dit-task.js";

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
    options: { config: model.config, step, extra: { kind, weights: options.ema ? "ema" : "raw", settings: options.settings ?? null, ...options.extra } },
  };
}

function wrongKind(loaded: LoadedWeights, expected: string): GamedreamError {
  const kind = (loaded.info?.extra as { kind?: string } | undefined)?.kind ?? "unknown";
  return new GamedreamError("WEIGHTS_WRONG_MODEL", "model", `These weights are for a ${kind} model, not a ${expected}.`, { recoverable: false, details: { kind, expected } });
}

/** A VAE built from loaded weights (config and latent scale from the manifest); disposes `loaded`. */
export function vaeFromWeights(loaded: LoadedWeights): VAE {
  try {
    if ((loaded.info?.extra as { kind?: string } | undefined)?.kind !== "vae" || !loaded.info?.config) throw wrongKind(loaded, "VAE");
    const vae = createVAE(loaded.info.config as VAEConfig, 0);
    assignWeights(vae, loaded.weights, "The VAE weights");
    return vae;
  } finally {
    disposeWeights(loaded.weights);
  }
}

/** A DiT and its training settings (schedule, ...) built from loaded weights; disposes `loaded`. */
export function ditFromWeights(loaded: LoadedWeights): { dit: DiT; settings: DiTTrainSettings } {
  try {
    const extra = loaded.info?.extra as { kind?: string; settings?: Partial<DiTTrainSettings> } | undefined;
    if (extra?.kind !== "dit" || !loaded.info?.config) throw wrongKind(loaded, "DiT");
    const dit = createDiT(loaded.info.config as DiTConfig, 0);
    assignWeights(dit, loaded.weights, "The DiT weights");
    return { dit, settings: { ...DEFAULT_DIT_TRAIN, ...extra.settings } };
  } finally {
    disposeWeights(loaded.weights);
  }
}

function disposeWeights(weights: NamedTensors): void {
  for (const t of weights.values()) t.dispose();
}
