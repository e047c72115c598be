// Sampling defaults recorded with DiT weights (a guidance-distilled DiT records guidance 1): read
// from the manifest, validated, and laid over the preset's when the pair is loaded.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, describe, expect, it } from "vitest";
import { GamedreamError } from "../../src/lib/core/index.js";
import {
  PRESETS,
  createDiT,
  createVAE,
  loadDiT,
  pairModels,
  recordedSampling,
  trainedSampling,
  vaeLatentShape,
} from "../../src/lib/models/index.js";
import { readFileBytes, writeTfjsWeightsDir } from "../../src/lib/storage/node.js";
import { tinyDiTConfig, tinyVAEConfig } from "../helpers/tiny-models.js";

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const VAE = tinyVAEConfig();
const [h, w, c] = vaeLatentShape(VAE);
const DIT = tinyDiTConfig({ latentHeight: h, latentWidth: w, latentChannels: c, nullAction: true });

/** A tiny DiT's weights written as training's export writes them, with `sampling` (and training `settings`) in `extra` when given. */
async function writeDiT(sampling?: unknown, settings?: unknown): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "gamedream-sampling-"));
  dirs.push(dir);
  const dit = createDiT(DIT, 1);
  await writeTfjsWeightsDir(dir, dit.variables(), {
    config: DIT,
    step: 7,
    extra: {
      kind: "dit",
      weights: "ema",
      ...(sampling === undefined ? {} : { sampling }),
      ...(settings === undefined ? {} : { settings }),
    },
  });
  dit.dispose();
  return path.join(dir, "model.json");
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as GamedreamError).code;
  }
  return "no error";
}

describe("recorded sampling defaults", () => {
  it("validates a record: known fields with usable values, nothing else", () => {
    expect(recordedSampling(undefined, "w")).toEqual({});
    expect(recordedSampling(null, "w")).toEqual({});
    expect(recordedSampling({ guidanceScale: 1, steps: 2, sampler: "ddim" }, "w")).toEqual({
      guidanceScale: 1,
      steps: 2,
      sampler: "ddim",
    });
    for (const bad of [
      [],
      3,
      { guidanceScale: 21 },
      { steps: 1.5 },
      { sampler: "magic" },
      { cacheUpdate: "x" },
      { g: 1 },
    ])
      expect(codeOf(() => recordedSampling(bad, "w"))).toBe("MODEL_SAMPLING_INVALID");
  });

  it("a manifest's record reaches the loaded pair over the preset's defaults; a bad one is refused, leaking nothing", async () => {
    const vae = () => ({
      vae: createVAE(VAE, 0),
      source: { kind: "weights" as const, location: "seeded", step: null, weights: null },
    });
    const plain = pairModels(vae(), await loadDiT(await writeDiT(), { readFile: readFileBytes }));
    expect(plain.sampling).toEqual(PRESETS.realtime.sampling);
    plain.dispose();

    const distilled = pairModels(
      vae(),
      await loadDiT(await writeDiT({ guidanceScale: 1 }), { readFile: readFileBytes }),
    );
    expect(distilled.sampling).toEqual({ ...PRESETS.realtime.sampling, guidanceScale: 1 });
    distilled.dispose();

    // Trained for the reuse-last-step cache update (what `npm run train` records): it plays with it, unless recorded otherwise.
    const reuse = { clipLength: 4, cacheUpdate: "reuse-last-step" };
    expect(trainedSampling(reuse)).toEqual({ cacheUpdate: "reuse-last-step" });
    expect(trainedSampling({ clipLength: 3 })).toEqual({});
    const trained = pairModels(vae(), await loadDiT(await writeDiT(undefined, reuse), { readFile: readFileBytes }));
    expect(trained.sampling).toEqual({ ...PRESETS.realtime.sampling, cacheUpdate: "reuse-last-step" });
    trained.dispose();
    const overruled = pairModels(
      vae(),
      await loadDiT(await writeDiT({ cacheUpdate: "context-pass" }, reuse), { readFile: readFileBytes }),
    );
    expect(overruled.sampling.cacheUpdate).toBe("context-pass");
    overruled.dispose();

    const before = tf.memory().numTensors;
    const bad = await writeDiT({ guidanceScale: "strong" });
    await expect(loadDiT(bad, { readFile: readFileBytes })).rejects.toMatchObject({ code: "MODEL_SAMPLING_INVALID" });
    expect(tf.memory().numTensors).toBe(before);
  });
});
