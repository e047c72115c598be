import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import {
  createDiT,
  type DiTConfig,
  archiveFileReader,
  loadDiT,
  PRESETS,
  createVAE,
  type VAEConfig,
} from "../../src/lib/models/index.js";
import type { Module } from "../../src/lib/nn/index.js";
import {
  readSafetensorsHeader,
  encodeTfjsWeights,
  type ReadBytes,
  MemoryCheckpointStore,
  disposeCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  withoutPrefix,
  type CheckpointStore,
  readTar,
  writeTar,
} from "../../src/lib/storage/index.js";
import {
  modelExport,
  DEFAULT_SESSION,
  TrainSession,
  branchCheckpoint,
  exportCheckpoint,
  readStoredRun,
  type SessionEvent,
  type TrainSessionConfig,
} from "../../src/lib/train/index.js";

/** Tiny models with the realtime structure: 256x256 frames -> 16x16x4 latents, 16 tokens a frame. */
const TINY: TrainSessionConfig["override"] = {
  vae: {
    latentChannels: 4,
    encoder: { stem: 4, channels: [4, 8, 8], blocks: [1, 1, 1] },
    decoder: { channels: [8, 4], blocks: [1, 1], head: 8 },
  },
  dit: { patchSize: 4, hidden: 16, depth: 1, heads: 2, contextFrames: 2, frequencyDim: 16 },
};

function config(run: string, patch: Partial<TrainSessionConfig> = {}): TrainSessionConfig {
  return {
    ...DEFAULT_SESSION,
    run,
    data: { kind: "game", seed: 3, episodes: 1, frames: 8 },
    steps: 4,
    batchSize: 1,
    clipLength: 3,
    warmupSteps: 1,
    checkpointEvery: 2,
    previewEvery: 2,
    previewFrames: 2,
    override: TINY,
    ...patch,
  };
}

function stores(shippedWeights: (() => Promise<ReadBytes>) | null = null) {
  const map = new Map<string, CheckpointStore>();
  return {
    map,
    shippedWeights,
    openStore: async (run: string) => {
      if (!map.has(run)) map.set(run, new MemoryCheckpointStore());
      return map.get(run)!;
    },
  };
}

async function runSession(
  cfg: TrainSessionConfig,
  host: ReturnType<typeof stores>,
  onEvent: (e: SessionEvent, s: TrainSession) => void = () => {},
) {
  const events: SessionEvent[] = [];
  const session = new TrainSession(cfg, host, (e) => {
    events.push(e);
    onEvent(e, session);
  });
  try {
    await session.run();
  } finally {
    session.dispose();
  }
  return events;
}

const of = <T extends SessionEvent["type"]>(events: SessionEvent[], type: T) =>
  events.filter((e) => e.type === type) as Extract<SessionEvent, { type: T }>[];

describe("TrainSession", () => {
  it("logs the action sensitivity S of a DiT run on unseen game levels every probeEvery steps, and frees the probe", async () => {
    const before = tf.memory().numTensors;
    const events = await runSession(
      config("s-probe", { steps: 4, previewEvery: 0, checkpointEvery: 4, probeEvery: 2 }),
      stores(),
    );
    const probed = of(events, "metrics").filter((m) => m.extras.actionS !== undefined);
    expect(probed.map((m) => m.step)).toEqual([2, 4]);
    for (const m of probed) expect(Number.isFinite(m.extras.actionS) && m.extras.actionS >= 0).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    const off = await runSession(config("s-off", { steps: 2, previewEvery: 0, probeEvery: 0 }), stores());
    expect(of(off, "metrics").some((m) => m.extras.actionS !== undefined)).toBe(false);
  });

  it("builds game data, trains a DiT, checkpoints, previews a rollout, and leaks no tensors", async () => {
    const before = tf.memory().numTensors;
    const host = stores();
    const events = await runSession(config("a"), host);
    expect(of(events, "phase").some((e) => e.phase === "data" && e.done === 8)).toBe(true);
    expect(of(events, "phase").some((e) => e.phase === "encode" && e.done === e.total)).toBe(true);
    const ready = of(events, "ready")[0];
    expect(ready.continued).toBe(false);
    expect(ready.frames).toBe(8);
    expect(ready.notes.join(" ")).toMatch(/untrained \(seeded\) VAE/);
    expect(of(events, "metrics").map((e) => e.step)).toEqual([1, 2, 3, 4]);
    for (const m of of(events, "metrics")) expect(Number.isFinite(m.loss)).toBe(true);
    expect(of(events, "checkpoint").map((e) => e.step)).toEqual([2, 4]);
    const previews = of(events, "preview");
    expect(previews.map((p) => p.step)).toEqual([2, 4]);
    for (const p of previews) {
      expect(p.kind).toBe("rollout");
      // Context is the first K = 2 frames; the preview shows the next two, real and generated.
      expect(p.frames).toEqual([2, 3]);
      expect(p.generated).toHaveLength(2);
      expect(p.real[0]).toHaveLength(256 * 256 * 4);
      expect(p.generated[1]).toHaveLength(256 * 256 * 4);
      for (const v of p.psnr) expect(v).toBeGreaterThan(0);
    }
    // The untrained model's frames differ from the real ones.
    expect(previews[0].psnr[0]).toBeLessThan(60);
    expect(of(events, "finished")[0]).toMatchObject({ step: 4, state: "done", resumedFrom: 0 });
    expect((await listCheckpoints(host.map.get("a")!)).map((c) => c.step)).toEqual([2, 4]);
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);

  it("pauses (no steps while paused), resumes, and stops with a checkpoint at the stop", async () => {
    const host = stores();
    const events = await runSession(config("p", { steps: 50, previewEvery: 0, checkpointEvery: 100 }), host, (e, s) => {
      if (e.type === "metrics" && e.step === 2) s.pause();
      if (e.type === "state" && e.state === "paused") {
        // Give the loop time to run steps if pausing did not work, then resume.
        setTimeout(() => s.resume(), 200);
      }
      if (e.type === "metrics" && e.step === 4) s.stop();
    });
    const states = of(events, "state").map((e) => `${e.state}@${e.step}`);
    expect(states).toEqual(["running@0", "paused@2", "running@2", "stopping@4", "stopped@4"]);
    // No step between pause and resume: step 3 follows the resume.
    const order = events
      .map((e) => (e.type === "metrics" ? `m${e.step}` : e.type === "state" ? e.state : ""))
      .filter(Boolean);
    expect(order.indexOf("m3")).toBeGreaterThan(order.lastIndexOf("running"));
    expect(of(events, "checkpoint").map((e) => e.step)).toEqual([4]);
    expect(of(events, "finished")[0].state).toBe("stopped");
  }, 60_000);

  it("continues a stored run with its own settings, and branches, exports and reads checkpoints", async () => {
    const host = stores();
    await runSession(config("c", { steps: 2, previewEvery: 0 }), host);
    // A different clip length in the request: the stored run keeps its own.
    const events = await runSession(config("c", { steps: 4, clipLength: 4, previewEvery: 0 }), host);
    const ready = of(events, "ready")[0];
    expect(ready.continued).toBe(true);
    expect(ready.config.clipLength).toBe(3);
    expect(ready.notes[0]).toMatch(/Continuing run "c" from step 2/);
    expect(of(events, "metrics").map((e) => e.step)).toEqual([3, 4]);

    const store = host.map.get("c")!;
    const run = await readStoredRun(store);
    expect(run).toMatchObject({ step: 4, checkpoint: "step-000004", kind: "dit" });
    expect(run!.metrics.map((m) => m.step)).toEqual([1, 2, 3, 4]);
    expect(run!.session!.clipLength).toBe(3);

    const branch = await host.openStore("c-from-2");
    expect(await branchCheckpoint(store, "step-000002", branch)).toEqual({ step: 2 });
    const branched = await readStoredRun(branch);
    expect(branched!.step).toBe(2);
    expect(branched!.metrics.map((m) => m.step)).toEqual([1, 2]);
    await expect(branchCheckpoint(store, "step-000002", branch)).rejects.toMatchObject({ code: "TRAIN_RUN_EXISTS" });
    // The branch trains on from step 2.
    const more = await runSession(config("c-from-2", { steps: 3, previewEvery: 0 }), host);
    expect(of(more, "metrics").map((e) => e.step)).toEqual([3]);

    const st = await exportCheckpoint(store, "c", "step-000004", "safetensors");
    expect(st.name).toMatch(/\.safetensors$/);
    const header = readSafetensorsHeader(st.bytes);
    const names = [...header.tensors.keys()];
    expect(header.metadata).toMatchObject({ kind: "dit", step: "4", weights: "ema" });
    expect(names.length).toBeGreaterThan(0);
    expect(names.some((n) => n.startsWith("blocks.0."))).toBe(true);
    expect(names.some((n) => n.startsWith("ema.") || n.startsWith("dit."))).toBe(false);
    const tar = await exportCheckpoint(store, "c", "step-000004", "tfjs");
    expect(tar.name).toMatch(/\.tar$/);
    const files = readTar(tar.bytes);
    expect([...files.keys()]).toEqual(
      expect.arrayContaining(["run.json", "model.json", "metrics.json", "config.json"]),
    );
  }, 90_000);

  it("trains a VAE with reconstruction previews; uploaded data must be given", async () => {
    const host = stores();
    const events = await runSession(config("v", { model: "vae", steps: 2, previewEvery: 2, checkpointEvery: 2 }), host);
    const preview = of(events, "preview")[0];
    expect(preview).toMatchObject({ kind: "reconstruction", step: 2, frames: [0, 1] });
    expect(preview.generated[0]).toHaveLength(256 * 256 * 4);
    expect(of(events, "finished")[0].state).toBe("done");
    await expect(
      runSession(config("u", { data: { kind: "upload", name: "clip.mp4", frames: 30 } }), host),
    ).rejects.toMatchObject({ code: "TRAIN_DATA_MISSING" });
  }, 60_000);

  describe("shipped weights", () => {
    // Models of the TINY config the session would build itself, exported as the site ships them.
    const vaeConfig = { ...PRESETS.realtime.vae, ...TINY!.vae, latentScale: 0.7 } as VAEConfig;
    const ditConfig = {
      ...PRESETS.realtime.dit,
      latentHeight: 16,
      latentWidth: 16,
      latentChannels: 4,
      ...TINY!.dit,
    } as DiTConfig;

    /** A tar of `vae/` and `dit/` manifests with shards; `ditManifestConfig` replaces the DiT's recorded config. */
    async function archive(
      vae: Module<unknown>,
      dit: Module<unknown>,
      ditManifestConfig?: unknown,
    ): Promise<Uint8Array> {
      const files = new Map<string, Uint8Array>();
      const schedule = { kind: "linear", T: 500 };
      for (const [kind, model] of [
        ["vae", vae],
        ["dit", dit],
      ] as const) {
        const ex = modelExport(kind, model, 7, {
          settings: kind === "dit" ? { clipLength: 5, schedule, contextNoiseMax: 0.1, minSnrGamma: 5 } : null,
        });
        const { modelJson, files: shards } = await encodeTfjsWeights(ex.weights, ex.options);
        if (kind === "dit" && ditManifestConfig) modelJson.gamedream!.config = ditManifestConfig;
        files.set(`${kind}/model.json`, new TextEncoder().encode(JSON.stringify(modelJson)));
        for (const [name, bytes] of shards) files.set(`${kind}/${name}`, bytes);
      }
      files.set("report.json", new TextEncoder().encode("{}"));
      return writeTar(files);
    }

    async function expectSameWeights(saved: ReadonlyMap<string, tf.Tensor>, model: Module<unknown>): Promise<void> {
      const vars = model.variables();
      expect([...saved.keys()].sort()).toEqual([...vars.keys()].sort());
      for (const [name, v] of vars)
        expect(Array.from(await saved.get(name)!.data()), name).toEqual(Array.from(await v.data()));
    }

    /** Weights of `run`'s checkpoint at step 0 (the starting weights), under `prefix`. */
    async function startingWeights(
      host: ReturnType<typeof stores>,
      run: string,
      prefix: string,
      model: Module<unknown>,
    ): Promise<void> {
      const checkpoint = await loadCheckpoint(host.map.get(run)!, "step-000000");
      try {
        await expectSameWeights(withoutPrefix(checkpoint.weights, prefix), model);
      } finally {
        disposeCheckpoint(checkpoint);
      }
    }

    it("fine-tunes the shipped DiT on the shipped VAE's latents: starting weights are the archive's, a continued run keeps them", async () => {
      const before = tf.memory().numTensors;
      const vae = createVAE(vaeConfig, 11);
      const dit = createDiT(ditConfig, 12);
      const bytes = await archive(vae, dit);
      let reads = 0;
      const host = stores(async () => (reads++, archiveFileReader(bytes)));
      const shipped = { init: { kind: "shipped" }, vae: { kind: "shipped" } } as const;
      // Stopped before its first step, the run saves the weights it starts with (step 0).
      const stopAtReady = (e: SessionEvent, s: TrainSession) => e.type === "ready" && s.stop();
      const events = await runSession(config("s", { ...shipped, previewEvery: 2 }), host, stopAtReady);
      expect(of(events, "finished")[0]).toMatchObject({ step: 0, state: "stopped" });
      expect(reads).toBe(1);
      const ready = of(events, "ready")[0];
      expect(ready.config).toMatchObject(shipped);
      expect(ready.notes.join(" ")).toMatch(
        /DiT fine-tunes the shipped pretrained world model \(raw weights of step 7\)/,
      );
      expect(ready.notes.join(" ")).toMatch(/VAE is the shipped pretrained one .*previews decode real frames/);
      expect(of(events, "message")).toEqual([]);
      await startingWeights(host, "s", "dit", dit);
      // The shipped weights' schedule is the one the DiT keeps training with.
      expect((await readStoredRun(host.map.get("s")!))!.settings).toMatchObject({
        clipLength: 3,
        schedule: { kind: "linear", T: 500 },
      });

      // Continued: the shipped VAE is read again; the DiT trains on with finite losses and previews.
      const more = await runSession(config("s", { steps: 2 }), host);
      expect(reads).toBe(2);
      expect(of(more, "ready")[0].config).toMatchObject(shipped);
      expect(of(more, "metrics").map((e) => e.step)).toEqual([1, 2]);
      for (const m of of(more, "metrics")) expect(Number.isFinite(m.loss)).toBe(true);
      expect(of(more, "preview")[0]).toMatchObject({ kind: "rollout", step: 2 });
      vae.dispose();
      dit.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }, 60_000);

    it("fine-tunes the shipped VAE: its starting weights are the archive's", async () => {
      const vae = createVAE(vaeConfig, 21);
      const dit = createDiT(ditConfig, 22);
      const bytes = await archive(vae, dit);
      const host = stores(async () => archiveFileReader(bytes));
      const events = await runSession(
        config("sv", { model: "vae", init: { kind: "shipped" }, previewEvery: 0 }),
        host,
        (e, s) => e.type === "ready" && s.stop(),
      );
      expect(of(events, "ready")[0].notes.join(" ")).toMatch(/VAE fine-tunes the shipped pretrained one/);
      await startingWeights(host, "sv", "vae", vae);
      vae.dispose();
      dit.dispose();
    }, 60_000);

    it("a mismatched, damaged or missing archive is a typed error; the session says so plainly and starts seeded", async () => {
      const vae = createVAE(vaeConfig, 31);
      const dit = createDiT(ditConfig, 32);
      // The manifest records a deeper DiT than its weights hold: the architecture changed.
      const mismatched = await archive(vae, dit, { ...ditConfig, depth: 2 });
      await expect(loadDiT("dit/model.json", { readFile: archiveFileReader(mismatched) })).rejects.toMatchObject({
        code: "WEIGHTS_MISMATCH",
      });
      // A flipped byte in a shard fails its SHA-256.
      const good = await archive(vae, dit);
      const files = readTar(good);
      const shard = files.get("dit/group1-shard1of1.bin")!;
      const damaged = new Map(
        [...files].map(([name, b]) => [name, name === "dit/group1-shard1of1.bin" ? b.slice() : b]),
      );
      damaged.get("dit/group1-shard1of1.bin")![shard.length >> 1] ^= 0xff;
      await expect(loadDiT("dit/model.json", { readFile: archiveFileReader(writeTar(damaged)) })).rejects.toMatchObject(
        { code: "WEIGHTS_CORRUPT" },
      );
      expect(() => archiveFileReader(good.subarray(0, 1000))).toThrow(
        expect.objectContaining({ code: "ARCHIVE_CORRUPT" }),
      );
      await expect(archiveFileReader(writeTar(new Map()))("dit/model.json")).rejects.toMatchObject({
        code: "WEIGHTS_NOT_FOUND",
      });

      const host = stores(async () => archiveFileReader(mismatched));
      const events = await runSession(
        config("m", { init: { kind: "shipped" }, vae: { kind: "shipped" }, steps: 1, previewEvery: 0 }),
        host,
      );
      const [warning] = of(events, "message");
      expect(warning).toMatchObject({ level: "warning", code: "WEIGHTS_MISMATCH" });
      expect(warning.text).toBe(
        "The shipped weights do not fit this version of the model: they were saved for a different architecture, so their layers do not match. The DiT starts from a seeded initialisation instead.",
      );
      // The VAE still comes from the archive; the run records the DiT's real (seeded) start.
      const ready = of(events, "ready")[0];
      expect(ready.config).toMatchObject({ init: { kind: "seeded" }, vae: { kind: "shipped" } });
      expect(of(events, "finished")[0]).toMatchObject({ step: 1, state: "done" });
      expect((await readStoredRun(host.map.get("m")!))!.session!.init).toEqual({ kind: "seeded" });

      // A build without shipped weights: both models start seeded, and the page hears why.
      const none = await runSession(
        config("n", { init: { kind: "shipped" }, vae: { kind: "shipped" }, steps: 1, previewEvery: 0 }),
        stores(),
      );
      expect(of(none, "message").map((m) => m.code)).toEqual(["WEIGHTS_NOT_SHIPPED", "WEIGHTS_NOT_SHIPPED"]);
      expect(of(none, "message")[0].text).toMatch(
        /^This build ships no pretrained weights\. The VAE starts from a seeded initialisation instead\.$/,
      );
      expect(of(none, "ready")[0].notes.join(" ")).toMatch(/untrained \(seeded\) VAE/);
      vae.dispose();
      dit.dispose();
    }, 60_000);
  });
});
