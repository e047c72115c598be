/**
 * Noise schedules as pure functions on plain numbers (Float64Array), so pages can plot them and
 * samplers, losses and training read the same values.
 *
 * Conventions (DDPM): a schedule has `T` discrete timesteps t = 0 .. T-1; `alphaBar[t]` is the
 * signal fraction after t + 1 noising steps, `x_t = sqrt(alphaBar[t]) x0 + sqrt(1 - alphaBar[t]) eps`.
 * Derived quantities, for every t:
 *   snr = ab / (1 - ab),  logSnr = ln(snr),  sigma = sqrt((1 - ab) / ab)  (the EDM noise level of
 *   x / sqrt(ab); sigma^2 = 1 / snr).
 * A zero-terminal-SNR schedule has ab[T-1] = 0, so snr = 0, logSnr = -Infinity, sigma = Infinity
 * there: callers that divide by sqrt(ab) must handle that step (the samplers do).
 * The DiT is conditioned on the continuous noise level t / (T - 1), so a sampler may use
 * fractional timesteps; `alphaBarAt` gives alpha-bar there.
 */
import { GamedreamError } from "../core/index.js";

export type ScheduleKind = "linear" | "cosine" | "sigmoid" | "karras";

/** A schedule as plain JSON data. Unset fields take the defaults in `SCHEDULE_KINDS`. */
export interface ScheduleConfig {
  kind: ScheduleKind;
  /** Number of discrete timesteps (default 1000). */
  T?: number;
  /** linear: beta at t = 0 and t = T-1 (DDPM: 1e-4, 0.02). */
  betaStart?: number;
  betaEnd?: number;
  /** cosine: offset s (0.008, Nichol & Dhariwal 2021). */
  s?: number;
  /** cosine and sigmoid: betas are clipped to this (0.999) so alpha-bar stays above zero. */
  maxBeta?: number;
  /** sigmoid (Chen 2023): input range [start, end] of the sigmoid and its temperature tau. */
  start?: number;
  end?: number;
  tau?: number;
  /** karras (EDM, Karras et al. 2022): sigma range and rho. */
  sigmaMin?: number;
  sigmaMax?: number;
  rho?: number;
  /**
   * Resolution shift factor (1 = none): log-SNR is moved by -2 ln(shift) at every t. For a model
   * at resolution `res` whose schedule was tuned at `base`, use shift = res / base
   * (`resolutionShift(base, res)`), i.e. logSnr + 2 ln(base / res) as in simple diffusion
   * (Hoogeboom et al. 2023); SD3's shifted timesteps t' = shift t / (1 + (shift - 1) t) are the
   * same move of log-SNR. Applied before the zero-terminal-SNR rescale.
   */
  shift?: number;
  /** Rescale so alpha-bar[T-1] = 0 exactly (Lin et al. 2023, Algorithm 1). Applied last. */
  zeroTerminalSnr?: boolean;
}

/** Every field filled in. */
export type ResolvedScheduleConfig = Required<ScheduleConfig>;

export interface Schedule {
  config: ResolvedScheduleConfig;
  T: number;
  /** All of length T, indexed by timestep. */
  betas: Float64Array;
  alphaBar: Float64Array;
  snr: Float64Array;
  logSnr: Float64Array;
  sigma: Float64Array;
}

export interface ScheduleParameter {
  name: keyof ScheduleConfig;
  label: string;
  default: number;
  min: number;
  max: number;
  step: number;
}

export interface ScheduleKindInfo {
  kind: ScheduleKind;
  label: string;
  description: string;
  /** Parameters specific to this kind (T, shift and zeroTerminalSnr apply to all). */
  parameters: ScheduleParameter[];
}

/** Parameters every kind accepts, for UI controls. */
export const COMMON_SCHEDULE_PARAMETERS: ScheduleParameter[] = [
  { name: "T", label: "timesteps T", default: 1000, min: 2, max: 4000, step: 1 },
  { name: "shift", label: "resolution shift (res / base)", default: 1, min: 0.125, max: 16, step: 0.125 },
];

/** Schedule kinds and their parameters, for dropdowns; defaults live here and nowhere else. */
export const SCHEDULE_KINDS: readonly ScheduleKindInfo[] = [
  {
    kind: "linear",
    label: "Linear (DDPM)",
    description: "betas evenly spaced from betaStart to betaEnd (Ho et al. 2020).",
    parameters: [
      { name: "betaStart", label: "beta start", default: 1e-4, min: 1e-6, max: 0.1, step: 1e-5 },
      { name: "betaEnd", label: "beta end", default: 0.02, min: 1e-4, max: 0.5, step: 1e-4 },
    ],
  },
  {
    kind: "cosine",
    label: "Cosine",
    description: "alpha-bar = cos^2(((t/T) + s) / (1 + s) * pi/2), normalised (Nichol & Dhariwal 2021).",
    parameters: [
      { name: "s", label: "offset s", default: 0.008, min: 0, max: 0.2, step: 0.001 },
      { name: "maxBeta", label: "max beta", default: 0.999, min: 0.5, max: 0.9999, step: 0.0001 },
    ],
  },
  {
    kind: "sigmoid",
    label: "Sigmoid",
    description: "alpha-bar follows a rescaled sigmoid over [start, end] with temperature tau (Chen 2023).",
    parameters: [
      { name: "start", label: "start", default: -3, min: -10, max: 0, step: 0.1 },
      { name: "end", label: "end", default: 3, min: 0, max: 10, step: 0.1 },
      { name: "tau", label: "tau", default: 1, min: 0.1, max: 2, step: 0.05 },
      { name: "maxBeta", label: "max beta", default: 0.999, min: 0.5, max: 0.9999, step: 0.0001 },
    ],
  },
  {
    kind: "karras",
    label: "EDM / Karras",
    description:
      "sigma(t) = (sigmaMin^(1/rho) + t/(T-1) (sigmaMax^(1/rho) - sigmaMin^(1/rho)))^rho (Karras et al. 2022).",
    parameters: [
      { name: "sigmaMin", label: "sigma min", default: 0.002, min: 1e-4, max: 1, step: 1e-4 },
      { name: "sigmaMax", label: "sigma max", default: 80, min: 1, max: 500, step: 1 },
      { name: "rho", label: "rho", default: 7, min: 1, max: 10, step: 0.5 },
    ],
  },
];

function invalid(message: string, details?: Record<string, unknown>): GamedreamError {
  return new GamedreamError("SCHEDULE_INVALID", "validation", message, { recoverable: true, details });
}

/** Fills defaults and checks ranges. */
export function resolveScheduleConfig(config: ScheduleConfig): ResolvedScheduleConfig {
  const info = SCHEDULE_KINDS.find((k) => k.kind === config.kind);
  if (!info) {
    throw invalid(
      `Unknown noise schedule "${String(config.kind)}". Choose one of: ${SCHEDULE_KINDS.map((k) => k.kind).join(", ")}.`,
    );
  }
  const defaults: Record<string, number> = {};
  for (const list of SCHEDULE_KINDS) for (const p of list.parameters) defaults[p.name] ??= p.default;
  for (const p of COMMON_SCHEDULE_PARAMETERS) defaults[p.name] = p.default;
  const resolved = { ...defaults, zeroTerminalSnr: false, ...stripUndefined(config) } as ResolvedScheduleConfig;
  const { T, shift } = resolved;
  if (!Number.isInteger(T) || T < 2)
    throw invalid(`A schedule needs an integer number of timesteps T >= 2 (got ${T}).`);
  if (!(shift > 0) || !Number.isFinite(shift))
    throw invalid(`The resolution shift must be a positive number (got ${shift}).`);
  if (
    resolved.kind === "linear" &&
    !(resolved.betaStart > 0 && resolved.betaStart <= resolved.betaEnd && resolved.betaEnd < 1)
  ) {
    throw invalid(`Linear betas need 0 < betaStart <= betaEnd < 1 (got ${resolved.betaStart}, ${resolved.betaEnd}).`);
  }
  if (!(resolved.maxBeta > 0 && resolved.maxBeta < 1))
    throw invalid(`maxBeta must lie in (0, 1) (got ${resolved.maxBeta}).`);
  if (resolved.kind === "sigmoid" && !(resolved.start < resolved.end && resolved.tau > 0)) {
    throw invalid(
      `Sigmoid schedules need start < end and tau > 0 (got ${resolved.start}, ${resolved.end}, ${resolved.tau}).`,
    );
  }
  if (
    resolved.kind === "karras" &&
    !(resolved.sigmaMin > 0 && resolved.sigmaMin < resolved.sigmaMax && resolved.rho > 0)
  ) {
    throw invalid(
      `Karras schedules need 0 < sigmaMin < sigmaMax and rho > 0 (got ${resolved.sigmaMin}, ${resolved.sigmaMax}, ${resolved.rho}).`,
    );
  }
  return resolved;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** DDPM: betas evenly spaced in [start, end]. */
export function linearBetas(T: number, betaStart = 1e-4, betaEnd = 0.02): Float64Array {
  const betas = new Float64Array(T);
  for (let t = 0; t < T; t++) betas[t] = betaStart + ((betaEnd - betaStart) * t) / (T - 1);
  return betas;
}

/**
 * Betas of a continuous alpha-bar curve g on [0, 1] with g(0) = 1: beta_t = 1 - g((t+1)/T) / g(t/T),
 * clipped to maxBeta, so alphaBar[t] = g((t+1)/T) until a beta is clipped (near t = T-1).
 */
function betasFromCurve(T: number, g: (u: number) => number, maxBeta: number): Float64Array {
  const betas = new Float64Array(T);
  for (let t = 0; t < T; t++) betas[t] = Math.min(1 - g((t + 1) / T) / g(t / T), maxBeta);
  return betas;
}

/** Cosine alpha-bar curve: cos^2(((u + s) / (1 + s)) pi / 2) / the same at u = 0. */
export function cosineAlphaBarCurve(u: number, s = 0.008): number {
  const f = (x: number) => Math.cos(((x + s) / (1 + s)) * (Math.PI / 2)) ** 2;
  return f(u) / f(0);
}

export function cosineBetas(T: number, s = 0.008, maxBeta = 0.999): Float64Array {
  return betasFromCurve(T, (u) => cosineAlphaBarCurve(u, s), maxBeta);
}

/** Sigmoid alpha-bar curve (Chen 2023): (v(end) - v(u)) / (v(end) - v(start)), v = sigmoid(./tau). */
export function sigmoidAlphaBarCurve(u: number, start = -3, end = 3, tau = 1): number {
  const sig = (x: number) => 1 / (1 + Math.exp(-x / tau));
  const vStart = sig(start);
  const vEnd = sig(end);
  return (vEnd - sig(u * (end - start) + start)) / (vEnd - vStart);
}

export function sigmoidBetas(T: number, start = -3, end = 3, tau = 1, maxBeta = 0.999): Float64Array {
  return betasFromCurve(T, (u) => sigmoidAlphaBarCurve(u, start, end, tau), maxBeta);
}

/**
 * EDM / Karras sigmas for an n-step sampler, descending from sigmaMax to sigmaMin:
 * sigma_i = (sigmaMax^(1/rho) + i/(n-1) (sigmaMin^(1/rho) - sigmaMax^(1/rho)))^rho. No trailing 0.
 */
export function karrasSigmas(n: number, sigmaMin = 0.002, sigmaMax = 80, rho = 7): Float64Array {
  const out = new Float64Array(n);
  const hi = sigmaMax ** (1 / rho);
  const lo = sigmaMin ** (1 / rho);
  for (let i = 0; i < n; i++) out[i] = (hi + (n === 1 ? 0 : i / (n - 1)) * (lo - hi)) ** rho;
  return out;
}

/** The karras kind as a T-step VP schedule: sigma rises from sigmaMin at t = 0 to sigmaMax at T-1. */
function karrasAlphaBar(T: number, sigmaMin: number, sigmaMax: number, rho: number): Float64Array {
  const sigmas = karrasSigmas(T, sigmaMin, sigmaMax, rho).reverse();
  return sigmas.map((s) => 1 / (1 + s * s));
}

export function alphaBarFromBetas(betas: Float64Array): Float64Array {
  const ab = new Float64Array(betas.length);
  let p = 1;
  for (let t = 0; t < betas.length; t++) ab[t] = p *= 1 - betas[t];
  return ab;
}

export function betasFromAlphaBar(alphaBar: Float64Array): Float64Array {
  return alphaBar.map((ab, t) => 1 - ab / (t === 0 ? 1 : alphaBar[t - 1]));
}

/** Moves log-SNR by -2 ln(shift) at every t: alpha-bar' = sigmoid(logSnr - 2 ln shift). */
export function shiftAlphaBar(alphaBar: Float64Array, shift: number): Float64Array {
  const k = shift * shift;
  // sigmoid(ln(ab / (1 - ab)) - ln k) written without logs, exact at ab = 0.
  return alphaBar.map((ab) => ab / (ab + k * (1 - ab)));
}

/** The shift factor for a model at `resolution` whose schedule was tuned at `baseResolution`. */
export function resolutionShift(baseResolution: number, resolution: number): number {
  return resolution / baseResolution;
}

/**
 * Lin et al. 2023, Algorithm 1: shift and scale sqrt(alpha-bar) so the last step is pure noise
 * (alpha-bar[T-1] = 0) while the first keeps its value.
 */
export function rescaleZeroTerminalSnr(alphaBar: Float64Array): Float64Array {
  const first = Math.sqrt(alphaBar[0]);
  const last = Math.sqrt(alphaBar[alphaBar.length - 1]);
  return alphaBar.map((ab, t) => {
    if (t === alphaBar.length - 1) return 0;
    const s = ((Math.sqrt(ab) - last) * first) / (first - last);
    return s * s;
  });
}

/** Builds a schedule from config data. */
export function makeSchedule(config: ScheduleConfig): Schedule {
  const c = resolveScheduleConfig(config);
  let alphaBar: Float64Array;
  switch (c.kind) {
    case "linear":
      alphaBar = alphaBarFromBetas(linearBetas(c.T, c.betaStart, c.betaEnd));
      break;
    case "cosine":
      alphaBar = alphaBarFromBetas(cosineBetas(c.T, c.s, c.maxBeta));
      break;
    case "sigmoid":
      alphaBar = alphaBarFromBetas(sigmoidBetas(c.T, c.start, c.end, c.tau, c.maxBeta));
      break;
    case "karras":
      alphaBar = karrasAlphaBar(c.T, c.sigmaMin, c.sigmaMax, c.rho);
      break;
  }
  if (c.shift !== 1) alphaBar = shiftAlphaBar(alphaBar, c.shift);
  if (c.zeroTerminalSnr) alphaBar = rescaleZeroTerminalSnr(alphaBar);
  return scheduleFromAlphaBar(c, alphaBar);
}

function scheduleFromAlphaBar(config: ResolvedScheduleConfig, alphaBar: Float64Array): Schedule {
  return {
    config,
    T: alphaBar.length,
    betas: betasFromAlphaBar(alphaBar),
    alphaBar,
    snr: alphaBar.map((ab) => ab / (1 - ab)),
    logSnr: alphaBar.map((ab) => Math.log(ab) - Math.log1p(-ab)),
    sigma: alphaBar.map((ab) => Math.sqrt((1 - ab) / ab)),
  };
}

function checkTimestep(schedule: Schedule, t: number): void {
  if (!(t >= 0 && t <= schedule.T - 1)) {
    throw invalid(`Timestep ${t} lies outside the schedule's range [0, ${schedule.T - 1}].`);
  }
}

/**
 * Alpha-bar at a fractional timestep t in [0, T-1], interpolating log-SNR linearly between the
 * neighbouring integer steps. Next to a zero-terminal-SNR step (log-SNR = -Infinity) log-SNR cannot
 * be interpolated, so sqrt(alpha-bar) is, which is linear there after Lin et al.'s rescale.
 */
export function alphaBarAt(schedule: Schedule, t: number): number {
  checkTimestep(schedule, t);
  const i = Math.min(Math.floor(t), schedule.T - 2);
  const f = t - i;
  if (f === 0) return schedule.alphaBar[i];
  if (f === 1) return schedule.alphaBar[i + 1];
  const l0 = schedule.logSnr[i];
  const l1 = schedule.logSnr[i + 1];
  if (Number.isFinite(l0) && Number.isFinite(l1)) return 1 / (1 + Math.exp(-(l0 + f * (l1 - l0))));
  const s = Math.sqrt(schedule.alphaBar[i]) * (1 - f) + Math.sqrt(schedule.alphaBar[i + 1]) * f;
  return s * s;
}

/** sigma = sqrt((1 - ab) / ab) at a fractional timestep (Infinity where ab = 0). */
export function timestepToSigma(schedule: Schedule, t: number): number {
  const ab = alphaBarAt(schedule, t);
  return Math.sqrt((1 - ab) / ab);
}

/**
 * The fractional timestep whose sigma is `sigma` (inverse of `timestepToSigma`), clamped to
 * [0, T-1] for sigmas outside the schedule's range.
 */
export function sigmaToTimestep(schedule: Schedule, sigma: number): number {
  if (!(sigma >= 0)) throw invalid(`A noise level sigma must be >= 0 (got ${sigma}).`);
  const target = -2 * Math.log(sigma);
  const { logSnr, T } = schedule;
  if (target >= logSnr[0]) return 0;
  if (target <= logSnr[T - 1]) return T - 1;
  // Largest i with logSnr[i] >= target (log-SNR decreases strictly with t).
  let lo = 0;
  let hi = T - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (logSnr[mid] >= target) lo = mid;
    else hi = mid;
  }
  if (Number.isFinite(logSnr[hi])) return lo + (logSnr[lo] - target) / (logSnr[lo] - logSnr[hi]);
  const s0 = Math.sqrt(schedule.alphaBar[lo]);
  const s1 = Math.sqrt(schedule.alphaBar[hi]);
  return lo + (s0 - 1 / Math.sqrt(1 + sigma * sigma)) / (s0 - s1);
}
