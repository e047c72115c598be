import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { NO_ACTION } from "../../src/lib/actions/index.js";
import { GamedreamError } from "../../src/lib/core/index.js";
import {
  describePlayableRun,
  importModelFiles,
  loadPlayModel,
  playChoiceFromParams,
  playChoiceToParams,
  type PlayModelChoice,
  PlaySession,
  worldModelOf,
} from "../../src/lib/play/index.js";
import { PRESETS } from "../../src/lib/models/index.js";
import {
  MemoryCheckpointStore,
  type CheckpointStore,
  encodeSafetensors,
  listCheckpoints,
} from "../../src/lib/storage/index.js";
import { DEFAULT_SESSION, TrainSession, exportCheckpoint, type TrainSessionConfig } from "../../src/lib/train/index.js";

/** Tiny models with the realtime structure: 256x256 frames -> 16x16x4 latents. */
const TINY: TrainSessionConfig["override"] = {
  vae: {
    latentChannels: 4,
    encoder: { stem: 4, channels: [4, 8, 8], blocks: [1, 1, 1] },
    decoder: { channels: [8, 4], blocks: [1, 1], head: 8 },
  },
  dit: { patchSize: 4, hidden: 16, depth: 1, heads: 2, contextFrames: 2, frequencyDim: 16 },
};

function host() {
  const map = new Map<string, CheckpointStore>();
  return {
    map,
    shippedWeights: null,
    openStore: async (run: string) => {
      if (!map.has(run)) map.set(run, new MemoryCheckpointStore());
      return map.get(run)!;
    },
    listRuns: async () => [...map.keys()],
  };
}

async function train(h: ReturnType<typeof host>, run: string, patch: Partial<TrainSessionConfig> = {}): Promise<void> {
  const session = new TrainSession(
    {
      ...DEFAULT_SESSION,
      run,
      data: { kind: "game", seed: 3, episodes: 1, frames: 6 },
      steps: 2,
      batchSize: 1,
      clipLength: 3,
      warmupSteps: 1,
      checkpointEvery: 1,
      previewEvery: 0,
      override: TINY,
      ...patch,
    },
    h,
    () => {},
  );
  try {
    await session.run();
  } finally {
    session.dispose();
  }
}

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { code: (e as GamedreamError).code, message: (e as Error).message };
  }
  throw new Error("expected a failure");
}

describe("play model choice in the URL", () => {
  it("round-trips runs, checkpoints and explicit VAEs; defaults to shipped, else untrained", () => {
    const choices: PlayModelChoice[] = [
      { kind: "run", run: "my run", checkpoint: null, vae: null },
      { kind: "run", run: "r", checkpoint: "step-000002", vae: { kind: "run", run: "v:1" } },
      { kind: "run", run: "r", checkpoint: null, vae: { kind: "seeded" } },
      { kind: "shipped" },
    ];
    for (const c of choices) {
      const params = playChoiceToParams(c, new URLSearchParams("seed=4&backend=wasm"));
      expect(params.get("seed")).toBe("4");
      expect(playChoiceFromParams(new URLSearchParams(params.toString()), { shipped: true, seed: 4 })).toEqual(c);
    }
    expect(playChoiceFromParams(new URLSearchParams("model=untrained"), { shipped: true, seed: 7 })).toEqual({
      kind: "untrained",
      preset: "realtime",
      seed: 7,
    });
    expect(playChoiceFromParams(new URLSearchParams(""), { shipped: false, seed: 1 }).kind).toBe("untrained");
  });
});

describe("the shipped weights, else untrained", () => {
  it("plays the untrained realtime pair of the page's seed when the build ships no weights, and says why", async () => {
    const played = await loadPlayModel({ kind: "shipped" }, host(), { seed: 5 });
    const direct = await loadPlayModel({ kind: "untrained", preset: "realtime", seed: 5 }, host());
    try {
      expect(played).toMatchObject({
        kind: "untrained",
        name: "untrained",
        description: "untrained weights (realtime preset, seeded initialisation 5)",
      });
      expect(played.notes).toEqual(["This build ships no pretrained weights. Playing with untrained weights instead."]);
      // The same seeded pair as choosing "untrained" with that seed.
      const first = (m: typeof played) => m.model.dit.variables().values().next().value!.dataSync().slice(0, 8);
      expect(Array.from(first(played))).toEqual(Array.from(first(direct)));
      expect(direct.kind).toBe("untrained");
    } finally {
      played.model.dispose();
      direct.model.dispose();
    }
  }, 60_000);
});

describe("loading a stored run to play", () => {
  it("pairs a DiT run with the VAE it was trained on, plays it, refuses other pairs in plain words, and leaks nothing", async () => {
    const h = host();
    await train(h, "world");
    await train(h, "codec", { model: "vae" });
    const before = tf.memory().numTensors;

    // What the picker lists, read from checkpoint descriptions only (no tensors made).
    expect(await describePlayableRun("world", h.map.get("world")!)).toMatchObject({
      run: "world",
      kind: "dit",
      trainedOn: { kind: "seeded" },
    });
    expect((await describePlayableRun("codec", h.map.get("codec")!))?.kind).toBe("vae");
    expect(await describePlayableRun("empty", new MemoryCheckpointStore())).toBeNull();
    expect(tf.memory().numTensors).toBe(before);

    const played = await loadPlayModel({ kind: "run", run: "world", checkpoint: null, vae: null }, h);
    expect([played.kind, played.name]).toEqual(["run", "run “world”"]);
    expect(played.description).toMatch(/DiT step 2, newest checkpoint.*untrained \(seeded\) VAE/);
    const session = await PlaySession.create({ model: played.model, gameSeed: 2, seed: 1 });
    const frame = await session.step({ ...NO_ACTION, camera: [-1, 0] });
    expect(frame.dream.data.length).toBe(256 * 256 * 4);
    session.dispose();
    played.model.dispose();

    // An older checkpoint by id.
    const ids = (await listCheckpoints(h.map.get("world")!)).map((c) => c.id);
    const older = await loadPlayModel({ kind: "run", run: "world", checkpoint: ids[0], vae: null }, h);
    expect(older.model.sources.dit.step).toBe(Number(ids[0].slice(5)));
    older.model.dispose();

    // The seeded VAE it trained on is rebuilt exactly: same weights as the run's own seeded VAE (seed + 1).
    const again = await loadPlayModel({ kind: "run", run: "world", checkpoint: null, vae: { kind: "seeded" } }, h);
    again.model.dispose();

    // Another VAE than the one it learned on: refused, saying which one it needs.
    const wrong = await codeOf(
      loadPlayModel({ kind: "run", run: "world", checkpoint: null, vae: { kind: "run", run: "codec" } }, h),
    );
    expect(wrong.code).toBe("PLAY_PAIR_MISMATCH");
    expect(wrong.message).toMatch(/learned the latents of an untrained \(seeded\) VAE, not of the VAE of run “codec”/);
    expect(wrong.message).not.toMatch(/[A-Z]+_[A-Z]+|\d+x\d+x\d+/);

    // A VAE run is no world model; a missing run says where runs come from.
    expect((await codeOf(loadPlayModel({ kind: "run", run: "codec", checkpoint: null, vae: null }, h))).code).toBe(
      "PLAY_NOT_A_WORLD_MODEL",
    );
    const missing = await codeOf(loadPlayModel({ kind: "run", run: "nope", checkpoint: null, vae: null }, h));
    expect(missing.code).toBe("PLAY_RUN_NOT_FOUND");
    expect(missing.message).toMatch(/Training page/);
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);

  it("imports a run export (.tar) and gamedream safetensors as runs; a VAE of another latent shape is refused", async () => {
    const h = host();
    await train(h, "world");
    await train(h, "codec", { model: "vae" });
    await train(h, "narrow", { model: "vae", override: { ...TINY, vae: { ...TINY!.vae, latentChannels: 2 } } });
    const id = (await listCheckpoints(h.map.get("world")!)).at(-1)!.id;

    const tar = await exportCheckpoint(h.map.get("world")!, "world", id, "tfjs");
    const imported = await importModelFiles([{ name: tar.name, bytes: tar.bytes }], h);
    expect(imported).toMatchObject({ run: "world (2)", kind: "dit", step: 2 });
    const fromTar = await loadPlayModel({ kind: "run", run: imported.run, checkpoint: null, vae: null }, h);
    expect(fromTar.description).toMatch(/untrained \(seeded\) VAE/);
    fromTar.model.dispose();

    // safetensors carry the model config but not the VAE it learned on: without a choice the default
    // VAE (here the seeded realtime one, 8 latent channels) does not fit, and the error says to choose.
    const st = await exportCheckpoint(h.map.get("world")!, "world", id, "safetensors");
    const fromSt = await importModelFiles([{ name: "mine.safetensors", bytes: st.bytes }], h);
    expect(fromSt).toMatchObject({ run: "mine", kind: "dit" });
    const unrecorded = await codeOf(loadPlayModel({ kind: "run", run: "mine", checkpoint: null, vae: null }, h));
    expect(unrecorded.code).toBe("PLAY_PAIR_MISMATCH");
    expect(unrecorded.message).toMatch(/does not record which VAE/);
    const played = await loadPlayModel(
      { kind: "run", run: "mine", checkpoint: null, vae: { kind: "run", run: "codec" } },
      h,
    );
    expect(played.description).toMatch(/VAE of run “codec”/);
    played.model.dispose();
    const shape = await codeOf(
      loadPlayModel({ kind: "run", run: "mine", checkpoint: null, vae: { kind: "run", run: "narrow" } }, h),
    );
    expect(shape.code).toBe("PLAY_PAIR_MISMATCH");
    expect(shape.message).toMatch(/the chosen VAE makes latents of another shape/);

    // Weights without a config cannot be rebuilt.
    const bare = await encodeSafetensors(new Map([["w", tf.zeros([2])]]));
    expect((await codeOf(importModelFiles([{ name: "bare.safetensors", bytes: bare }], h))).code).toBe(
      "IMPORT_NO_CONFIG",
    );
    expect((await codeOf(importModelFiles([{ name: "notes.txt", bytes: new Uint8Array(3) }], h))).code).toBe(
      "IMPORT_UNKNOWN_FILE",
    );
  }, 120_000);

  it("a DiT whose config records sampling defaults plays with them (a guidance-distilled DiT: unguided); bad ones are refused", async () => {
    const h = host();
    await train(h, "world");
    await train(h, "codec", { model: "vae" });
    const id = (await listCheckpoints(h.map.get("world")!)).at(-1)!.id;
    const st = await exportCheckpoint(h.map.get("world")!, "world", id, "safetensors");
    const trained = await loadPlayModel({ kind: "run", run: "world", checkpoint: null, vae: null }, h);
    const model = trained.model.dit.config;
    trained.model.dispose();
    const json = (config: unknown) => ({
      name: "config.json",
      bytes: new TextEncoder().encode(JSON.stringify(config)),
    });
    const withVae = (run: string) =>
      loadPlayModel({ kind: "run", run, checkpoint: null, vae: { kind: "run", run: "codec" } }, h);
    expect(PRESETS.realtime.sampling.guidanceScale).not.toBe(1);

    // No record: the preset's defaults.
    await importModelFiles([{ name: "plain.safetensors", bytes: st.bytes }, json({ kind: "dit", model })], h);
    const plain = await withVae("plain");
    expect(plain.model.sampling).toEqual(PRESETS.realtime.sampling);
    plain.model.dispose();

    // Recorded: guidance 1 over the preset's 1.5, everything else the preset's; the world model starts there.
    await importModelFiles(
      [
        { name: "distilled.safetensors", bytes: st.bytes },
        json({ kind: "dit", model, sampling: { guidanceScale: 1 } }),
      ],
      h,
    );
    const distilled = await withVae("distilled");
    expect(distilled.model.sampling).toEqual({ ...PRESETS.realtime.sampling, guidanceScale: 1 });
    const world = worldModelOf(distilled.model, undefined, 0);
    expect(world.settings.guidanceScale).toBe(1);
    expect(worldModelOf(distilled.model, { guidanceScale: 2 }, 0).settings.guidanceScale).toBe(2);
    world.dispose();
    distilled.model.dispose();

    // Unknown fields or values out of range are refused when the file is imported.
    for (const sampling of [{ guidanceScale: "strong" }, { guidance: 1 }, { steps: 0 }]) {
      const bad = await codeOf(
        importModelFiles([{ name: "bad.safetensors", bytes: st.bytes }, json({ kind: "dit", model, sampling })], h),
      );
      expect(bad.code).toBe("MODEL_SAMPLING_INVALID");
    }
  }, 120_000);
});
