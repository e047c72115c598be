/**
 * VAE configuration as plain data: presets, validation, derived shapes, parameter and FLOP
 * counts. The architecture it describes (see ./vae.ts):
 *
 * encoder: frame [B,S,S,3] -> pixel-unshuffle by `stem` -> conv_in 3x3 -> for each level:
 *          `blocks[i]` residual blocks (SiLU, 3x3, SiLU, 3x3), then, between levels, a 2x
 *          pixel-unshuffle + 1x1 conv (a learned stride-2 2x2 conv) -> SiLU -> conv_out 3x3 to
 *          2 * latentChannels (mean, logvar).
 * decoder: latent [B,h,w,c] -> conv_in 3x3 -> for each level: `blocks[i]` residual blocks, then,
 *          between levels, a 1x1 conv to 4x channels + 2x pixel shuffle -> SiLU -> conv_out 1x1 to
 *          3 * head^2 channels -> pixel shuffle by `head` -> 2 * sigmoid - 1, in [-1, 1].
 *
 * Downsampling and upsampling are pixel (un)shuffles rather than strided or transposed convs,
 * several times faster on wasm (docs/performance-notes.md).
 */
import { GamedreamError } from "../core/index.js";

export interface VAEEncoderConfig {
  /** Space-to-depth factor applied to the frame before the first conv. */
  stem: number;
  /** Channels per level; each level after the first halves the resolution. */
  channels: number[];
  /** Residual blocks per level (same length as `channels`). */
  blocks: number[];
}

export interface VAEDecoderConfig {
  /** Channels per level; each level after the first doubles the resolution. */
  channels: number[];
  /** Residual blocks per level (same length as `channels`). */
  blocks: number[];
  /** Pixel-shuffle factor of the output head (1x1 conv to 3 * head^2 channels). */
  head: number;
}

export interface VAEConfig {
  /** Preset name, or a free label for custom configs. */
  name: string;
  imageSize: number;
  imageChannels: number;
  latentChannels: number;
  encoder: VAEEncoderConfig;
  decoder: VAEDecoderConfig;
  /**
   * Multiplies latents before the DiT sees them (SD's 0.18215): 1 / std of the encoder means on
   * training data, set with `estimateLatentScale`. 1 means "not fitted yet".
   */
  latentScale: number;
  /** Pixel reconstruction loss: "mse" (mean squared error) or "l1" (mean absolute error). */
  reconLoss: "mse" | "l1";
}

/**
 * Presets, matching the shared contract: realtime 256 -> 16x16x8 with a cheap decoder; small/base
 * 256 -> 32x32x8. The realtime decoder (one residual block at 16x16, then 1x1 convs + 2x shuffles
 * to 64x64x16 and a 4x shuffle head) costs 55 MFLOP per frame; the earlier [64, 32] / [1, 1] / 8x
 * head cost 95 MFLOP and, A/B in one run on wasm (Node, 2 loaded cores), decoded 2.0-2.4x slower
 * (median 26.8 vs 13.1 ms, p10 10.8 vs 4.5 ms, readback included): a third of the 33 ms frame.
 */
export const VAE_PRESETS: Readonly<Record<"realtime" | "small" | "base", VAEConfig>> = {
  realtime: {
    name: "realtime",
    imageSize: 256,
    imageChannels: 3,
    latentChannels: 8,
    encoder: { stem: 4, channels: [24, 48, 96], blocks: [1, 1, 1] },
    decoder: { channels: [64, 32, 16], blocks: [1, 0, 0], head: 4 },
    latentScale: 1,
    reconLoss: "mse",
  },
  small: {
    name: "small",
    imageSize: 256,
    imageChannels: 3,
    latentChannels: 8,
    encoder: { stem: 2, channels: [32, 64, 128], blocks: [1, 1, 1] },
    decoder: { channels: [128, 64, 32], blocks: [1, 1, 1], head: 2 },
    latentScale: 1,
    reconLoss: "mse",
  },
  base: {
    name: "base",
    imageSize: 256,
    imageChannels: 3,
    latentChannels: 8,
    encoder: { stem: 2, channels: [64, 128, 256], blocks: [2, 2, 2] },
    decoder: { channels: [256, 128, 64], blocks: [2, 2, 2], head: 2 },
    latentScale: 1,
    reconLoss: "mse",
  },
};

export type VAEPresetName = keyof typeof VAE_PRESETS;

function invalid(message: string, details: Record<string, unknown>): GamedreamError {
  return new GamedreamError("VAE_CONFIG_INVALID", "model", message, { recoverable: true, details });
}

/** Spatial downsampling factor of the encoder (= upsampling factor of the decoder). */
export function vaeDownsample(config: VAEConfig): number {
  return config.encoder.stem * 2 ** (config.encoder.channels.length - 1);
}

/** Latent shape of one frame, [h, w, c]. */
export function vaeLatentShape(config: VAEConfig): [number, number, number] {
  const s = config.imageSize / vaeDownsample(config);
  return [s, s, config.latentChannels];
}

/** Throws a VAE_CONFIG_INVALID error naming the field when the config cannot be built. */
export function validateVAEConfig(config: VAEConfig): void {
  const { encoder, decoder } = config;
  for (const [field, part] of [
    ["encoder", encoder],
    ["decoder", decoder],
  ] as const) {
    if (part.channels.length === 0 || part.channels.length !== part.blocks.length) {
      throw invalid(`VAE ${field}.channels and ${field}.blocks must be non-empty lists of the same length.`, { field });
    }
    if (
      part.channels.some((c) => !Number.isInteger(c) || c < 1) ||
      part.blocks.some((b) => !Number.isInteger(b) || b < 0)
    ) {
      throw invalid(`VAE ${field} channel counts must be positive integers and block counts non-negative integers.`, {
        field,
      });
    }
  }
  const down = vaeDownsample(config);
  const up = decoder.head * 2 ** (decoder.channels.length - 1);
  if (down !== up) {
    throw invalid(`The VAE encoder downsamples ${down}x but the decoder upsamples ${up}x; they must match.`, {
      down,
      up,
    });
  }
  if (!Number.isInteger(config.imageSize / down)) {
    throw invalid(`Image size ${config.imageSize} is not divisible by the VAE's downsampling factor ${down}.`, {
      down,
    });
  }
  if (!(config.latentScale > 0) || !Number.isFinite(config.latentScale)) {
    throw invalid(`latentScale must be a positive number, got ${config.latentScale}.`, {
      latentScale: config.latentScale,
    });
  }
}

/** One convolution of the architecture: kernel k, channels in -> out, at a square resolution. */
export interface ConvSpec {
  name: string;
  k: number;
  cin: number;
  cout: number;
  /** Side of the feature map it runs on. */
  size: number;
}

/** Every conv of the encoder in order, with its resolution (shared by model, params and FLOPs). */
export function encoderConvs(config: VAEConfig): ConvSpec[] {
  const { stem, channels, blocks } = config.encoder;
  const convs: ConvSpec[] = [];
  let size = config.imageSize / stem;
  convs.push({ name: "encoder.conv_in", k: 3, cin: config.imageChannels * stem * stem, cout: channels[0], size });
  channels.forEach((c, i) => {
    for (let j = 0; j < blocks[i]; j++) {
      convs.push({ name: `encoder.down.${i}.block.${j}.conv1`, k: 3, cin: c, cout: c, size });
      convs.push({ name: `encoder.down.${i}.block.${j}.conv2`, k: 3, cin: c, cout: c, size });
    }
    if (i < channels.length - 1) {
      size /= 2;
      convs.push({ name: `encoder.down.${i}.conv`, k: 1, cin: 4 * c, cout: channels[i + 1], size });
    }
  });
  convs.push({
    name: "encoder.conv_out",
    k: 3,
    cin: channels[channels.length - 1],
    cout: 2 * config.latentChannels,
    size,
  });
  return convs;
}

/** Every conv of the decoder in order, with its resolution. */
export function decoderConvs(config: VAEConfig): ConvSpec[] {
  const { channels, blocks, head } = config.decoder;
  const convs: ConvSpec[] = [];
  let size = vaeLatentShape(config)[0];
  convs.push({ name: "decoder.conv_in", k: 3, cin: config.latentChannels, cout: channels[0], size });
  channels.forEach((c, i) => {
    for (let j = 0; j < blocks[i]; j++) {
      convs.push({ name: `decoder.up.${i}.block.${j}.conv1`, k: 3, cin: c, cout: c, size });
      convs.push({ name: `decoder.up.${i}.block.${j}.conv2`, k: 3, cin: c, cout: c, size });
    }
    if (i < channels.length - 1) {
      // Runs before the shuffle, at the lower resolution.
      convs.push({ name: `decoder.up.${i}.conv`, k: 1, cin: c, cout: 4 * channels[i + 1], size });
      size *= 2;
    }
  });
  const last = channels[channels.length - 1];
  convs.push({ name: "decoder.conv_out", k: 1, cin: last, cout: config.imageChannels * head * head, size });
  return convs;
}

function convFlops(convs: ConvSpec[]): number {
  return convs.reduce((n, c) => n + 2 * c.size * c.size * c.k * c.k * c.cin * c.cout, 0);
}

function convParams(convs: ConvSpec[]): number {
  return convs.reduce((n, c) => n + c.k * c.k * c.cin * c.cout + c.cout, 0);
}

/**
 * FLOPs to encode one frame (multiply-add = 2 FLOPs). Convolutions only: the elementwise ops
 * (SiLU, bias, residual adds, the sigmoid head) touch each activation a few times, about 1% of
 * the conv work at these channel counts.
 */
export function vaeEncoderFlops(config: VAEConfig): number {
  return convFlops(encoderConvs(config));
}

/** FLOPs to decode one frame (multiply-add = 2 FLOPs), convolutions only. */
export function vaeDecoderFlops(config: VAEConfig): number {
  return convFlops(decoderConvs(config));
}

/** Parameter counts of the encoder and decoder, computed from the config alone. */
export function vaeParameterCounts(config: VAEConfig): { encoder: number; decoder: number; total: number } {
  const encoder = convParams(encoderConvs(config));
  const decoder = convParams(decoderConvs(config));
  return { encoder, decoder, total: encoder + decoder };
}
