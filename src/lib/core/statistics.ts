/**
 * Summary statistics of measurement samples with their uncertainty: medians, means and 95%
 * bootstrap intervals that resample whole groups (for example every sample drawn from one game
 * state), because samples within a group are not independent.
 */
import { Rng } from "./rng.js";

export interface Estimate {
  value: number;
  /** 95% percentile-bootstrap interval. */
  low: number;
  high: number;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The `q` quantile (0..1) of `values` by linear interpolation. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * `statistic` of all samples, with a 95% interval from `resamples` bootstrap draws of whole
 * groups (with replacement). Deterministic for a seed.
 */
export function bootstrapEstimate(
  groups: readonly (readonly number[])[],
  statistic: (values: number[]) => number,
  options: { resamples?: number; seed?: number } = {},
): Estimate {
  const nonEmpty = groups.filter((g) => g.length > 0);
  const value = statistic(nonEmpty.flat());
  if (nonEmpty.length === 0) return { value, low: Number.NaN, high: Number.NaN };
  const rng = new Rng(options.seed ?? 0);
  const draws: number[] = [];
  for (let r = 0; r < (options.resamples ?? 1000); r++) {
    const sample: number[] = [];
    for (let i = 0; i < nonEmpty.length; i++) sample.push(...nonEmpty[rng.int(nonEmpty.length)]);
    draws.push(statistic(sample));
  }
  return { value, low: quantile(draws, 0.025), high: quantile(draws, 0.975) };
}
