// "Shipped weights, else seeded" (src/lib/models/loader.ts `shippedOrSeeded`): the archive's
// weights when they load, else the seeded initialisation of the seed the caller gives, and why.
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import {
  archiveFileReader,
  DEFAULT_DIT_SCHEDULE,
  createDiT,
  createVAE,
  PRESETS,
  seededModel,
  shippedOrSeeded,
  type DiTConfig,
  type VAEConfig,
} from "../../src/lib/models/index.js";
import type { Module } from "../../src/lib/nn/index.js";
import { encodeTfjsWeights, writeTar } from "../../src/lib/storage/index.js";
import { modelExport } from "../../src/lib/train/index.js";

/** Tiny models with the realtime structure (256x256 frames -> 16x16x4 latents), quick to build. */
const vaeConfig = {
  ...PRESETS.realtime.vae,
  latentChannels: 4,
  encoder: { stem: 4, channels: [4, 8, 8], blocks: [1, 1, 1] },
  decoder: { channels: [8, 4], blocks: [1, 1], head: 8 },
  latentScale: 0.7,
} as VAEConfig;
const ditConfig = {
  ...PRESETS.realtime.dit,
  latentHeight: 16,
  latentWidth: 16,
  latentChannels: 4,
  patchSize: 4,
  hidden: 16,
  depth: 1,
  heads: 2,
  contextFrames: 2,
  frequencyDim: 16,
} as DiTConfig;

/** The site's archive layout: `vae/` and `dit/` manifests with shards; `ditConfig` replaces the DiT's recorded config. */
async function archive(vae: Module<unknown>, dit: Module<unknown>, recordedDiT?: unknown): Promise<Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const [kind, model] of [
    ["vae", vae],
    ["dit", dit],
  ] as const) {
    const ex = modelExport(kind, model, 7, {
      settings: kind === "dit" ? { schedule: { kind: "linear", T: 500 } } : null,
    });
    const { modelJson, files: shards } = await encodeTfjsWeights(ex.weights, ex.options);
    if (kind === "dit" && recordedDiT) modelJson.gamedream!.config = recordedDiT;
    files.set(`${kind}/model.json`, new TextEncoder().encode(JSON.stringify(modelJson)));
    for (const [name, bytes] of shards) files.set(`${kind}/${name}`, bytes);
  }
  return writeTar(files);
}

async function weightsOf(model: Module<unknown>): Promise<Map<string, number[]>> {
  return new Map(
    await Promise.all(
      [...model.variables()].map(async ([name, v]) => [name, Array.from(await v.data())] as [string, number[]]),
    ),
  );
}

describe("shippedOrSeeded", () => {
  it("loads the shipped VAE, DiT and pair when they load, with no fallback", async () => {
    const before = tf.memory().numTensors;
    const vae = createVAE(vaeConfig, 11);
    const dit = createDiT(ditConfig, 12);
    const bytes = await archive(vae, dit);
    let reads = 0;
    const shipped = async () => (reads++, archiveFileReader(bytes));

    const v = await shippedOrSeeded("vae", shipped, { config: vaeConfig, seed: 5 });
    expect(v.fallback).toBeNull();
    expect(await weightsOf(v.loaded.vae)).toEqual(await weightsOf(vae));
    const d = await shippedOrSeeded("dit", shipped, { config: ditConfig, seed: 5 });
    expect(d.fallback).toBeNull();
    expect(d.loaded.schedule).toEqual({ kind: "linear", T: 500 });
    expect(d.loaded.source.step).toBe(7);
    expect(await weightsOf(d.loaded.dit)).toEqual(await weightsOf(dit));
    const m = await shippedOrSeeded("model", shipped, { preset: "realtime", seed: 5 });
    expect(m.fallback).toBeNull();
    expect(m.loaded.dit.config).toEqual(ditConfig);
    expect(reads).toBe(3);

    for (const x of [v.loaded.vae, d.loaded.dit, vae, dit]) x.dispose();
    m.loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);

  it("without shipped weights, builds the caller's seed and says why", async () => {
    const a = await shippedOrSeeded("vae", null, { config: vaeConfig, seed: 3 });
    expect(a.fallback?.error.code).toBe("WEIGHTS_NOT_SHIPPED");
    expect(a.fallback?.why).toBe("This build ships no pretrained weights.");
    expect(a.loaded.source.location).toBe("seeded");
    // The same seed gives the same weights; another seed, others.
    const same = createVAE(vaeConfig, 3);
    const other = createVAE(vaeConfig, 4);
    expect(await weightsOf(a.loaded.vae)).toEqual(await weightsOf(same));
    expect(await weightsOf(a.loaded.vae)).not.toEqual(await weightsOf(other));

    const d = await shippedOrSeeded("dit", null, { config: ditConfig, seed: 9 });
    const dit9 = createDiT(ditConfig, 9);
    expect(await weightsOf(d.loaded.dit)).toEqual(await weightsOf(dit9));
    expect(d.loaded).toMatchObject({ schedule: DEFAULT_DIT_SCHEDULE, scheduleSource: "default" });
    for (const x of [a.loaded.vae, same, other, d.loaded.dit, dit9]) x.dispose();
  }, 60_000);

  it("a seeded pair is the preset's VAE from `seed` and its DiT from `seed + 1`", async () => {
    const got = await shippedOrSeeded("model", null, { preset: "realtime", seed: 1 });
    const direct = seededModel("realtime", 1);
    const vae1 = createVAE(PRESETS.realtime.vae, 1);
    const dit2 = createDiT(PRESETS.realtime.dit, 2);
    try {
      expect(got.fallback?.error.code).toBe("WEIGHTS_NOT_SHIPPED");
      expect(got.loaded.preset).toBe("realtime");
      expect(await weightsOf(got.loaded.vae)).toEqual(await weightsOf(vae1));
      expect(await weightsOf(got.loaded.dit)).toEqual(await weightsOf(dit2));
      expect(await weightsOf(direct.dit)).toEqual(await weightsOf(dit2));
    } finally {
      got.loaded.dispose();
      direct.dispose();
      vae1.dispose();
      dit2.dispose();
    }
  }, 120_000);

  it("weights for another architecture, a damaged archive or a failing read fall back with a plain reason", async () => {
    const before = tf.memory().numTensors;
    const vae = createVAE(vaeConfig, 31);
    const dit = createDiT(ditConfig, 32);
    const mismatched = await archive(vae, dit, { ...ditConfig, depth: 2 });
    const d = await shippedOrSeeded("dit", async () => archiveFileReader(mismatched), { config: ditConfig, seed: 1 });
    expect(d.fallback?.error.code).toBe("WEIGHTS_MISMATCH");
    expect(d.fallback?.why).toMatch(/^The shipped weights do not fit this version of the model/);
    // The pair fails on its DiT: the VAE it had loaded is freed, and both halves are seeded.
    const m = await shippedOrSeeded("model", async () => archiveFileReader(mismatched), {
      preset: "realtime",
      seed: 1,
    });
    expect(m.fallback?.error.code).toBe("WEIGHTS_MISMATCH");
    expect(m.loaded.sources.vae.location).toBe("seeded");

    const good = await archive(vae, dit);
    const v = await shippedOrSeeded("vae", async () => archiveFileReader(good.subarray(0, 1000)), {
      config: vaeConfig,
      seed: 1,
    });
    expect(v.fallback?.error.code).toBe("ARCHIVE_CORRUPT");
    expect(v.fallback?.why).toBe("The shipped weights are damaged: a file in them fails its checksum.");
    const offline = await shippedOrSeeded("vae", async () => Promise.reject(new TypeError("Failed to fetch")), {
      config: vaeConfig,
      seed: 1,
    });
    expect(offline.fallback?.error.code).toBe("WEIGHTS_UNREADABLE");
    expect(offline.fallback?.why).toBe("The shipped weights could not be loaded: Failed to fetch");

    for (const x of [d.loaded.dit, v.loaded.vae, offline.loaded.vae, vae, dit]) x.dispose();
    m.loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);
});
