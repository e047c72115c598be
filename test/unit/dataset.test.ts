import "fake-indexeddb/auto";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ACTION_DIM, encodeActionsToArray, type Action } from "../../src/lib/actions/index.js";
import {
  DatasetReader,
  MemoryDatasetStore,
  batchToTensors,
  buildDataset,
  episodeFromFrames,
  gameEpisodeSources,
  heldoutSeeds,
  type DatasetManifest,
  type EpisodeSource,
} from "../../src/lib/data/index.js";
import { summarizeDataset } from "../../src/lib/data/node.js";
import { IndexedDbDatasetStore } from "../../src/lib/data/browser.js";
import { DirectoryDatasetStore } from "../../src/lib/data/node.js";
import { GamedreamError, RGB_FRAME_BYTES, Rng } from "../../src/lib/core/index.js";

const config = { seed: 5, episodes: 4, frames: 12 };

/** Plays the sources again and collects what they yield, as the ground truth. */
async function collect(sources: EpisodeSource[]): Promise<Map<string, { frames: Uint8Array; actions: Action[] }>> {
  const out = new Map<string, { frames: Uint8Array; actions: Action[] }>();
  for (const s of sources) {
    const frames = new Uint8Array(s.frameCount * RGB_FRAME_BYTES);
    const actions: Action[] = [];
    let t = 0;
    for await (const step of s.steps()) {
      frames.set(step.rgb, t++ * RGB_FRAME_BYTES);
      actions.push(step.action);
    }
    out.set(s.meta.id, { frames, actions });
  }
  return out;
}

async function expectSameContent(
  reader: DatasetReader,
  truth: Map<string, { frames: Uint8Array; actions: Action[] }>,
): Promise<void> {
  expect(reader.episodes().length).toBe(truth.size);
  for (const e of reader.episodes()) {
    const want = truth.get(e.id)!;
    const frames = await reader.readFrames(e.id);
    expect(frames.length).toBe(want.frames.length);
    expect(Buffer.compare(Buffer.from(frames), Buffer.from(want.frames))).toBe(0);
    expect(await reader.readEpisodeActions(e.id)).toEqual(want.actions);
    expect(Array.from(await reader.readActions(e.id))).toEqual(Array.from(encodeActionsToArray(want.actions)));
  }
}

let dir = "";
let truth: Map<string, { frames: Uint8Array; actions: Action[] }>;
let memory: MemoryDatasetStore;
let manifest: DatasetManifest;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gamedream-ds-"));
  truth = await collect(gameEpisodeSources(config));
  memory = new MemoryDatasetStore();
  manifest = await buildDataset(memory, gameEpisodeSources(config), {
    heldoutFraction: 0.25,
    splitSeed: 1,
    shardFrames: 24,
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("split", () => {
  it("holds out whole seeds, disjoint from train, deterministically", () => {
    const seeds = Array.from({ length: 20 }, (_, i) => 100 + i);
    const held = heldoutSeeds([...seeds, ...seeds], 0.25, 3);
    expect(held.size).toBe(5);
    expect(heldoutSeeds(seeds, 0.25, 3)).toEqual(held);
    expect(heldoutSeeds(seeds, 0.25, 4)).not.toEqual(held);
    expect(heldoutSeeds([1, 2], 0.01, 0).size).toBe(1);
    expect(heldoutSeeds([1, 2], 1, 0).size).toBe(2);
    expect(heldoutSeeds([1, 2, 3], 0, 0).size).toBe(0);
    expect(() => heldoutSeeds(seeds, 1.5)).toThrow(GamedreamError);
  });

  it("a built dataset's train and held-out episodes share no seed", () => {
    const train = new Set(manifest.episodes.filter((e) => e.split === "train").map((e) => e.seed));
    const held = new Set(manifest.episodes.filter((e) => e.split === "heldout").map((e) => e.seed));
    expect(held.size).toBe(1);
    expect(train.size).toBe(3);
    expect([...held].some((s) => train.has(s))).toBe(false);
    expect(manifest.split.train.frames + manifest.split.heldout.frames).toBe(manifest.totals.frames);
  });
});

describe("build and read back", () => {
  it("writes a manifest with shards and checksums", () => {
    expect(manifest.totals).toMatchObject({ episodes: 4, frames: 48 });
    expect(manifest.shards.length).toBe(2); // 24 frames per shard, whole episodes
    expect(manifest.shards.every((s) => /^[0-9a-f]{64}$/.test(s.sha256))).toBe(true);
    expect(manifest.shards.reduce((n, s) => n + s.bytes, 0)).toBe(48 * (RGB_FRAME_BYTES + ACTION_DIM * 4));
    expect(new Set(manifest.episodes.map((e) => e.agent))).toEqual(new Set(["random", "wall", "explorer"]));
  });

  it("memory store: bytes and actions identical", async () => {
    const reader = await DatasetReader.open(memory);
    await expectSameContent(reader, truth);
    await reader.verify();
  });

  it("directory store: bytes and actions identical, checksums verify, corruption is caught", async () => {
    const store = new DirectoryDatasetStore(dir);
    const m = await buildDataset(store, gameEpisodeSources(config), {
      heldoutFraction: 0.25,
      splitSeed: 1,
      shardFrames: 24,
    });
    expect(m.shards.map((s) => s.sha256)).toEqual(manifest.shards.map((s) => s.sha256));
    const onDisk = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
    expect(onDisk).toEqual(m);
    const reader = await DatasetReader.open(new DirectoryDatasetStore(dir));
    await expectSameContent(reader, truth);
    await reader.verify();
    const path = join(dir, m.shards[0].file);
    const bytes = await readFile(path);
    bytes[100] ^= 0xff;
    await writeFile(path, bytes);
    await expect(reader.verify()).rejects.toMatchObject({ code: "DATASET_CORRUPT" });
    await store.close();
    await expect(DatasetReader.open(new DirectoryDatasetStore(join(dir, "nope")))).rejects.toMatchObject({
      code: "DATASET_NOT_FOUND",
    });
  });

  it("IndexedDB store: bytes and actions identical", async () => {
    const store = await IndexedDbDatasetStore.open("gamedream-test");
    await buildDataset(store, gameEpisodeSources(config), { heldoutFraction: 0.25, splitSeed: 1, shardFrames: 24 });
    const reader = await DatasetReader.open(store);
    await expectSameContent(reader, truth);
    await reader.verify();
    store.close();
  });
});

describe("opening verifies every shard once", () => {
  it("records what it hashed, and refuses a damaged shard in memory or IndexedDB with DATASET_CORRUPT naming it", async () => {
    const reader = await DatasetReader.open(memory);
    expect(reader.verification).toMatchObject({ shards: manifest.shards.length, bytes: manifest.totals.bytes });
    expect((await DatasetReader.open(memory, { verify: false })).verification).toBeNull();

    const idb = await IndexedDbDatasetStore.open("gamedream-test-damaged");
    const built = await buildDataset(idb, gameEpisodeSources(config), {
      heldoutFraction: 0.25,
      splitSeed: 1,
      shardFrames: 24,
    });
    // Damage the second shard's stored value, as a faulty disk or another tab's stray write would.
    const raw = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open("gamedream-test-damaged");
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const file = built.shards[1].file;
    const bytes = await new Promise<Uint8Array>((resolve) => {
      const get = raw.transaction("shards").objectStore("shards").get(file);
      get.onsuccess = () => resolve(get.result as Uint8Array);
    });
    bytes[bytes.length >> 1] ^= 0x01;
    await new Promise<void>((resolve) => {
      const tx = raw.transaction("shards", "readwrite");
      tx.objectStore("shards").put(bytes, file);
      tx.oncomplete = () => resolve();
    });
    raw.close();
    idb.close();
    const reopened = await IndexedDbDatasetStore.open("gamedream-test-damaged");
    const error = await DatasetReader.open(reopened).catch((e) => e);
    expect(error).toMatchObject({
      code: "DATASET_CORRUPT",
      details: { shard: file, expected: built.shards[1].sha256 },
    });
    expect(error.message).toMatch(
      new RegExp(`^Shard "${file}" of the dataset in IndexedDB gamedream-test-damaged is damaged: .* rebuild it`),
    );
    reopened.close();
  });
});

describe("clips", () => {
  it("samples clips [B,T,...] from the chosen split and converts them to tensors without leaking", async () => {
    const reader = await DatasetReader.open(memory);
    const rng = new Rng(1);
    const batch = await reader.sampleBatch(rng, { batchSize: 3, clipLength: 5, split: "train" });
    expect(batch.frames.length).toBe(3 * 5 * RGB_FRAME_BYTES);
    expect(batch.actions.length).toBe(3 * 5 * ACTION_DIM);
    const trainIds = new Set(reader.episodes("train").map((e) => e.id));
    for (const [b, ref] of batch.refs.entries()) {
      expect(trainIds.has(ref.episode)).toBe(true);
      const want = truth.get(ref.episode)!;
      const got = batch.frames.subarray(b * 5 * RGB_FRAME_BYTES, (b + 1) * 5 * RGB_FRAME_BYTES);
      expect(
        Buffer.compare(
          Buffer.from(got),
          Buffer.from(want.frames.subarray(ref.start * RGB_FRAME_BYTES, (ref.start + 5) * RGB_FRAME_BYTES)),
        ),
      ).toBe(0);
    }
    const before = tf.memory().numTensors;
    const { frames, actions } = batchToTensors(batch);
    expect(frames.shape).toEqual([3, 5, 256, 256, 3]);
    expect(actions.shape).toEqual([3, 5, ACTION_DIM]);
    const range = tf.tidy(() => [frames.min().dataSync()[0], frames.max().dataSync()[0]]);
    expect(range[0]).toBeGreaterThanOrEqual(-1);
    expect(range[1]).toBeLessThanOrEqual(1);
    frames.dispose();
    actions.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("enumerates and shuffles windows reproducibly; epochs cover every clip once", async () => {
    const reader = await DatasetReader.open(memory);
    const refs = reader.clipRefs({ clipLength: 4, split: "heldout" });
    expect(refs.length).toBe(3); // one held-out episode of 12 frames
    expect(reader.clipRefs({ clipLength: 4, stride: 2 }).length).toBe(4 * 5);
    const a = reader.shuffledClipRefs({ clipLength: 4, seed: 2 });
    expect(reader.shuffledClipRefs({ clipLength: 4, seed: 2 })).toEqual(a);
    expect(a).not.toEqual(reader.clipRefs({ clipLength: 4 }));
    const seen: string[] = [];
    for await (const b of reader.batches({ batchSize: 4, clipLength: 4, seed: 9 }))
      seen.push(...b.refs.map((r) => `${r.episode}@${r.start}`));
    expect(seen.length).toBe(12);
    expect(new Set(seen).size).toBe(12);
    await expect(reader.sampleBatch(new Rng(0), { batchSize: 1, clipLength: 13 })).rejects.toMatchObject({
      code: "DATASET_CLIP_TOO_LONG",
    });
  });
});

describe("episode sources from ingested video", () => {
  const frame = (v: number) => new Uint8Array(RGB_FRAME_BYTES).fill(v);
  const act = (i: number): Action => ({ movement: [i % 2, 0, 0, 0], camera: [0, 0], interaction: 0 });

  it("takes RGB frames plus an aligned action log", async () => {
    const store = new MemoryDatasetStore();
    const src = episodeFromFrames(
      { id: "clip.mp4", seed: 42, source: "video", name: "clip.mp4" },
      [frame(1), frame(2), frame(3)],
      [act(0), act(1), act(2)],
    );
    const m = await buildDataset(store, [src], { heldoutFraction: 0 });
    expect(m.episodes[0]).toMatchObject({ id: "clip.mp4", source: "video", frameCount: 3, split: "train" });
    const reader = await DatasetReader.open(store);
    const frames = await reader.readFrames("clip.mp4", 1, 2);
    expect(frames[0]).toBe(2);
    expect(frames[RGB_FRAME_BYTES]).toBe(3);
  });

  it("rejects mismatched counts, bad frames and invalid actions with typed errors", async () => {
    const short = episodeFromFrames({ id: "a", seed: 1, source: "video" }, [frame(0)], [act(0), act(1)]);
    await expect(buildDataset(new MemoryDatasetStore(), [short])).rejects.toMatchObject({
      code: "DATASET_FRAME_COUNT_MISMATCH",
    });
    const small = episodeFromFrames({ id: "b", seed: 1, source: "video" }, [new Uint8Array(10)], [act(0)]);
    await expect(buildDataset(new MemoryDatasetStore(), [small])).rejects.toMatchObject({ code: "DATASET_BAD_FRAME" });
    const bad = episodeFromFrames(
      { id: "c", seed: 1, source: "video" },
      [frame(0), frame(0)],
      [act(0), { ...act(1), camera: [2, 0] }],
    );
    await expect(buildDataset(new MemoryDatasetStore(), [bad])).rejects.toMatchObject({
      code: "ACTION_INVALID_CAMERA",
      message: expect.stringMatching(/frame 1/),
    });
  });
});

describe("summary", () => {
  it("counts frames, episodes, actions and motion consistently", async () => {
    const s = await summarizeDataset(await DatasetReader.open(memory));
    expect(s.frames).toBe(48);
    expect(s.episodeTable.length).toBe(4);
    expect(s.histograms.frames).toBe(48);
    expect(s.histograms.interaction.reduce((n, b) => n + b.count, 0)).toBe(48);
    const yaw = s.histograms.camera.filter((c) => c.axis === "yaw");
    expect(yaw.reduce((n, b) => n + b.count, 0)).toBe(48);
    expect(yaw.length).toBe(9);
    const allActions = [...truth.values()].flatMap((t) => t.actions);
    expect(s.histograms.movement.find((m) => m.key === "forward")!.count).toBe(
      allActions.filter((a) => a.movement[0] === 1).length,
    );
    expect(s.motion.length).toBe(4 * 11);
    expect(s.motion.every((m) => m.motion >= 0 && m.motion <= 1)).toBe(true);
    expect(s.motion.some((m) => m.motion > 0)).toBe(true);
    // Per-episode rows agree with the motion rows and the actions they summarise.
    for (const row of s.episodeTable) {
      const own = s.motion.filter((m) => m.episode === row.id).map((m) => m.motion);
      expect(row.meanMotion).toBeCloseTo(own.reduce((a, b) => a + b, 0) / own.length, 12);
      const acts = truth.get(row.id)!.actions;
      expect(row.actions).toBe(acts.length);
      expect(row.uses + row.jumps).toBe(acts.filter((a) => a.interaction !== 0).length);
    }
    const quick = await summarizeDataset(await DatasetReader.open(memory), { motion: false });
    expect(quick.motion).toEqual([]);
    expect(quick.episodeTable.every((r) => r.meanMotion === null)).toBe(true);
    expect(quick.episodeTable.map((r) => r.moving)).toEqual(s.episodeTable.map((r) => r.moving));
  });
});

describe("dataset CLI", () => {
  const run = promisify(execFile);
  const cli = (args: string[]) =>
    run(process.execPath, ["--import", "tsx", "cli/dataset.ts", ...args], { cwd: process.cwd() });

  it("builds a dataset directory and prints a one-line summary", async () => {
    const out = join(dir, "cli");
    const { stdout } = await cli(["--episodes", "2", "--frames", "3", "--seed", "1", "--out", out]);
    expect(stdout.trim().split("\n")).toHaveLength(1);
    expect(stdout).toMatch(/^dataset: .*episodes=2 .*frames=6 /);
    const m = JSON.parse(await readFile(join(out, "manifest.json"), "utf8"));
    expect(m.totals.frames).toBe(6);
    // The same directory summarised: JSON with one row per episode of the manifest.
    const summary = JSON.parse((await cli(["--summary", out])).stdout);
    expect(summary.episodeTable.map((r: { id: string }) => r.id)).toEqual(m.episodes.map((e: { id: string }) => e.id));
    expect(summary.episodeTable.map((r: { frames: number }) => r.frames)).toEqual([3, 3]);
    expect(summary.motion).toHaveLength(2 * 2);
    const missing = await cli(["--summary", join(dir, "none")]).catch((e) => e);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error\[DATASET_NOT_FOUND\]/);
  });

  it("rejects bad flags with exit status 2 and error[CODE]", async () => {
    const err = await cli(["--episodes", "0", "--frames", "3", "--out", join(dir, "x")]).catch((e) => e);
    expect(err.code).toBe(2);
    expect(err.stderr).toMatch(/^error\[CLI_BAD_FLAG\]: --episodes must be a whole number >= 1/);
    const unknown = await cli([
      "--agents",
      "random,ghost",
      "--episodes",
      "1",
      "--frames",
      "1",
      "--out",
      join(dir, "x"),
    ]).catch((e) => e);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/ghost/);
  });
});
