/**
 * FLOP and parameter counts per preset, from the configs alone (no tensors), for benchmarks, the
 * README and pages. A multiply-add counts as 2 FLOPs. Counted: every matrix product (Linears,
 * attention scores and mixing); not counted: elementwise work (norms, softmax, GELU, adaLN
 * modulation, residuals), a few percent at these widths.
 */
import { actionPathway, tokensPerFrame, type DiTConfig } from "./dit.js";
import { samplerInfo } from "../diffusion/index.js";
import { PRESETS, type Preset, type PresetName } from "./presets.js";
import { vaeDecoderFlops, vaeParameterCounts } from "./vae-config.js";

/** Parameters of `createDiT(config)`, computed from the config (equals `countParameters`). */
export function ditParameterCount(config: DiTConfig): number {
  const d = config.hidden;
  const patchDim = config.patchSize * config.patchSize * config.latentChannels;
  const linear = (i: number, o: number, bias = true) => i * o + (bias ? o : 0);
  const spatial = linear(d, d) + linear(d, d, false) + linear(d, d) + linear(d, d);
  const temporal =
    linear(d, d) + linear(d, d, false) + linear(d, d) + linear(d, d) + config.heads * (config.contextFrames + 1);
  const mlp = linear(d, config.mlpRatio * d) + linear(config.mlpRatio * d, d);
  const adaLN = 9 * linear(d, d);
  const block = spatial + temporal + mlp + adaLN;
  const positions = config.spatialPositions === "learned" ? tokensPerFrame(config) * d : 0;
  const pathway = actionPathway(config);
  const actions =
    linear(config.actionDim, d) + (pathway.actionEmbedder === "mlp" ? linear(d, d) : 0) + (pathway.nullAction ? d : 0);
  const embed =
    linear(pathway.contextLatentInput ? 2 * patchDim : patchDim, d) +
    positions +
    linear(config.frequencyDim, d) +
    linear(d, d) +
    actions;
  const final = 2 * linear(d, d) + linear(d, patchDim);
  return embed + config.depth * block + final;
}

/**
 * FLOPs of one DiT pass over one new frame (batch 1) attending to `cachedFrames` cached frames
 * (default: a full window), i.e. one denoising step of `forwardFrame`.
 */
export function ditFrameFlops(config: DiTConfig, cachedFrames = config.contextFrames): number {
  const d = config.hidden;
  const n = tokensPerFrame(config);
  const patchDim = config.patchSize * config.patchSize * config.latentChannels;
  const pathway = actionPathway(config);
  const inputDim = pathway.contextLatentInput ? 2 * patchDim : patchDim;
  const conditioning =
    2 * (config.frequencyDim * d + d * d + config.actionDim * d + (pathway.actionEmbedder === "mlp" ? d * d : 0));
  const perBlock =
    2 * 9 * d * d + // adaLN modulations (one row per frame)
    2 * 4 * n * d * d + // spatial q, k, v, out
    2 * 2 * n * n * d + // spatial scores and mixing, all heads
    2 * 4 * n * d * d + // temporal q, k, v, out
    2 * 2 * n * (cachedFrames + 1) * d + // temporal scores and mixing
    2 * 2 * n * d * config.mlpRatio * d; // MLP
  const final = 2 * (2 * d * d + n * d * patchDim);
  return 2 * n * inputDim * d + conditioning + config.depth * perBlock + final;
}

/**
 * DiT passes (one frame each) per generated frame: every denoiser evaluation, twice with
 * classifier-free guidance (the action and the null action in one batch of 2), plus one context
 * pass when the cache update makes one.
 */
export function ditPassesPerFrame(
  sampling: Pick<Preset["sampling"], "sampler" | "steps" | "cacheUpdate" | "guidanceScale">,
): number {
  return (
    denoiserEvaluations(sampling.sampler, sampling.steps) * (sampling.guidanceScale !== 1 ? 2 : 1) +
    (sampling.cacheUpdate === "context-pass" ? 1 : 0)
  );
}

/** Denoiser evaluations for `steps` steps of a sampler (Heun: 2 per step except the last). */
export function denoiserEvaluations(sampler: Preset["sampling"]["sampler"], steps: number): number {
  return samplerInfo(sampler).evaluationsPerStep === 2 ? 2 * steps - 1 : steps;
}

export interface PresetCostRow {
  preset: PresetName;
  tokensPerFrame: number;
  ditParams: number;
  vaeParams: number;
  vaeDecoderParams: number;
  /** One DiT pass on the new frame with a full cache. */
  ditStepFlops: number;
  /** DiT passes per generated frame (`ditPassesPerFrame`). */
  ditPasses: number;
  vaeDecoderFlops: number;
  /** Everything per generated frame: all DiT passes plus one VAE decode. */
  flopsPerFrame: number;
}

/** One row per preset, for the README and benchmark reports. */
export function presetCostTable(presets: Readonly<Record<PresetName, Readonly<Preset>>> = PRESETS): PresetCostRow[] {
  return (Object.keys(presets) as PresetName[]).map((name) => {
    const { dit, vae, sampling } = presets[name];
    const ditStepFlops = ditFrameFlops(dit);
    const ditPasses = ditPassesPerFrame(sampling);
    const decoder = vaeDecoderFlops(vae);
    const vaeParams = vaeParameterCounts(vae);
    return {
      preset: name,
      tokensPerFrame: tokensPerFrame(dit),
      ditParams: ditParameterCount(dit),
      vaeParams: vaeParams.total,
      vaeDecoderParams: vaeParams.decoder,
      ditStepFlops,
      ditPasses,
      vaeDecoderFlops: decoder,
      flopsPerFrame: ditPasses * ditStepFlops + decoder,
    };
  });
}

/**
 * FLOPs of one training step on `batch` clips of `frames` frames: the full-clip forward (temporal
 * attention over all `frames`, as `forward` computes it) and a backward of twice its cost.
 */
export function ditTrainStepFlops(config: DiTConfig, batch: number, frames: number): number {
  return 3 * batch * frames * ditFrameFlops(config, frames - 1);
}
