import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NO_ACTION, cloneAction } from "../../src/lib/actions/index.js";
import { FRAME_SIZE, psnr, rgbaToTensor } from "../../src/lib/core/index.js";
import { createAgent, createGame } from "../../src/lib/game/index.js";
import { createDiT, createVAE, type DiT, type LoadedModel, type VAE } from "../../src/lib/models/index.js";
import { evaluateStandingStill, standingStillStates, worldModelOf } from "../../src/lib/play/index.js";
import { perturbWeights, tinyDiTConfig, gameFrameVAEConfig } from "../helpers/tiny-models.js";

const VAE_TINY = gameFrameVAEConfig();
const DIT_TINY = tinyDiTConfig({ latentHeight: 16, latentWidth: 16, latentChannels: 4, patchSize: 4 });
const SCHEDULE = { kind: "cosine" as const, T: 500 };

describe("standing still", () => {
  it("states replay the episode to the frame the player lets go at, then hold no key", () => {
    const [state] = standingStillStates({
      episodes: [{ seed: 4, agent: "explorer-jitter" }],
      contextFrames: 2,
      frames: 5,
      firstFrame: 12,
    });
    expect(state.frame).toBe(12);
    expect(state.context).toHaveLength(3);
    expect(state.held).toHaveLength(2);
    expect(state.real).toHaveLength(5);
    // By hand: 12 frames of the agent, then no key.
    const game = createGame({ seed: 4 });
    const agent = createAgent("explorer-jitter", 4);
    const rgba = new Uint8ClampedArray(FRAME_SIZE * FRAME_SIZE * 4);
    game.render(rgba);
    const actions = [];
    for (let t = 0; t < 12; t++) {
      const a = agent.act(game);
      actions.push(a);
      game.step(a, rgba);
    }
    expect(Buffer.from(state.context[2].data).equals(Buffer.from(rgba))).toBe(true);
    expect(state.held).toEqual(actions.slice(-2));
    for (let n = 0; n < 5; n++) {
      game.step(cloneAction(NO_ACTION), rgba);
      expect(Buffer.from(state.real[n].data).equals(Buffer.from(rgba)), `frame ${n}`).toBe(true);
    }
  });

  describe("evaluateStandingStill", () => {
    let vae: VAE;
    let dit: DiT;
    beforeAll(() => {
      vae = createVAE(VAE_TINY, 1);
      perturbWeights(vae, 2, 0.05);
      dit = createDiT(DIT_TINY, 3);
      perturbWeights(dit, 4, 0.1);
    });
    afterAll(() => {
      vae.dispose();
      dit.dispose();
    });
    const model = (): LoadedModel => ({ vae, dit, schedule: SCHEDULE, preset: null }) as unknown as LoadedModel;

    it("scores each dreamed frame against the real one, per frame and overall, without leaking tensors", async () => {
      const states = standingStillStates({
        episodes: [
          { seed: 1, agent: "random-jitter" },
          { seed: 2, agent: "wall-jitter" },
        ],
        contextFrames: 2,
        frames: 12,
        firstFrame: 8,
      });
      const before = tf.memory().numTensors;
      const report = await evaluateStandingStill(model(), states, { seed: 5, settings: { steps: 1 } });
      expect(tf.memory().numTensors).toBe(before);
      expect(report.states).toBe(2);
      expect(report.frames).toBe(12);
      expect(report.psnrByFrame).toHaveLength(12);
      expect(Object.keys(report.psnrAt)).toEqual(["1", "10"]);
      expect(report.psnrAt["10"]).toBe(report.psnrByFrame[9]);
      const overall = report.psnrByFrame.reduce((a, b) => a + b, 0) / 12;
      expect(report.meanPsnr.value).toBeCloseTo(overall, 4);
      expect(report.meanPsnr.low).toBeLessThanOrEqual(report.meanPsnr.value);
      expect(report.meanPsnr.high).toBeGreaterThanOrEqual(report.meanPsnr.value);
      // The first state's third frame, dreamed by hand with the same seed and settings.
      const wm = worldModelOf(model(), { steps: 1 }, 5);
      wm.start(states[0].context, states[0].held);
      const scores: number[] = [];
      for (let n = 0; n < 3; n++) {
        const out = wm.step(cloneAction(NO_ACTION));
        const score = tf.tidy(() => psnr(out.frame, rgbaToTensor(states[0].real[n])));
        scores.push((await score.data())[0]);
        tf.dispose([score, out.frame, out.latent]);
      }
      wm.dispose();
      const second = (await evaluateStandingStill(model(), states.slice(1), { seed: 5, settings: { steps: 1 } }))
        .psnrByFrame[2];
      // The per-frame figure is the mean over the two states.
      expect(2 * report.psnrByFrame[2] - second).toBeCloseTo(scores[2], 3);
    });
  });
});
