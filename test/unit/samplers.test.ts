import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import {
  type Parameterization,
  HEUN_MAX_SIGMA,
  SAMPLERS,
  sample,
  samplerStep,
  samplerLastTimestep,
  samplerTimesteps,
  type Denoiser,
  type SamplerName,
  alphaBarAt,
  makeSchedule,
  type Schedule,
  type ScheduleConfig,
} from "../../src/lib/diffusion/index.js";
import { GamedreamError, Rng } from "../../src/lib/core/index.js";

// Data: x0 ~ N(mu, s^2) independently per dimension, so with x_t = a x0 + b eps the optimal
// denoiser is E[x0 | x_t] = mu + a s^2 / (a^2 s^2 + b^2) (x_t - a mu).
const MU = [0.5, -1, 2, 0];
const S = [0.5, 1, 0.2, 1.5];
const D = MU.length;

/** The exact denoiser, returning what a model of this parameterization would predict. x: [N, D]. */
function gaussianDenoiser(schedule: Schedule, parameterization: Parameterization, calls?: number[]): Denoiser {
  return (xt, t) =>
    tf.tidy(() => {
      calls?.push(t);
      const ab = alphaBarAt(schedule, t);
      const [a, b] = [Math.sqrt(ab), Math.sqrt(1 - ab)];
      const gain = S.map((s) => (a * s * s) / (a * a * s * s + b * b));
      const mu = tf.tensor1d(MU);
      const x0 = tf.add(mu, tf.mul(tf.tensor1d(gain), tf.sub(xt, tf.mul(mu, a))));
      if (parameterization === "x0") return x0;
      const eps = tf.div(tf.sub(xt, tf.mul(x0, a)), b);
      return parameterization === "eps" ? eps : tf.sub(tf.mul(eps, a), tf.mul(x0, b));
    });
}

/**
 * The probability-flow ODE for this data, in x~ = x / a with sigma = b / a: x~ = x0 + sigma eps has
 * marginal N(mu, s^2 + sigma^2) and dx~/dsigma = (x~ - E[x0 | x~]) / sigma = sigma (x~ - mu) / (s^2 + sigma^2),
 * so (x~ - mu) / sqrt(s^2 + sigma^2) is constant along a path. From x_T at alpha-bar ab_T to sigma = 0:
 *   x0 = mu + (x_T - a_T mu) s / sqrt(a_T^2 s^2 + b_T^2)   (affine in x_T; finite at ab_T = 0).
 */
function odeSolution(schedule: Schedule, xT: number[][]): number[][] {
  const abT = schedule.alphaBar[schedule.T - 1];
  const [a, b] = [Math.sqrt(abT), Math.sqrt(1 - abT)];
  return xT.map((row) => row.map((x, d) => MU[d] + ((x - a * MU[d]) * S[d]) / Math.sqrt(a * a * S[d] * S[d] + b * b)));
}

function maxAbs(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((row, i) => row.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i][j])))));
  return m;
}

const SCHEDULES: Record<string, ScheduleConfig> = {
  linear: { kind: "linear", T: 1000 },
  cosine: { kind: "cosine", T: 1000 },
  "cosine+zero-terminal-SNR": { kind: "cosine", T: 1000, zeroTerminalSnr: true },
  karras: { kind: "karras", T: 1000 },
};

describe("samplers on Gaussian data with the exact denoiser", () => {
  it("uses trailing timesteps: every step count starts at T-1", () => {
    expect(samplerTimesteps(1000, 1)).toEqual([999]);
    expect(samplerTimesteps(1000, 4)).toEqual([999, 749, 499, 249]);
    expect(samplerTimesteps(1000, 3)[0]).toBe(999);
    expect(samplerTimesteps(1000, 3)[1]).toBeCloseTo(665.667, 3);
    expect(() => samplerTimesteps(1000, 0)).toThrow(GamedreamError);
    expect(() => samplerTimesteps(1000, 1001)).toThrow(GamedreamError);
    expect(samplerLastTimestep(1000, 1)).toBe(999);
    expect(samplerLastTimestep(1000, 4)).toBe(249);
    expect(() => samplerLastTimestep(1000, 0)).toThrow(GamedreamError);
  });

  it("DDIM (eta 0), Euler and Heun land on the probability-flow ODE solution", () => {
    const N = 16;
    const xT = tf.randomNormal([N, D], 0, 1, "float32", 11);
    const xTv = xT.arraySync() as number[][];
    for (const [scheduleName, config] of Object.entries(SCHEDULES)) {
      const schedule = makeSchedule(config);
      const expected = odeSolution(schedule, xTv);
      // eps-prediction cannot start from zero SNR (x_T = eps tells nothing about x0).
      const params: Parameterization[] = config.zeroTerminalSnr ? ["v", "x0"] : ["eps", "v", "x0"];
      for (const parameterization of params) {
        // Euler/DDIM are first order (error ~ 4/steps here), Heun close to second order.
        for (const [sampler, steps, tolerance] of [
          ["ddim", 400, 0.03],
          ["euler", 400, 0.03],
          ["heun", 100, 0.01],
        ] as [SamplerName, number, number][]) {
          const out = sample(gaussianDenoiser(schedule, parameterization), xT, {
            sampler,
            steps,
            schedule,
            parameterization,
            eta: 0,
          });
          const err = maxAbs(out.arraySync() as number[][], expected);
          out.dispose();
          expect(err, `${scheduleName} ${parameterization} ${sampler} x${steps}`).toBeLessThan(tolerance);
        }
      }
    }
    xT.dispose();
  });

  it("the ODE samplers converge as steps grow (Euler first order, Heun faster)", () => {
    const schedule = makeSchedule({ kind: "cosine", T: 1000 });
    const xT = tf.randomNormal([8, D], 0, 1, "float32", 12);
    const expected = odeSolution(schedule, xT.arraySync() as number[][]);
    const errorOf = (sampler: SamplerName, steps: number) => {
      const out = sample(gaussianDenoiser(schedule, "v"), xT, { sampler, steps, schedule, parameterization: "v" });
      const e = maxAbs(out.arraySync() as number[][], expected);
      out.dispose();
      return e;
    };
    const [e10, e40] = [errorOf("euler", 10), errorOf("euler", 40)];
    const [h10, h40] = [errorOf("heun", 10), errorOf("heun", 40)];
    expect(e40).toBeLessThan(e10 / 2.5);
    expect(h40).toBeLessThan(h10 / 6);
    expect(h10).toBeLessThan(e10);
    xT.dispose();
  });

  it("DDPM and DDIM (eta 1) samples have the data's mean and variance", () => {
    const N = 4000;
    const runs: [string, SamplerName, number | undefined][] = [
      ["linear", "ddpm", undefined],
      ["cosine+zero-terminal-SNR", "ddpm", undefined],
      ["cosine+zero-terminal-SNR", "ddim", 1],
    ];
    const outputs: tf.Tensor[] = [];
    for (const [scheduleName, sampler, eta] of runs) {
      const schedule = makeSchedule(SCHEDULES[scheduleName]);
      // Start from the exact marginal at T-1: N(a mu, a^2 s^2 + b^2).
      const abT = schedule.alphaBar[schedule.T - 1];
      const xT = tf.tidy(() => {
        const std = S.map((s) => Math.sqrt(abT * s * s + 1 - abT));
        return tf.add(
          tf.mul(tf.randomNormal([N, D], 0, 1, "float32", 21), tf.tensor1d(std)),
          tf.mul(tf.tensor1d(MU), Math.sqrt(abT)),
        );
      });
      // All T steps: with the posterior mean plugged in for x0, a DDPM step misses the spread of
      // p(x0 | x_t), so fewer steps shrink the variance (for s = 0.2 to 0.86 s^2 at 200 steps).
      const out = sample(gaussianDenoiser(schedule, "v"), xT, {
        sampler,
        eta,
        steps: schedule.T,
        schedule,
        parameterization: "v",
        seed: 5,
      });
      outputs.push(out);
      const { mean, variance } = tf.moments(out, 0);
      const [m, v] = [mean.dataSync(), variance.dataSync()];
      for (let d = 0; d < D; d++) {
        const label = `${scheduleName} ${sampler} dim ${d}`;
        expect(Math.abs(m[d] - MU[d]) / S[d], `${label} mean`).toBeLessThan(4 / Math.sqrt(N) + 0.01);
        expect(Math.abs(v[d] / (S[d] * S[d]) - 1), `${label} variance`).toBeLessThan(4 * Math.sqrt(2 / N) + 0.04);
      }
      tf.dispose([xT, mean, variance]);
    }
    // DDIM at eta 1 is DDPM's posterior step: same seeds, same samples.
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(outputs[1], outputs[2]))).dataSync()[0])).toBeLessThan(1e-3);
    tf.dispose(outputs);
  });

  it("one step maps noise to the denoiser's x0 estimate for every sampler", () => {
    const schedule = makeSchedule({ kind: "cosine", T: 1000, zeroTerminalSnr: true });
    const xT = tf.randomNormal([6, D], 0, 1, "float32", 31);
    const x0Hat = gaussianDenoiser(schedule, "x0")(xT, 999);
    for (const { name } of SAMPLERS) {
      const out = sample(gaussianDenoiser(schedule, "v"), xT, {
        sampler: name,
        steps: 1,
        schedule,
        parameterization: "v",
        eta: 1,
      });
      expect(
        tf.tidy(() => tf.max(tf.abs(tf.sub(out, x0Hat))).dataSync()[0]),
        name,
      ).toBeLessThan(1e-5);
      out.dispose();
    }
    tf.dispose([xT, x0Hat]);
  });
});

describe("sampler interface", () => {
  it("every sampler runs with 1-4 steps, is deterministic for a seed, and keeps numTensors flat", () => {
    const xT = tf.randomNormal([2, 3, 4, 4, 2], 0, 1, "float32", 41); // a latent clip [B, T, h, w, c]
    for (const config of [SCHEDULES.linear, SCHEDULES["cosine+zero-terminal-SNR"]]) {
      const schedule = makeSchedule(config);
      // A broadcasting stand-in model: predicts v for data that is a constant 0.3.
      const denoiser: Denoiser = (xt, t) =>
        tf.tidy(() => {
          const ab = alphaBarAt(schedule, t);
          const [a, b] = [Math.sqrt(ab), Math.sqrt(1 - ab)];
          const eps = tf.div(tf.sub(xt, 0.3 * a), Math.max(b, 1e-6));
          return tf.sub(tf.mul(eps, a), 0.3 * b);
        });
      const before = tf.memory().numTensors;
      for (const { name } of SAMPLERS) {
        for (let steps = 1; steps <= 4; steps++) {
          const options = { sampler: name, steps, schedule, parameterization: "v" as const, eta: 0.5 };
          const a = sample(denoiser, xT, { ...options, seed: 7 });
          const b = sample(denoiser, xT, { ...options, seed: new Rng(7) });
          const av = a.dataSync();
          expect(a.shape).toEqual(xT.shape);
          expect(av.every(Number.isFinite), `${name} x${steps} finite`).toBe(true);
          expect(Array.from(b.dataSync()), `${name} x${steps} deterministic`).toEqual(Array.from(av));
          if (name === "ddpm" && steps > 1) {
            const c = sample(denoiser, xT, { ...options, seed: 8 });
            expect(Array.from(c.dataSync())).not.toEqual(Array.from(av));
            c.dispose();
          }
          tf.dispose([a, b]);
        }
      }
      for (let i = 0; i < 20; i++)
        sample(denoiser, xT, { sampler: "heun", steps: 3, schedule, parameterization: "v" }).dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
    xT.dispose();
  });

  it("reports each step, calls Heun twice per step except the last, and matches samplerStep", () => {
    const schedule = makeSchedule({ kind: "linear", T: 1000 });
    const xT = tf.randomNormal([4, D], 0, 1, "float32", 51);
    const calls: number[] = [];
    const seen: number[] = [];
    const out = sample(gaussianDenoiser(schedule, "eps", calls), xT, {
      sampler: "heun",
      steps: 4,
      schedule,
      parameterization: "eps",
      onStep: ({ step, timestep, x, x0 }) => {
        seen.push(timestep);
        expect(step).toBe(seen.length - 1);
        expect(x.shape).toEqual([4, D]);
        expect(x0.shape).toEqual([4, D]);
      },
    });
    expect(seen).toEqual([999, 749, 499, 249]);
    // Linear ends at sigma = 157 > HEUN_MAX_SIGMA: that first step is an Euler step.
    expect(schedule.sigma[999]).toBeGreaterThan(HEUN_MAX_SIGMA);
    expect(calls).toEqual([999, 749, 499, 499, 249, 249]);
    const karras = makeSchedule({ kind: "karras", T: 1000, sigmaMax: HEUN_MAX_SIGMA });
    const karrasCalls: number[] = [];
    sample(gaussianDenoiser(karras, "eps", karrasCalls), xT, {
      sampler: "heun",
      steps: 4,
      schedule: karras,
      parameterization: "eps",
    }).dispose();
    expect(karrasCalls).toEqual([999, 749, 749, 499, 499, 249, 249]);
    let x = xT;
    const ts = [...samplerTimesteps(1000, 4), -1];
    for (let i = 0; i < 4; i++) {
      const next = samplerStep(gaussianDenoiser(schedule, "eps"), x, ts[i], ts[i + 1], {
        sampler: "heun",
        schedule,
        parameterization: "eps",
      });
      if (x !== xT) x.dispose();
      x = next;
    }
    expect(Array.from(x.dataSync())).toEqual(Array.from(out.dataSync()));
    tf.dispose([xT, out, x]);
  });

  it("rejects unknown samplers and eps-prediction at zero terminal SNR with typed errors", () => {
    const schedule = makeSchedule({ kind: "cosine", T: 100, zeroTerminalSnr: true });
    const xT = tf.zeros([1, D]);
    const before = tf.memory().numTensors;
    expect(() =>
      sample(gaussianDenoiser(schedule, "eps"), xT, {
        sampler: "plms" as SamplerName,
        steps: 2,
        schedule,
        parameterization: "eps",
      }),
    ).toThrow(/Unknown sampler/);
    expect(() =>
      sample(gaussianDenoiser(schedule, "eps"), xT, { sampler: "ddim", steps: 2, schedule, parameterization: "eps" }),
    ).toThrow(expect.objectContaining({ code: "SAMPLER_EPS_ZERO_SNR" }));
    expect(tf.memory().numTensors).toBe(before);
    xT.dispose();
  });
});
