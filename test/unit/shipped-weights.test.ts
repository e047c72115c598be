// The weights in weights/realtime/ must load into today's realtime preset, checksums verified:
// an architecture change without retraining (scripts/train-shipped.ts) fails here, not in a page.
import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { existsSync } from "node:fs";
import { loadModelFromWeights, PRESETS } from "../../src/lib/models/index.js";
import { readFileBytes } from "../../src/lib/storage/node.js";
import { createWorldModel } from "../../src/lib/play/index.js";
import { createGame } from "../../src/lib/game/index.js";
import { NO_ACTION } from "../../src/lib/actions/index.js";
import { GENERATION_CASES, SHIPPED_PLAY_SETTINGS } from "../../src/lib/bench/index.js";

const FOLDER = "weights/realtime";

describe("shipped realtime weights", () => {
  it("exist, verify and load into the realtime preset", async () => {
    expect(existsSync(`${FOLDER}/vae/model.json`) && existsSync(`${FOLDER}/dit/model.json`)).toBe(true);
    const model = await loadModelFromWeights(FOLDER, { readFile: readFileBytes });
    try {
      const { latentScale: _scale, ...vaeShape } = model.vae.config;
      const { latentScale: _presetScale, ...presetVaeShape } = PRESETS.realtime.vae;
      expect(vaeShape).toEqual(presetVaeShape);
      expect(model.dit.config).toEqual(PRESETS.realtime.dit);
      expect(model.vae.config.latentScale).toBeGreaterThan(0);

      // One live frame from a real game frame: finite, in range, the right shape.
      const world = createWorldModel({
        vae: model.vae,
        dit: model.dit,
        schedule: model.schedule,
        preset: "realtime",
        seed: 1,
      });
      const game = createGame({ seed: 5 });
      world.start([game.render()]);
      const { frame, latent } = world.step(NO_ACTION);
      expect(frame.shape).toEqual([256, 256, 3]);
      const [min, max] = [frame.min().dataSync()[0], frame.max().dataSync()[0]];
      expect(min).toBeGreaterThanOrEqual(-1);
      expect(max).toBeLessThanOrEqual(1);
      tf.dispose([frame, latent]);
      world.dispose();
    } finally {
      model.dispose();
    }
  });

  it("are what the benchmarks time: the play bench and the first generate case use their recorded sampling", async () => {
    const model = await loadModelFromWeights(FOLDER, { readFile: readFileBytes });
    try {
      const { steps, guidanceScale, cacheUpdate } = model.sampling;
      expect(SHIPPED_PLAY_SETTINGS).toEqual({ steps, guidanceScale, cacheUpdate });
      const first = GENERATION_CASES[0];
      expect({ steps: first.steps, guidanceScale: first.guidanceScale, cacheUpdate: first.cacheUpdate }).toEqual({
        steps,
        guidanceScale,
        cacheUpdate,
      });
    } finally {
      model.dispose();
    }
  });
});
