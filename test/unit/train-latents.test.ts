import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { ACTION_DIM, NO_ACTION, encodeAction } from "../../src/lib/actions/index.js";
import {
  DatasetReader,
  MemoryDatasetStore,
  buildDataset,
  gameEpisodeSources,
  LatentDataset,
  conditioningActions,
  latentCacheKey,
} from "../../src/lib/data/index.js";
import { rgbToUnit, Rng } from "../../src/lib/core/index.js";
import { VAE_PRESETS, createVAE } from "../../src/lib/models/index.js";

const TINY_VAE = {
  ...VAE_PRESETS.realtime,
  latentChannels: 4,
  encoder: { stem: 16, channels: [4], blocks: [0] },
  decoder: { channels: [4], blocks: [0], head: 16 },
};

describe("latents", () => {
  it("conditions frame t on the action held on frame t-1, and frame 0 on no action", () => {
    const held = Float32Array.from({ length: 3 * ACTION_DIM }, (_, i) => i);
    const cond = conditioningActions(held, 3);
    expect(Array.from(cond.subarray(0, ACTION_DIM))).toEqual(Array.from(encodeAction(NO_ACTION)));
    expect(Array.from(cond.subarray(ACTION_DIM))).toEqual(Array.from(held.subarray(0, 2 * ACTION_DIM)));
  });

  it("encodes a split once, samples clips, round-trips through bytes under its key", async () => {
    const store = new MemoryDatasetStore();
    await buildDataset(store, gameEpisodeSources({ seed: 2, episodes: 2, frames: 5 }), { heldoutFraction: 0 });
    const reader = await DatasetReader.open(store);
    const vae = createVAE(TINY_VAE, 1);
    const latents = await LatentDataset.encode(reader, vae);
    expect(latents.shape).toEqual([16, 16, 4]);
    expect(latents.frameCount).toBe(10);
    // The stored latents are the VAE's scaled encoding of the frames, episode by episode.
    const episode = reader.episodes()[1];
    const rgb = await reader.readFrames(episode.id, 2, 1);
    const direct = tf.tidy(() => vae.encodeScaled(tf.tensor4d(rgbToUnit(rgb), [1, 256, 256, 3])));
    const stored = latents.episodes[1].latents.subarray(2 * 16 * 16 * 4, 3 * 16 * 16 * 4);
    expect(Array.from(stored)).toEqual(Array.from(await direct.data()));
    direct.dispose();

    const key = await latentCacheKey(reader, vae);
    const back = LatentDataset.fromBytes(latents.toBytes(key), key)!;
    expect(back).not.toBeNull();
    expect(LatentDataset.fromBytes(latents.toBytes(key), "other")).toBeNull();
    const a = latents.sampleClips(new Rng(5), 3, 4);
    const b = back.sampleClips(new Rng(5), 3, 4);
    expect(a.latents.shape).toEqual([3, 4, 16, 16, 4]);
    expect(Array.from(await a.latents.data())).toEqual(Array.from(await b.latents.data()));
    expect(Array.from(await a.actions.data())).toEqual(Array.from(await b.actions.data()));
    tf.dispose([a.latents, a.actions, b.latents, b.actions]);

    // The key is made of the shard checksums the latents came from (verified when the reader
    // opened): another shard's bytes, another key.
    const rebuilt = Object.create(reader, {
      manifest: {
        value: {
          ...reader.manifest,
          shards: reader.manifest.shards.map((s, i) => (i === 0 ? { ...s, sha256: "0".repeat(64) } : s)),
        },
      },
    });
    expect(await latentCacheKey(rebuilt, vae)).not.toBe(key);
    // New VAE weights, new key: a stale cache is never reused.
    const other = createVAE(TINY_VAE, 2);
    expect(await latentCacheKey(reader, other)).not.toBe(key);
    vae.dispose();
    other.dispose();
  });
});
