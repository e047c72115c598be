import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createDiT,
  type DiT,
  type LoadedModel,
  createVAE,
  trainedSampling,
  type VAE,
} from "../../src/lib/models/index.js";
import { createGame, createAgent } from "../../src/lib/game/index.js";
import { FRAME_SIZE, bootstrapEstimate, mean, median } from "../../src/lib/core/index.js";
import {
  actionSensitivityProbe,
  disposeBranchProbe,
  encodeBranchProbe,
  evaluateActionControl,
  latentActionSensitivity,
  summarizeActionControl,
  branchActions,
  gameBranches,
} from "../../src/lib/play/index.js";
import { perturbWeights, tinyDiTConfig, gameFrameVAEConfig } from "../helpers/tiny-models.js";

const VAE_TINY = gameFrameVAEConfig();
const PATHWAY = { actionEmbedder: "mlp", actionToTokens: true, nullAction: true, contextLatentInput: true } as const;
const DIT_TINY = tinyDiTConfig({ latentHeight: 16, latentWidth: 16, latentChannels: 4, patchSize: 4, ...PATHWAY });
const SCHEDULE = { kind: "cosine" as const, T: 500 };

describe("branches of the real game", () => {
  it("replay the episode, keep K+1 context frames and K held actions, and step one state two ways", () => {
    const states = gameBranches({
      episodes: [{ seed: 5, agent: "explorer-jitter" }],
      statesPerEpisode: 2,
      contextFrames: 2,
      firstFrame: 10,
      spacing: 7,
    });
    expect(states.map((s) => s.frame)).toEqual([10, 17]);
    // Replaying by hand reaches the same frame 10 and the same real branch.
    const game = createGame({ seed: 5 });
    const agent = createAgent("explorer-jitter", 5);
    const rgba = new Uint8ClampedArray(FRAME_SIZE * FRAME_SIZE * 4);
    game.render(rgba);
    let action = agent.act(game);
    for (let t = 0; t < 10; t++) {
      game.step(action, rgba);
      action = agent.act(game);
    }
    const first = states[0];
    expect(first.context).toHaveLength(3);
    expect(first.held).toHaveLength(2);
    expect(Buffer.from(first.context[2].data).equals(Buffer.from(rgba))).toBe(true);
    const [a] = branchActions(action, "yaw");
    game.step(a, rgba);
    const yaw = first.pairs.find((p) => p.factor === "yaw")!;
    expect(Buffer.from(yaw.realA.data).equals(Buffer.from(rgba))).toBe(true);
    // The two branches differ (a turn left and a turn right).
    expect(Buffer.from(yaw.realA.data).equals(Buffer.from(yaw.realB.data))).toBe(false);
    expect(first.pairs.map((p) => p.factor)).toEqual(["yaw", "forward", "pitch"]);
  });
});

describe("action sensitivity and discrimination", () => {
  let vae: VAE;
  let dit: DiT;
  const branches = gameBranches({
    episodes: [{ seed: 3, agent: "random-jitter" }],
    statesPerEpisode: 2,
    contextFrames: 2,
    firstFrame: 6,
    spacing: 5,
  });
  beforeAll(() => {
    vae = createVAE(VAE_TINY, 1);
    perturbWeights(vae, 2, 0.05);
    dit = createDiT(DIT_TINY, 3);
  });
  afterAll(() => {
    vae.dispose();
    dit.dispose();
  });
  const model = (): LoadedModel => ({ vae, dit, schedule: SCHEDULE, preset: null }) as unknown as LoadedModel;

  it("an untrained DiT (zero output layer) ignores the action: S = 0 and D = 0 exactly", async () => {
    const report = await evaluateActionControl(model(), branches, { settings: { steps: 1 } });
    expect(report.samples).toBeGreaterThan(0);
    expect(report.sensitivity.value).toBe(0);
    expect(report.discrimination.value).toBe(0);
  });

  it("a DiT whose output depends on the action gets S > 0, in pixels and in latents", async () => {
    const moved = createDiT(DIT_TINY, 4);
    perturbWeights(moved, 5, 0.1);
    const m = { ...model(), dit: moved } as LoadedModel;
    const report = await evaluateActionControl(m, branches, { settings: { steps: 1 } });
    expect(report.sensitivity.value).toBeGreaterThan(0);
    expect(report.sensitivity.low).toBeLessThanOrEqual(report.sensitivity.value);
    expect(report.sensitivity.high).toBeGreaterThanOrEqual(report.sensitivity.value);
    expect(Object.keys(report.perFactor).sort()).toEqual(
      ["forward", "pitch", "yaw"].filter((f) => report.perSample.some((s) => s.factor === f)).sort(),
    );
    const before = tf.memory().numTensors;
    const probe = encodeBranchProbe(vae, branches);
    expect(latentActionSensitivity(vae, moved, SCHEDULE, probe, { settings: { steps: 1 } })).toBeGreaterThan(0);
    expect(latentActionSensitivity(vae, dit, SCHEDULE, probe, { settings: { steps: 1 } })).toBe(0);
    disposeBranchProbe(probe);
    expect(tf.memory().numTensors).toBe(before);
    moved.dispose();
  });

  it("the training probe plays as the run's settings say: a reuse-last-step run's S is measured without a context pass", () => {
    const moved = createDiT(DIT_TINY, 4);
    perturbWeights(moved, 5, 0.1);
    const probeFactory = actionSensitivityProbe(vae, () => branches, 1);
    const before = tf.memory().numTensors;
    const reuse = { cacheUpdate: "reuse-last-step" } as const;
    const trainedForReuse = probeFactory(moved, SCHEDULE, trainedSampling({ cacheUpdate: "reuse-last-step" }))!;
    const plain = probeFactory(moved, SCHEDULE, trainedSampling({}))!;
    const probe = encodeBranchProbe(vae, branches);
    const asPlayed = (settings: object) => latentActionSensitivity(vae, moved, SCHEDULE, probe, { settings });
    expect(trainedForReuse.run().actionS).toBe(asPlayed(reuse));
    expect(plain.run().actionS).toBe(asPlayed({ cacheUpdate: "context-pass" }));
    expect(asPlayed(reuse)).not.toBe(asPlayed({ cacheUpdate: "context-pass" }));
    disposeBranchProbe(probe);
    probeFactory.dispose();
    expect(tf.memory().numTensors).toBe(before);
    moved.dispose();
  });

  it("summaries: median S and mean D over all samples, per factor, with intervals around them", () => {
    const samples = [
      { state: 0, factor: "yaw" as const, sensitivity: 0.2, discrimination: 1 },
      { state: 0, factor: "pitch" as const, sensitivity: 0.4, discrimination: 3 },
      { state: 1, factor: "yaw" as const, sensitivity: 0.6, discrimination: -1 },
      { state: 2, factor: "yaw" as const, sensitivity: 1.0, discrimination: 5 },
    ];
    const report = summarizeActionControl(samples, 3, 2, 1);
    expect(report.sensitivity.value).toBeCloseTo(0.5);
    expect(report.discrimination.value).toBeCloseTo(2);
    expect(report.perFactor.yaw!.sensitivity.value).toBeCloseTo(0.6);
    expect(report.perFactor.pitch!.samples).toBe(1);
    expect(report.skipped).toBe(2);
    expect(report.sensitivity.low).toBeLessThanOrEqual(0.5);
    expect(report.sensitivity.high).toBeGreaterThanOrEqual(0.5);
  });
});

describe("statistics", () => {
  it("median, mean and a bootstrap interval that narrows with more groups", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(mean([1, 2, 3, 6])).toBe(3);
    const groups = (n: number) => Array.from({ length: n }, (_, i) => [Math.sin(i * 12.9898) * 10]);
    const few = bootstrapEstimate(groups(10), mean, { seed: 1 });
    const many = bootstrapEstimate(groups(400), mean, { seed: 1 });
    expect(few.high - few.low).toBeGreaterThan(2 * (many.high - many.low));
    expect(many.low).toBeLessThanOrEqual(many.value);
    expect(bootstrapEstimate(groups(10), mean, { seed: 1 })).toEqual(few);
  });
});
