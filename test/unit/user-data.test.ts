import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { NO_ACTION, type Action } from "../../src/lib/actions/index.js";
import { scriptedDream, TURN_SCRIPT, PlaySession } from "../../src/lib/play/index.js";
import {
  DatasetReader,
  MemoryDatasetStore,
  GameplayRecorder,
  checkDatasetName,
  readStartFrames,
  readViewEpisodes,
  saveUserDataset,
} from "../../src/lib/data/index.js";
import { createDiT, createVAE } from "../../src/lib/models/index.js";
import { GamedreamError, rgbaToRgb } from "../../src/lib/core/index.js";
import { createGame } from "../../src/lib/game/index.js";
import { MemoryCheckpointStore, type CheckpointStore } from "../../src/lib/storage/index.js";
import {
  DEFAULT_SESSION,
  TrainSession,
  type SessionEvent,
  type TrainSessionConfig,
} from "../../src/lib/train/index.js";
import { tinyDiTConfig, tinyVAEConfig } from "../helpers/tiny-models.js";

const VAE_TINY = tinyVAEConfig({
  imageSize: 256,
  encoder: { stem: 32, channels: [8], blocks: [0] },
  decoder: { channels: [8], blocks: [0], head: 32 },
});
const DIT_TINY = tinyDiTConfig({ latentHeight: 8, latentWidth: 8, latentChannels: 4 });
const SCHEDULE = { kind: "cosine" as const, T: 1000, zeroTerminalSnr: true };

const turn = (yaw: number): Action => ({ ...NO_ACTION, movement: [0, 0, 0, 0], camera: [yaw, 0] });

/** Plays the game as a person would and records it, as the play worker does. */
function record(level: number, actions: Action[]): ReturnType<GameplayRecorder["finish"]> & { shown: Uint8Array[] } {
  const game = createGame({ seed: level });
  const shown = [rgbaToRgb(game.reset().data)];
  const recorder = new GameplayRecorder(level);
  recorder.begin(game.render().data);
  for (const a of actions) {
    const next = game.step(a).data;
    shown.push(rgbaToRgb(next));
    recorder.add(a, next);
  }
  return { ...recorder.finish(), shown };
}

describe("recording your own play", () => {
  it("pairs each frame with the action held on it (the dataset alignment) and stores it as a dataset", async () => {
    const actions: Action[] = [turn(-1), turn(-1), { ...turn(0), movement: [1, 0, 0, 0] }, turn(1)];
    const rec = record(5, actions);
    expect(rec.frames.length).toBe(4);
    rec.frames.forEach((f, t) => expect(Buffer.from(f).equals(Buffer.from(rec.shown[t]))).toBe(true));
    expect(rec.actions).toEqual(actions);

    const store = new MemoryDatasetStore();
    const manifest = await saveUserDataset(store, " my play ", {
      ...rec,
      source: "game",
      name: "played on level 5",
      level: 5,
    });
    expect(manifest.totals.frames).toBe(4);
    expect(manifest.split.heldout.episodes).toBe(0);
    expect(manifest.createdWith).toMatchObject({ by: "play page recording", name: "my play", level: 5 });
    const reader = await DatasetReader.open(store);
    expect(await reader.readEpisodeActions(reader.episodes()[0].id)).toEqual(actions);
    const view = await readViewEpisodes(store, 3);
    expect(view[0]).toMatchObject({ name: "played on level 5", frameCount: 3 });
    expect(view[0].frames.length).toBe(3 * 256 * 256 * 3);

    const start = await readStartFrames(store, "my play", 2);
    expect(start.frames.length).toBe(2);
    expect(start.actions).toEqual(actions.slice(0, 2));
    expect(start.name).toMatch(/dataset “my play”/);
  });

  it("stops at its limit and refuses bad names and empty recordings", async () => {
    const recorder = new GameplayRecorder(1, 2);
    const frame = new Uint8ClampedArray(256 * 256 * 4);
    recorder.begin(frame);
    expect(recorder.add(turn(1), frame)).toBe(true);
    expect(recorder.add(turn(1), frame)).toBe(true);
    expect(recorder.add(turn(1), frame)).toBe(false);
    expect(recorder.finish().frames.length).toBe(2);
    expect(() => checkDatasetName("../evil")).toThrow(GamedreamError);
    await expect(
      saveUserDataset(new MemoryDatasetStore(), "empty", { frames: [], actions: [], source: "game", name: "x" }),
    ).rejects.toMatchObject({ code: "DATASET_EMPTY" });
  });
});

describe("dreaming from stored frames and the action-script preview", () => {
  it("a session started from stored frames has no game, only a dream, and resets to those frames", async () => {
    const rec = record(2, [turn(1), turn(1), turn(1)]);
    const vae = createVAE(VAE_TINY, 1);
    const dit = createDiT(DIT_TINY, 2);
    const before = tf.memory().numTensors;
    const session = await PlaySession.create({
      model: { vae, dit, schedule: SCHEDULE },
      gameSeed: 0,
      seed: 1,
      startFrames: { name: "dataset “x”", frames: rec.frames, actions: rec.actions },
    });
    try {
      expect(session.hasGame).toBe(false);
      // The last start frame is where the dream goes on from.
      expect(Buffer.from(rgbaToRgb(session.realFrame().data)).equals(Buffer.from(rec.frames.at(-1)!))).toBe(true);
      const a = await session.step(turn(-1));
      expect(a.real).toBeNull();
      expect(a.dream.data.length).toBe(256 * 256 * 4);
      await session.reset();
      const b = await session.step(turn(-1));
      expect(Buffer.from(b.dream.data).equals(Buffer.from(a.dream.data))).toBe(true);
      const restored = PlaySession.restore(session.snapshot());
      expect(restored.hasGame).toBe(false);
      expect((await restored.step(turn(1))).real).toBeNull();
      restored.dispose();
    } finally {
      session.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);

    const script = await scriptedDream({ vae, dit, schedule: SCHEDULE }, { level: 3, seed: 0 });
    expect(script.real.length).toBe(TURN_SCRIPT.length);
    expect(script.actions.map((x) => Math.sign(x.camera[0]))).toEqual([-1, -1, -1, -1, -1, 1, 1, 1, 1, 1]);
    // The real side turns: its frames change from one to the next.
    expect(Buffer.from(script.real[0]).equals(Buffer.from(script.real[4]))).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
    vae.dispose();
    dit.dispose();
  });

  it("a dashboard run trains on a stored dataset and previews the action script", async () => {
    const rec = record(
      4,
      Array.from({ length: 8 }, (_, t) => turn(t < 4 ? -1 : 1)),
    );
    const data = new MemoryDatasetStore();
    await saveUserDataset(data, "mine", { ...rec, source: "game", name: "played on level 4", level: 4 });
    const stores = new Map<string, CheckpointStore>();
    const config: TrainSessionConfig = {
      ...DEFAULT_SESSION,
      run: "on-mine",
      data: { kind: "stored", name: "mine" },
      steps: 2,
      batchSize: 1,
      clipLength: 3,
      warmupSteps: 1,
      checkpointEvery: 2,
      previewEvery: 2,
      previewFrames: 2,
      override: {
        vae: {
          latentChannels: 4,
          encoder: { stem: 4, channels: [4, 8, 8], blocks: [1, 1, 1] },
          decoder: { channels: [8, 4], blocks: [1, 1], head: 8 },
        },
        dit: { patchSize: 4, hidden: 16, depth: 1, heads: 2, contextFrames: 2, frequencyDim: 16 },
      },
    };
    const events: SessionEvent[] = [];
    const opened: string[] = [];
    const session = new TrainSession(
      config,
      {
        openStore: async (run) => (stores.get(run) ?? stores.set(run, new MemoryCheckpointStore()).get(run))!,
        openDataset: async (name) => (opened.push(name), data),
      },
      (e) => events.push(e),
    );
    try {
      await session.run();
    } finally {
      session.dispose();
    }
    expect(opened).toEqual(["mine"]);
    const ready = events.find((e) => e.type === "ready") as Extract<SessionEvent, { type: "ready" }>;
    expect(ready.frames).toBe(8);
    const script = events.filter((e) => e.type === "script-preview") as Extract<
      SessionEvent,
      { type: "script-preview" }
    >[];
    expect(script.length).toBe(1);
    expect(
      script[0].labels.slice(0, 5).every((l) => l === "turn left") &&
        script[0].labels.slice(5).every((l) => l === "turn right"),
    ).toBe(true);
    expect(script[0].real.length).toBe(10);
    expect(script[0].dream.length).toBe(10);

    // Without a way to open stored datasets the run says so.
    const orphan = new TrainSession(
      { ...config, run: "orphan" },
      { openStore: async () => new MemoryCheckpointStore() },
      () => {},
    );
    await expect(orphan.run()).rejects.toMatchObject({ code: "TRAIN_DATA_MISSING" });
    orphan.dispose();
  }, 120_000);
});
