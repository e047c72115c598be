import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { readSafetensorsHeader } from "../../src/lib/storage/safetensors.js";
import { MemoryCheckpointStore, listCheckpoints, type CheckpointStore } from "../../src/lib/storage.js";
import { readTar } from "../../src/lib/tar.js";
import {
  DEFAULT_SESSION,
  TrainSession,
  branchCheckpoint,
  exportCheckpoint,
  readStoredRun,
  type SessionEvent,
  type TrainSessionConfig,
} from "../../src/lib/train-session.js";

/** Tiny models with the realtime structure: 256x256 frames -> 16x16x4 latents, 16 tokens a frame. */
const TINY: TrainSessionConfig["override"] = {
  vae: { latentChannels: 4, encoder: { stem: 4, channels: [4, 8, 8], blocks: [1, 1, 1] }, decoder: { channels: [8, 4], blocks: [1, 1], head: 8 } },
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

function stores() {
  const map = new Map<string, CheckpointStore>();
  return {
    map,
    openStore: async (run: string) => {
      if (!map.has(run)) map.set(run, new MemoryCheckpointStore());
      return map.get(run)!;
    },
  };
}

async function runSession(cfg: TrainSessionConfig, host: ReturnType<typeof stores>, onEvent: (e: SessionEvent, s: TrainSession) => void = () => {}) {
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

const of = <T extends SessionEvent["type"]>(events: SessionEvent[], type: T) => events.filter((e) => e.type === type) as Extract<SessionEvent, { type: T }>[];

describe("TrainSession", () => {
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
    const order = events.map((e) => (e.type === "metrics" ? `m${e.step}` : e.type === "state" ? e.state : "")).filter(Boolean);
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
    expect([...files.keys()]).toEqual(expect.arrayContaining(["run.json", "model.json", "metrics.json", "config.json"]));
  }, 90_000);

  it("trains a VAE with reconstruction previews; uploaded data must be given", async () => {
    const host = stores();
    const events = await runSession(config("v", { model: "vae", steps: 2, previewEvery: 2, checkpointEvery: 2 }), host);
    const preview = of(events, "preview")[0];
    expect(preview).toMatchObject({ kind: "reconstruction", step: 2, frames: [0, 1] });
    expect(preview.generated[0]).toHaveLength(256 * 256 * 4);
    expect(of(events, "finished")[0].state).toBe("done");
    await expect(runSession(config("u", { data: { kind: "upload", name: "clip.mp4", frames: 30 } }), host)).rejects.toMatchObject({ code: "TRAIN_DATA_MISSING" });
  }, 60_000);
});
