import { describe, expect, it } from "vitest";
import {
  SCHEDULE_KINDS,
  alphaBarAt,
  karrasSigmas,
  makeSchedule,
  resolutionShift,
  sigmaToTimestep,
  timestepToSigma,
  type Schedule,
  type ScheduleKind,
} from "../../src/lib/diffusion/index.js";
import { GamedreamError } from "../../src/lib/core/index.js";

const KINDS: ScheduleKind[] = ["linear", "cosine", "sigmoid", "karras"];
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

function expectStrictlyDecreasing(values: Float64Array): void {
  for (let t = 1; t < values.length; t++) expect(values[t]).toBeLessThan(values[t - 1]);
}

function expectDerivedConsistent(s: Schedule): void {
  for (const t of [0, 1, s.T >> 1, s.T - 2]) {
    const ab = s.alphaBar[t];
    expect(rel(s.snr[t], ab / (1 - ab))).toBeLessThan(1e-12);
    expect(rel(s.logSnr[t], Math.log(ab / (1 - ab)))).toBeLessThan(1e-9);
    expect(rel(s.sigma[t], Math.sqrt((1 - ab) / ab))).toBeLessThan(1e-12);
    const prev = t === 0 ? 1 : s.alphaBar[t - 1];
    expect(rel(s.betas[t], 1 - ab / prev)).toBeLessThan(1e-9);
  }
}

describe("noise schedules", () => {
  it("linear: betas evenly spaced 1e-4 .. 0.02 and alpha-bar is their running product", () => {
    const T = 1000;
    const s = makeSchedule({ kind: "linear", T });
    for (const t of [0, 1, 250, 777, 999]) {
      const beta = 1e-4 + ((0.02 - 1e-4) * t) / (T - 1);
      expect(rel(s.betas[t], beta)).toBeLessThan(1e-9);
      let ab = 1;
      for (let k = 0; k <= t; k++) ab *= 1 - (1e-4 + ((0.02 - 1e-4) * k) / (T - 1));
      expect(rel(s.alphaBar[t], ab)).toBeLessThan(1e-10);
    }
    expectDerivedConsistent(s);
  });

  it("cosine: alpha-bar = f((t+1)/T) / f(0), last beta clipped at 0.999", () => {
    const T = 1000;
    const sOff = 0.008;
    const f = (u: number) => Math.cos(((u + sOff) / (1 + sOff)) * (Math.PI / 2)) ** 2;
    const s = makeSchedule({ kind: "cosine", T });
    for (const t of [0, 10, 500, 900, 990]) expect(rel(s.alphaBar[t], f((t + 1) / T) / f(0))).toBeLessThan(1e-9);
    expect(s.betas[T - 1]).toBeCloseTo(0.999, 12);
    expect(Math.max(...s.betas)).toBeLessThanOrEqual(0.999 + 1e-12);
    expectDerivedConsistent(s);
  });

  it("sigmoid: alpha-bar follows Chen 2023 with start -3, end 3, tau 1", () => {
    const T = 500;
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    const gamma = (u: number) => (sig(3) - sig(6 * u - 3)) / (sig(3) - sig(-3));
    const s = makeSchedule({ kind: "sigmoid", T });
    for (const t of [0, 99, 250, 400, 490]) expect(rel(s.alphaBar[t], gamma((t + 1) / T))).toBeLessThan(1e-9);
    expectDerivedConsistent(s);
  });

  it("karras: sigmas match the EDM formula, both as a sampler list and as a schedule", () => {
    const [sMin, sMax, rho] = [0.002, 80, 7];
    const n = 18;
    const sig = karrasSigmas(n, sMin, sMax, rho);
    for (const i of [0, 3, 9, 17]) {
      const expected = (sMax ** (1 / rho) + (i / (n - 1)) * (sMin ** (1 / rho) - sMax ** (1 / rho))) ** rho;
      expect(rel(sig[i], expected)).toBeLessThan(1e-12);
    }
    expect(sig[0]).toBeCloseTo(sMax, 9);
    expect(sig[n - 1]).toBeCloseTo(sMin, 12);
    const T = 1000;
    const s = makeSchedule({ kind: "karras", T, sigmaMin: sMin, sigmaMax: sMax, rho });
    for (const t of [0, 123, 600, 999]) {
      const expected = (sMin ** (1 / rho) + (t / (T - 1)) * (sMax ** (1 / rho) - sMin ** (1 / rho))) ** rho;
      expect(rel(s.sigma[t], expected)).toBeLessThan(1e-9);
    }
    expectDerivedConsistent(s);
  });

  it("alpha-bar is strictly decreasing for every kind, with and without zero terminal SNR", () => {
    for (const kind of KINDS) {
      for (const zeroTerminalSnr of [false, true]) {
        const s = makeSchedule({ kind, T: 300, zeroTerminalSnr });
        expectStrictlyDecreasing(s.alphaBar);
        expect(s.alphaBar[0]).toBeLessThan(1);
        expect(s.alphaBar[0]).toBeGreaterThan(0.99);
      }
    }
  });

  it("zero terminal SNR: alpha-bar[T-1] = 0, alpha-bar[0] kept, sqrt(alpha-bar) rescaled linearly", () => {
    for (const kind of KINDS) {
      const base = makeSchedule({ kind, T: 1000 });
      const z = makeSchedule({ kind, T: 1000, zeroTerminalSnr: true });
      expect(base.alphaBar[999]).toBeGreaterThan(0);
      expect(z.alphaBar[999]).toBe(0);
      expect(z.snr[999]).toBe(0);
      expect(z.logSnr[999]).toBe(-Infinity);
      expect(z.sigma[999]).toBe(Infinity);
      expect(z.betas[999]).toBe(1);
      expect(rel(z.alphaBar[0], base.alphaBar[0])).toBeLessThan(1e-12);
      const [a0, aT] = [Math.sqrt(base.alphaBar[0]), Math.sqrt(base.alphaBar[999])];
      const t = 400;
      expect(rel(Math.sqrt(z.alphaBar[t]), ((Math.sqrt(base.alphaBar[t]) - aT) * a0) / (a0 - aT))).toBeLessThan(1e-10);
    }
  });

  it("resolution shift moves log-SNR by 2 ln(base / res) at every t", () => {
    const shift = resolutionShift(64, 256);
    expect(shift).toBe(4);
    for (const kind of KINDS) {
      const base = makeSchedule({ kind, T: 1000 });
      const shifted = makeSchedule({ kind, T: 1000, shift });
      for (const t of [0, 100, 500, 900, 998]) {
        expect(shifted.logSnr[t] - base.logSnr[t]).toBeCloseTo(2 * Math.log(64 / 256), 8);
      }
      expectStrictlyDecreasing(shifted.alphaBar);
    }
    const both = makeSchedule({ kind: "cosine", T: 1000, shift: 2, zeroTerminalSnr: true });
    expect(both.alphaBar[999]).toBe(0);
  });

  it("alpha-bar at fractional timesteps interpolates log-SNR; sigma <-> timestep round-trips", () => {
    for (const zeroTerminalSnr of [false, true]) {
      const s = makeSchedule({ kind: "cosine", T: 1000, zeroTerminalSnr });
      expect(alphaBarAt(s, 10)).toBe(s.alphaBar[10]);
      expect(alphaBarAt(s, 999)).toBe(s.alphaBar[999]);
      const mid = alphaBarAt(s, 10.25);
      const l = 0.75 * s.logSnr[10] + 0.25 * s.logSnr[11];
      expect(rel(mid, 1 / (1 + Math.exp(-l)))).toBeLessThan(1e-12);
      for (const t of [0, 0.5, 3.3, 417.8, 998, 998.6]) {
        const sigma = timestepToSigma(s, t);
        expect(Math.abs(sigmaToTimestep(s, sigma) - t)).toBeLessThan(1e-6);
      }
      expect(sigmaToTimestep(s, 0)).toBe(0);
      expect(sigmaToTimestep(s, Infinity)).toBe(999);
      expect(sigmaToTimestep(s, 1e9)).toBeCloseTo(999, 3);
    }
    const z = makeSchedule({ kind: "linear", T: 100, zeroTerminalSnr: true });
    const near = alphaBarAt(z, 98.5);
    expect(near).toBeGreaterThan(0);
    expect(near).toBeLessThan(z.alphaBar[98]);
  });

  it("lists every kind with defaults and rejects bad configs with a typed error", () => {
    expect(SCHEDULE_KINDS.map((k) => k.kind).sort()).toEqual([...KINDS].sort());
    const s = makeSchedule({ kind: "sigmoid" });
    expect(s.T).toBe(1000);
    expect(s.config).toMatchObject({ start: -3, end: 3, tau: 1, shift: 1, zeroTerminalSnr: false });
    expect(() => makeSchedule({ kind: "linear", T: 1 })).toThrow(GamedreamError);
    expect(() => makeSchedule({ kind: "nope" as ScheduleKind })).toThrow(/Unknown noise schedule/);
    expect(() => makeSchedule({ kind: "cosine", shift: 0 })).toThrow(GamedreamError);
    expect(() => alphaBarAt(s, 1000)).toThrow(GamedreamError);
  });
});
