import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import {
  diffusionLoss,
  minSnrWeights,
  alphaBarTensor,
  diffusionTarget,
  epsFromV,
  epsFromX0,
  predictionToX0Eps,
  qSample,
  vFromX0Eps,
  x0FromEps,
  x0FromV,
  type Parameterization,
  makeSchedule,
} from "../../src/lib/diffusion/index.js";

const PARAMS: Parameterization[] = ["eps", "v", "x0"];
const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

/** A latent clip [B, T, h, w, c] with per-frame alpha-bar [B, T, 1, 1, 1]. */
function clip(seed: number) {
  const [B, T, h, w, c] = [2, 3, 4, 4, 2];
  const schedule = makeSchedule({ kind: "cosine", T: 1000 });
  const timesteps = [0, 250.5, 999, 10, 600, 998];
  return {
    x0: tf.randomNormal([B, T, h, w, c], 0, 1, "float32", seed),
    eps: tf.randomNormal([B, T, h, w, c], 0, 1, "float32", seed + 1),
    alphaBar: alphaBarTensor(schedule, timesteps, [B, T, 1, 1, 1]),
    abValues: timesteps.map((t) => (t === Math.floor(t) ? schedule.alphaBar[t] : NaN)),
  };
}

describe("parameterization", () => {
  it("q-sample is sqrt(ab) x0 + sqrt(1 - ab) eps with per-frame alpha-bar", () => {
    const { x0, eps, alphaBar, abValues } = clip(1);
    const xt = qSample(x0, eps, alphaBar);
    const [xv, x0v, ev] = [xt.arraySync(), x0.arraySync(), eps.arraySync()] as number[][][][][][];
    const ab = abValues[4]; // sample 1, frame 1 (t = 600)
    const expected = Math.sqrt(ab) * x0v[1][1][2][3][1] + Math.sqrt(1 - ab) * ev[1][1][2][3][1];
    expect(xv[1][1][2][3][1]).toBeCloseTo(expected, 5);
    tf.dispose([x0, eps, alphaBar, xt]);
  });

  it("conversion identities round-trip to 1e-5", () => {
    const before = tf.memory().numTensors;
    const { x0, eps, alphaBar } = clip(3);
    // Away from the terminal step, where eps -> x0 divides by sqrt(ab) ~ 0.006.
    const ab = tf.tidy(() => tf.minimum(alphaBar, 0.9));
    const abSafe = tf.tidy(() => tf.maximum(ab, 0.05));
    const xt = qSample(x0, eps, abSafe);
    const v = vFromX0Eps(x0, eps, abSafe);
    const checks: [string, tf.Tensor, tf.Tensor][] = [
      ["x0FromEps", x0FromEps(xt, eps, abSafe), x0],
      ["epsFromX0", epsFromX0(xt, x0, abSafe), eps],
      ["x0FromV", x0FromV(xt, v, abSafe), x0],
      ["epsFromV", epsFromV(xt, v, abSafe), eps],
      ["eps->x0->eps", tf.tidy(() => epsFromX0(xt, x0FromEps(xt, eps, abSafe), abSafe)), eps],
      ["v->x0,eps->v", tf.tidy(() => vFromX0Eps(x0FromV(xt, v, abSafe), epsFromV(xt, v, abSafe), abSafe)), v],
    ];
    for (const [name, got, want] of checks) expect(maxAbsDiff(got, want), name).toBeLessThan(1e-5);
    // v-prediction recovers x0 and eps even at zero SNR (ab = 0) and with scalar alpha-bar.
    for (const scalarAb of [0, 0.3, 0.999]) {
      const xs = qSample(x0, eps, scalarAb);
      const vs = vFromX0Eps(x0, eps, scalarAb);
      for (const p of PARAMS) {
        if (p === "eps" && scalarAb === 0) continue;
        const target = diffusionTarget(x0, eps, scalarAb, p);
        const { x0: x0Hat, eps: epsHat } = predictionToX0Eps(target, xs, scalarAb, p);
        expect(maxAbsDiff(x0Hat, x0), `${p} x0 @ ${scalarAb}`).toBeLessThan(p === "eps" ? 2e-4 : 1e-5);
        expect(maxAbsDiff(epsHat, eps), `${p} eps @ ${scalarAb}`).toBeLessThan(
          p === "x0" && scalarAb > 0.99 ? 2e-4 : 1e-5,
        );
        tf.dispose([target, x0Hat, epsHat]);
      }
      tf.dispose([xs, vs]);
    }
    tf.dispose([x0, eps, alphaBar, ab, abSafe, xt, v, ...checks.map((c) => c[1])]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("diffusion loss", () => {
  it("min-SNR weights equal the formula for each parameterization", () => {
    const abValues = [0.9999, 0.9, 0.5, 0.1, 0.001, 0];
    const ab = tf.tensor1d(abValues);
    const gamma = 5;
    for (const p of PARAMS) {
      const got = minSnrWeights(ab, gamma, p).arraySync() as number[];
      abValues.forEach((a, i) => {
        const snr = a / (1 - a);
        const expected =
          p === "eps"
            ? snr === 0
              ? 1
              : Math.min(snr, gamma) / snr
            : p === "v"
              ? Math.min(snr, gamma) / (snr + 1)
              : Math.min(snr, gamma);
        expect(got[i], `${p} @ ab=${a}`).toBeCloseTo(expected, 4);
        expect(Number.isFinite(got[i])).toBe(true);
      });
    }
    ab.dispose();
  });

  it("is zero when the prediction equals the target, positive otherwise, and differentiable", () => {
    const { x0, eps, alphaBar } = clip(5);
    const before = tf.memory().numTensors;
    for (const p of PARAMS) {
      for (const minSnrGamma of [undefined, 5]) {
        const target = diffusionTarget(x0, eps, alphaBar, p);
        const zero = diffusionLoss({ prediction: target, x0, eps, alphaBar, parameterization: p, minSnrGamma });
        expect(zero.shape).toEqual([]);
        expect(zero.dataSync()[0]).toBe(0);
        const off = tf.add(target, 0.1);
        const loss = diffusionLoss({ prediction: off, x0, eps, alphaBar, parameterization: p, minSnrGamma });
        expect(loss.dataSync()[0]).toBeGreaterThan(0);
        if (minSnrGamma === undefined) expect(loss.dataSync()[0]).toBeCloseTo(0.01, 5);
        const grad = tf.grad((pred: tf.Tensor) =>
          diffusionLoss({ prediction: pred, x0, eps, alphaBar, parameterization: p, minSnrGamma }),
        )(off);
        // d/dpred mean((pred - target)^2) = 2 (pred - target) / n = 0.2 / n without weighting.
        if (minSnrGamma === undefined) expect(grad.dataSync()[7]).toBeCloseTo(0.2 / off.size, 8);
        expect(tf.tidy(() => tf.sum(tf.abs(grad)).dataSync()[0])).toBeGreaterThan(0);
        tf.dispose([target, zero, off, loss, grad]);
      }
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x0, eps, alphaBar]);
  });

  it("min-SNR weighting scales each frame's error by its weight", () => {
    const { x0, eps, alphaBar } = clip(7);
    const target = diffusionTarget(x0, eps, alphaBar, "v");
    const off = tf.add(target, 0.1);
    const loss = diffusionLoss({
      prediction: off,
      x0,
      eps,
      alphaBar,
      parameterization: "v",
      minSnrGamma: 5,
    }).dataSync()[0];
    const meanWeight = tf.tidy(() => tf.mean(minSnrWeights(alphaBar, 5, "v")).dataSync()[0]);
    expect(loss).toBeCloseTo(0.01 * meanWeight, 6);
    tf.dispose([x0, eps, alphaBar, target, off]);
  });

  it("a per-frame mask trains only the masked-in frames and normalises by them", () => {
    const { x0, eps, alphaBar } = clip(9);
    const target = diffusionTarget(x0, eps, alphaBar, "eps");
    const mask = tf.tensor2d([
      [0, 0, 1],
      [0, 1, 1],
    ]); // [B, T]
    // Error 0.1 on kept frames, 10 on dropped ones.
    const frameError = tf.tensor([10, 10, 0.1, 10, 0.1, 0.1], [2, 3, 1, 1, 1]);
    const prediction = tf.add(target, frameError);
    const lossOf = (pred: tf.Tensor) =>
      diffusionLoss({ prediction: pred, x0, eps, alphaBar, parameterization: "eps", frameWeights: mask });
    const loss = lossOf(prediction);
    expect(loss.dataSync()[0]).toBeCloseTo(0.01, 5);
    const grad = tf.grad(lossOf)(prediction);
    const perFrame = tf.tidy(() => tf.sum(tf.abs(grad), [2, 3, 4]).arraySync()) as number[][];
    expect(perFrame[0][0]).toBe(0);
    expect(perFrame[1][0]).toBe(0);
    expect(perFrame[0][2]).toBeGreaterThan(0);
    tf.dispose([x0, eps, alphaBar, target, mask, frameError, prediction, loss, grad]);
  });
});
