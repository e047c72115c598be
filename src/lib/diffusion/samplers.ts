/**
 * Samplers behind one interface, chosen by name: DDPM ancestral, DDIM (eta), Euler and Heun.
 *
 * A denoiser is `(xt, timestep) => prediction` in the model's parameterization; the sampler
 * converts it to (x0, eps) estimates with ./parameterization.ts and never sees the model.
 *
 * Timestep spacing is "trailing" (Lin et al. 2023, Table 2): n steps visit
 *   t_i = T (n - i) / n - 1,  i = 0 .. n-1,
 * then end clean (alpha-bar = 1, sigma = 0; written t = -1). So every n starts from the last
 * timestep T-1 (pure noise under a zero-terminal-SNR schedule), one step maps noise straight to
 * the x0 estimate, and fractional t occur when n does not divide T (the DiT takes a continuous
 * noise level).
 *
 * Euler and Heun follow EDM (Karras et al. 2022, Algorithm 1) on x~ = x / sqrt(alphaBar) with
 * sigma = sqrt((1 - alphaBar) / alphaBar): dx~/dsigma = (x~ - x0_hat) / sigma = eps_hat. The state
 * stays in the VP space the model sees (x = sqrt(alphaBar) x~). An Euler step, written
 * x_next = sqrt(ab_next) x0_hat + sqrt(1 - ab_next) eps_hat, is finite even from sigma = Infinity
 * (zero terminal SNR) and coincides with DDIM at eta = 0, as Karras et al. note. Heun adds the
 * trapezoidal correction with a second model call, except on the last step (to sigma = 0) and on
 * steps starting above HEUN_MAX_SIGMA (Infinity included), which are Euler steps. Heun is a
 * many-step solver: with 1-4 steps prefer DDIM or Euler (same model calls, smaller error here).
 *
 * Noise for stochastic steps comes from `gaussianNoise` (src/lib/nn/noise.ts) with seeds drawn from an `Rng`: the same
 * seed gives the same sample. Everything is synchronous and reads nothing back from the device.
 */
import * as tf from "@tensorflow/tfjs";
import { gaussianNoise } from "../nn/index.js";
import { GamedreamError, Rng } from "../core/index.js";
import { checkParameterization, predictionToX0Eps, type Parameterization } from "./parameterization.js";
import { alphaBarAt, type Schedule } from "./schedules.js";

export type SamplerName = "ddpm" | "ddim" | "euler" | "heun";

/** `(xt [B, ...], timestep in [0, T-1], possibly fractional) => prediction [B, ...]`. */
export type Denoiser = (xt: tf.Tensor, timestep: number) => tf.Tensor;

export interface SamplerOptionInfo {
  name: "eta";
  label: string;
  default: number;
  min: number;
  max: number;
  step: number;
}

export interface SamplerInfo {
  name: SamplerName;
  label: string;
  description: string;
  /** Whether it draws fresh noise at each step (DDIM only when eta > 0). */
  stochastic: boolean;
  /** Denoiser calls per step (Heun: 2, except its last step). */
  evaluationsPerStep: number;
  options: SamplerOptionInfo[];
}

export const SAMPLERS: readonly SamplerInfo[] = [
  {
    name: "ddpm",
    label: "DDPM (ancestral)",
    description: "Samples the DDPM posterior q(x_prev | x_t, x0_hat) at each step (Ho et al. 2020).",
    stochastic: true,
    evaluationsPerStep: 1,
    options: [],
  },
  {
    name: "ddim",
    label: "DDIM",
    description: "Deterministic at eta = 0; eta = 1 matches DDPM's posterior variance (Song et al. 2021).",
    stochastic: true,
    evaluationsPerStep: 1,
    options: [{ name: "eta", label: "eta", default: 0, min: 0, max: 1, step: 0.05 }],
  },
  {
    name: "euler",
    label: "Euler (EDM)",
    description: "First-order solver of the probability-flow ODE in sigma space (Karras et al. 2022).",
    stochastic: false,
    evaluationsPerStep: 1,
    options: [],
  },
  {
    name: "heun",
    label: "Heun (EDM)",
    description: "Second-order solver of the probability-flow ODE in sigma space; two model calls per step.",
    stochastic: false,
    evaluationsPerStep: 2,
    options: [],
  },
];

export interface SamplerConfig {
  sampler: SamplerName;
  schedule: Schedule;
  parameterization: Parameterization;
  /** DDIM only: 0 = deterministic, 1 = DDPM-like noise. Default 0. */
  eta?: number;
}

export interface StepInfo {
  /** 0-based index of the step just taken, out of `steps`. */
  step: number;
  steps: number;
  /** Timestep the step started from. */
  timestep: number;
  /** State after the step and the x0 estimate it used; valid only during the callback (clone to keep). */
  x: tf.Tensor;
  x0: tf.Tensor;
}

export interface SampleOptions extends SamplerConfig {
  /** Number of steps, 1 .. T. */
  steps: number;
  /** Seed or generator for the noise of stochastic samplers (default 0); an Rng is advanced. */
  seed?: number | Rng;
  onStep?: (info: StepInfo) => void;
}

function invalid(code: string, message: string): GamedreamError {
  return new GamedreamError(code, "validation", message, { recoverable: true });
}

export function samplerInfo(name: string): SamplerInfo {
  const info = SAMPLERS.find((s) => s.name === name);
  if (!info)
    throw invalid(
      "SAMPLER_UNKNOWN",
      `Unknown sampler "${name}". Choose one of: ${SAMPLERS.map((s) => s.name).join(", ")}.`,
    );
  return info;
}

/** Trailing spacing: n timesteps from T-1 down to T/n - 1 (the step after the last ends clean). */
export function samplerTimesteps(T: number, steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > T) {
    throw invalid("SAMPLER_STEPS", `The number of sampling steps must be an integer from 1 to ${T} (got ${steps}).`);
  }
  return Array.from({ length: steps }, (_, i) => (T * (steps - i)) / steps - 1);
}

/**
 * The timestep of an n-step sampler's last pass (T/n - 1). Under the "reuse-last-step" cache
 * update a played frame's cache entry is that pass, so training runs context frames at it too.
 */
export function samplerLastTimestep(T: number, steps: number): number {
  return samplerTimesteps(T, steps).at(-1)!;
}

/**
 * Heun's trapezoid in sigma errs by about sigma * (change of eps_hat) / 2 on a step, which is
 * ruinous from the huge sigmas at the end of VP schedules (cosine: 2e4 at t = T-1, where a single
 * step to sigma ~ 6 moved samples by hundreds on Gaussian data). EDM never samples above
 * sigma_max = 80, so steps starting above it are Euler steps, which stay exact as sigma -> Infinity.
 */
export const HEUN_MAX_SIGMA = 80;

/** Alpha-bar at t, with t = -1 meaning clean data. */
function alphaBarOrClean(schedule: Schedule, t: number): number {
  return t === -1 ? 1 : alphaBarAt(schedule, t);
}

function usesNoise(config: SamplerConfig): boolean {
  return config.sampler === "ddpm" || (config.sampler === "ddim" && (config.eta ?? 0) > 0);
}

function checkConfig(config: SamplerConfig): void {
  samplerInfo(config.sampler);
  checkParameterization(config.parameterization);
  const eta = config.eta ?? 0;
  if (!(eta >= 0)) throw invalid("SAMPLER_ETA", `DDIM's eta must be >= 0 (got ${eta}).`);
}

/** One step from t to tNext (< t; -1 = clean). Returns the new state and the x0 estimate at t. */
function step(
  denoiser: Denoiser,
  x: tf.Tensor,
  t: number,
  tNext: number,
  config: SamplerConfig,
  noiseSeed: number | undefined,
): { x: tf.Tensor; x0: tf.Tensor } {
  const { schedule, parameterization } = config;
  const ab = alphaBarAt(schedule, t);
  const abNext = alphaBarOrClean(schedule, tNext);
  if (ab === 0 && parameterization === "eps") {
    throw new GamedreamError(
      "SAMPLER_EPS_ZERO_SNR",
      "model",
      "An eps-predicting model cannot denoise at zero signal-to-noise ratio (the last step of a zero-terminal-SNR schedule): use a v- or x0-predicting model, or turn zeroTerminalSnr off.",
      { recoverable: true },
    );
  }
  const noise = () => {
    if (noiseSeed === undefined) throw invalid("SAMPLER_SEED", "A stochastic sampler step needs a noise seed.");
    return gaussianNoise(x.shape, noiseSeed);
  };
  const { x0, eps } = predictionToX0Eps(denoiser(x, t), x, ab, parameterization);
  const towardNext = () => tf.add(tf.mul(x0, Math.sqrt(abNext)), tf.mul(eps, Math.sqrt(1 - abNext)));

  switch (config.sampler) {
    case "ddpm": {
      // Posterior of the strided chain: beta' = 1 - ab/abNext, mean and variance as in DDPM eq. 7.
      const betaStep = 1 - ab / abNext;
      const meanX0 = (Math.sqrt(abNext) * betaStep) / (1 - ab);
      const meanXt = (Math.sqrt(ab / abNext) * (1 - abNext)) / (1 - ab);
      const std = Math.sqrt(((1 - abNext) / (1 - ab)) * betaStep);
      const mean = tf.add(tf.mul(x0, meanX0), tf.mul(x, meanXt));
      return { x: std > 0 ? tf.add(mean, tf.mul(noise(), std)) : mean, x0 };
    }
    case "ddim": {
      const eta = config.eta ?? 0;
      const variance = eta * eta * ((1 - abNext) / (1 - ab)) * (1 - ab / abNext);
      const direct = tf.add(tf.mul(x0, Math.sqrt(abNext)), tf.mul(eps, Math.sqrt(Math.max(0, 1 - abNext - variance))));
      return { x: variance > 0 ? tf.add(direct, tf.mul(noise(), Math.sqrt(variance))) : direct, x0 };
    }
    case "euler":
      return { x: towardNext(), x0 };
    case "heun": {
      const euler = towardNext();
      const sigma = Math.sqrt((1 - ab) / ab);
      if (tNext === -1 || !(sigma <= HEUN_MAX_SIGMA)) return { x: euler, x0 };
      const eps2 = predictionToX0Eps(denoiser(euler, tNext), euler, abNext, parameterization).eps;
      const sigmaNext = Math.sqrt((1 - abNext) / abNext);
      // x~_next = x~ + (sigmaNext - sigma) (eps + eps2) / 2, mapped back with x = sqrt(ab) x~.
      const a = Math.sqrt(abNext);
      const slope = tf.mul(tf.add(eps, eps2), (a * (sigmaNext - sigma)) / 2);
      return { x: tf.add(tf.mul(x, a / Math.sqrt(ab)), slope), x0 };
    }
  }
}

/**
 * One sampler step from timestep t to tNext (tNext < t; -1 ends on clean data), for callers that
 * drive the loop themselves (the world model). `seed` is required by stochastic samplers.
 * x: [B, ...] (not disposed); returns the new state, same shape.
 */
export function samplerStep(
  denoiser: Denoiser,
  x: tf.Tensor,
  t: number,
  tNext: number,
  config: SamplerConfig & { seed?: number },
): tf.Tensor {
  checkConfig(config);
  if (!(tNext < t) || !(tNext === -1 || tNext >= 0)) {
    throw invalid(
      "SAMPLER_TIMESTEPS",
      `A sampler step must go to a smaller timestep in [0, t) or to -1 (got ${t} -> ${tNext}).`,
    );
  }
  return tf.tidy(() => step(denoiser, x, t, tNext, config, config.seed).x);
}

/**
 * Runs the chosen sampler from xT (noise at timestep T-1, [B, ...], not disposed) over
 * `steps` trailing timesteps down to clean data. Returns x0 [B, ...]; the caller disposes it.
 */
export function sample(denoiser: Denoiser, xT: tf.Tensor, options: SampleOptions): tf.Tensor {
  checkConfig(options);
  const timesteps = samplerTimesteps(options.schedule.T, options.steps);
  const rng = options.seed instanceof Rng ? options.seed : new Rng(options.seed ?? 0);
  const stochastic = usesNoise(options);
  let x = xT;
  for (let i = 0; i < timesteps.length; i++) {
    const t = timesteps[i];
    const tNext = i + 1 < timesteps.length ? timesteps[i + 1] : -1;
    const seed = stochastic ? rng.seed() : undefined;
    const next = tf.tidy(() => {
      const result = step(denoiser, x, t, tNext, options, seed);
      options.onStep?.({ step: i, steps: timesteps.length, timestep: t, x: result.x, x0: result.x0 });
      return result.x;
    });
    if (x !== xT) x.dispose();
    x = next;
  }
  return x;
}
