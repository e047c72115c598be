/**
 * Named model presets: the DiT (`DIT_PRESETS`), the VAE (`VAE_PRESETS`) and sampling defaults
 * under one name, so pages, CLI and benchmarks pick "realtime" / "small" / "base" and get a
 * consistent whole (the DiT's latent frame is the VAE's latent shape).
 */
import { DIT_PRESETS, type DiTConfig, type DiTPresetName } from "./dit.js";
import { SAMPLERS, type SamplerName, type ScheduleConfig } from "../diffusion/index.js";
import { GamedreamError } from "../core/index.js";
import { VAE_PRESETS, type VAEConfig } from "./vae-config.js";

export type PresetName = DiTPresetName;

/** The noise schedule every preset's DiT trains and samples with, unless its weights record another. */
export const DEFAULT_DIT_SCHEDULE: Readonly<ScheduleConfig> = { kind: "cosine", T: 1000 };

/** How a finished frame enters the KV cache (see `SamplingDefaults.cacheUpdate`). */
export const CACHE_UPDATES = ["context-pass", "reuse-last-step"] as const;
export type CacheUpdate = (typeof CACHE_UPDATES)[number];

export function isCacheUpdate(value: unknown): value is CacheUpdate {
  return (CACHE_UPDATES as readonly unknown[]).includes(value);
}

/** Classifier-free guidance scales lie in [0, MAX_GUIDANCE_SCALE] (1 = off). */
export const MAX_GUIDANCE_SCALE = 20;

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
  cacheUpdate: CacheUpdate;
  /** Classifier-free guidance scale on the action (1 = off; see `WorldModelSettings.guidanceScale`). */
  guidanceScale: number;
}

/**
 * What a DiT's training settings say about how it must play: a DiT trained for the
 * "reuse-last-step" cache update (`cacheUpdate` in its settings, src/lib/train/dit-task.ts) plays
 * with it. Laid under its recorded sampling (`recordedSampling`), so a record still wins.
 */
export function trainedSampling(settings: unknown): Partial<SamplingDefaults> {
  const cacheUpdate =
    typeof settings === "object" && settings !== null ? (settings as { cacheUpdate?: unknown }).cacheUpdate : undefined;
  return cacheUpdate === "reuse-last-step" ? { cacheUpdate } : {};
}

/**
 * The sampling defaults a weights file records over its preset's (`extra.sampling` of a DiT
 * manifest, `sampling` of a stored config), validated. A guidance-distilled DiT records
 * `guidanceScale: 1`: its conditional pass already gives what guidance gave its teacher.
 * `record` absent (undefined / null) gives `{}`; anything else must be an object of known fields.
 */
export function recordedSampling(record: unknown, where: string): Partial<SamplingDefaults> {
  if (record === undefined || record === null) return {};
  const bad = (why: string) =>
    new GamedreamError(
      "MODEL_SAMPLING_INVALID",
      "model",
      `${where} records sampling defaults that cannot be used: ${why}.`,
      {
        recoverable: false,
        details: { where, record },
      },
    );
  if (typeof record !== "object" || Array.isArray(record)) throw bad("they must be an object");
  const out: Partial<SamplingDefaults> = {};
  for (const [key, value] of Object.entries(record as Record<string, unknown>)) {
    const number = typeof value === "number" && Number.isFinite(value) ? value : null;
    switch (key) {
      case "sampler":
        if (!SAMPLERS.some((s) => s.name === value)) throw bad(`unknown sampler ${JSON.stringify(value)}`);
        out.sampler = value as SamplerName;
        break;
      case "steps":
        if (number === null || !Number.isInteger(number) || number < 1)
          throw bad(`steps must be a whole number >= 1, got ${JSON.stringify(value)}`);
        out.steps = number;
        break;
      case "eta":
        if (number === null || number < 0) throw bad(`eta must be a number >= 0, got ${JSON.stringify(value)}`);
        out.eta = number;
        break;
      case "contextNoiseLevel":
        if (number === null || number < 0 || number > 1)
          throw bad(`contextNoiseLevel must lie in [0, 1], got ${JSON.stringify(value)}`);
        out.contextNoiseLevel = number;
        break;
      case "cacheUpdate":
        if (!isCacheUpdate(value)) throw bad(`unknown cacheUpdate ${JSON.stringify(value)}`);
        out.cacheUpdate = value;
        break;
      case "guidanceScale":
        if (number === null || number < 0 || number > MAX_GUIDANCE_SCALE)
          throw bad(`guidanceScale must lie in [0, ${MAX_GUIDANCE_SCALE}], got ${JSON.stringify(value)}`);
        out.guidanceScale = number;
        break;
      default:
        throw bad(`unknown field "${key}"`);
    }
  }
  return out;
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
    // One DDIM step with guidance 1.5 on the action: on an undistilled realtime DiT (the teacher of
    // the shipped one) it reproduces the real game's turn (yaw S about 1) and keeps the dream's
    // contrast (rollout pixel std within 25% of the game's); guidance 2 overshot both (yaw S 1.6, std
    // ratio 1.32). The shipped weights are guidance-distilled and record guidance 1 over this
    // (`recordedSampling`). docs/action-control.md.
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
