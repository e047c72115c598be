import { describe, expect, it } from "vitest";
import { ACTION_DIM } from "../../src/lib/actions/index.js";
import {
  ditFrameFlops,
  ditParameterCount,
  presetCostTable,
  getPreset,
  PRESET_NAMES,
  PRESETS,
  vaeDecoderFlops,
  vaeLatentShape,
  createDiT,
} from "../../src/lib/models/index.js";
import { countParameters } from "../../src/lib/nn/index.js";
import { tinyDiTConfig } from "../helpers/tiny-models.js";

const TINY = tinyDiTConfig({ depth: 2, mlpRatio: 4 });

describe("presets", () => {
  it("pair each DiT with the VAE whose latent it reads", () => {
    expect(PRESET_NAMES).toEqual(["realtime", "small", "base"]);
    for (const name of PRESET_NAMES) {
      const { dit, vae } = PRESETS[name];
      expect([dit.latentHeight, dit.latentWidth, dit.latentChannels]).toEqual(vaeLatentShape(vae));
      expect(dit.actionDim).toBe(ACTION_DIM);
    }
    expect(PRESETS.realtime.sampling.steps).toBeLessThanOrEqual(2);
  });

  it("reject an unknown name with a typed error", () => {
    expect(getPreset("small").dit.hidden).toBe(256);
    expect(() => getPreset("huge")).toThrow(expect.objectContaining({ code: "PRESET_UNKNOWN" }));
  });
});

describe("FLOP and parameter counter", () => {
  it("counts the parameters createDiT builds", () => {
    for (const config of [TINY, { ...TINY, spatialPositions: "learned" as const, depth: 3, contextFrames: 4 }]) {
      const model = createDiT(config, 0);
      expect(ditParameterCount(config)).toBe(countParameters(model));
      model.dispose();
    }
  });

  it("counts a tiny DiT's FLOPs as done by hand", () => {
    // N = 4 tokens, D = 16, patch dim 8, A = 9, frequency dim 16, K + 1 = 3 frames, MLP 64.
    const embed = 2 * 4 * 8 * 16;
    const conditioning = 2 * (16 * 16 + 16 * 16 + 9 * 16);
    const block =
      2 * 9 * 256 + 2 * 4 * 4 * 256 + 2 * 2 * 16 * 16 + 2 * 4 * 4 * 256 + 2 * 2 * 4 * 3 * 16 + 2 * 2 * 4 * 16 * 64;
    const final = 2 * (2 * 256 + 4 * 16 * 8);
    expect(ditFrameFlops(TINY)).toBe(embed + conditioning + 2 * block + final);
    expect(ditFrameFlops(TINY, 0)).toBe(ditFrameFlops(TINY) - 2 * (2 * 2 * 4 * 2 * 16));
  });

  it("gives one row per preset with the per-frame totals", () => {
    const rows = presetCostTable();
    expect(rows.map((r) => r.preset)).toEqual(["realtime", "small", "base"]);
    for (const row of rows) {
      const { dit, vae, sampling } = PRESETS[row.preset];
      const passes =
        sampling.steps * (sampling.guidanceScale !== 1 ? 2 : 1) + (sampling.cacheUpdate === "context-pass" ? 1 : 0);
      expect(row.ditPasses).toBe(passes);
      expect(row.flopsPerFrame).toBe(passes * ditFrameFlops(dit) + vaeDecoderFlops(vae));
      expect(row.ditParams).toBe(ditParameterCount(dit));
    }
    // Realtime (64 tokens, D 128, depth 4) is about 146 MFLOP per DiT pass.
    expect(rows[0].ditStepFlops).toBeGreaterThan(1.3e8);
    expect(rows[0].ditStepFlops).toBeLessThan(1.7e8);
    expect(rows[0].flopsPerFrame).toBeLessThan(rows[1].flopsPerFrame);
    expect(rows[1].flopsPerFrame).toBeLessThan(rows[2].flopsPerFrame);
  });
});
