/**
 * Named model presets: the DiT (`DIT_PRESETS`), the VAE (`VAE_PRESETS`) and sampling defaults
 * under one name, so pages, CLI and benchmarks pick "realtime" / "small" / "base" and get a
 * consistent whole (the DiT's latent frame is the VAE's latent shape).
 */
import { DIT_PRESETS, type DiTConfig, type DiTPresetName } from "./dit.js";
import type { SamplerName, ScheduleConfig } from "../diffusion/index.js";
import { GamedreamError } from "../core/index.js";
import { VAE_PRESETS, type VAEConfig } from "./vae-config.js";

export type PresetName = DiTPresetName;

/** The noise schedule every preset's DiT trains and samples with, unless its weights record another. */
export const DEFAULT_DIT_SCHEDULE: Readonly<ScheduleConfig> = { kind: "cosine", T: 1000 };

export interface SamplingDefaults {
  sampler: SamplerName;
  /** Sampling steps per generated frame. */
  steps: number;
  /** DDIM's eta (0 = deterministic). */
  eta: number;
  /** Noise level in [0, 1] at which finished frames become context (diffusion-forcing augmentation). */
  contextNoiseLevel: number;
  /**
   * How a finished frame enters the KV cache: one more DiT pass at `contextNoiseLevel`
   * ("context-pass", exact), or the keys/values of the last sampling step ("reuse-last-step",
   * free, but they carry that step's noise level).
   */
  cacheUpdate: "context-pass" | "reuse-last-step";
  /** Classifier-free guidance scale on the action (1 = off; see `WorldModelSettings.guidanceScale`). */
  guidanceScale: number;
}

export interface Preset {
  name: PresetName;
  dit: DiTConfig;
  vae: VAEConfig;
  sampling: SamplingDefaults;
}

export const PRESETS: Readonly<Record<PresetName, Readonly<Preset>>> = {
  // Live play on a 2-core CPU: one guided step (a batch of 2) and the context pass.
  realtime: {
    name: "realtime",
    dit: DIT_PRESETS.realtime,
    vae: VAE_PRESETS.realtime,
    // One DDIM step with guidance 1.5 on the action: on the shipped weights it reproduces the real
    // game's turn (yaw S about 1) and keeps the dream's contrast (rollout pixel std within 25% of the
    // game's); guidance 2 overshot both (yaw S 1.6, std ratio 1.32). docs/action-control.md.
    sampling: {
      sampler: "ddim",
      steps: 1,
      eta: 0,
      contextNoiseLevel: 0.02,
      cacheUpdate: "context-pass",
      guidanceScale: 1.5,
    },
  },
  small: {
    name: "small",
    dit: DIT_PRESETS.small,
    vae: VAE_PRESETS.small,
    sampling: {
      sampler: "ddim",
      steps: 8,
      eta: 0,
      contextNoiseLevel: 0.02,
      cacheUpdate: "context-pass",
      guidanceScale: 1,
    },
  },
  base: {
    name: "base",
    dit: DIT_PRESETS.base,
    vae: VAE_PRESETS.base,
    sampling: {
      sampler: "ddim",
      steps: 25,
      eta: 0,
      contextNoiseLevel: 0.02,
      cacheUpdate: "context-pass",
      guidanceScale: 1,
    },
  },
};

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** The preset called `name`, or a typed error listing the choices. */
export function getPreset(name: string): Readonly<Preset> {
  if (!(PRESET_NAMES as string[]).includes(name)) {
    throw new GamedreamError(
      "PRESET_UNKNOWN",
      "model",
      `Unknown model preset "${name}". Choose one of: ${PRESET_NAMES.join(", ")}.`,
      {
        recoverable: true,
        details: { name },
      },
    );
  }
  return PRESETS[name as PresetName];
}
