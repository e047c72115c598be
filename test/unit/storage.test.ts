import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir, rename } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Rng } from "../../src/lib/core/index.js";
import { expectSameTensors } from "../helpers/tensors.js";
import {
  APP_VERSION,
  FORMAT_VERSION,
  MemoryCheckpointStore,
  captureOptimizerState,
  disposeCheckpoint,
  disposeOptimizerState,
  listCheckpoints,
  loadCheckpoint,
  loadLatestCheckpoint,
  prefixNames,
  pruneCheckpoints,
  restoreOptimizerState,
  saveCheckpoint,
  deleteCheckpoint,
  withoutPrefix,
  assignWeights,
  type CheckpointStore,
} from "../../src/lib/storage/index.js";
import { FsCheckpointStore } from "../../src/lib/storage/node.js";

/** A tiny stand-in for a Module: named variables filled from a seeded Rng. */
function tinyModule(seed: number): { variables: () => Map<string, tf.Variable>; dispose: () => void } {
  const rng = new Rng(seed);
  const make = (shape: number[]) =>
    tf.variable(
      tf.tensor(
        Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
        shape,
      ),
    );
  const vars = new Map<string, tf.Variable>([
    ["blocks.0.attn.q.weight", make([4, 3])],
    ["blocks.0.attn.q.bias", make([3])],
    ["final.weight", make([3, 2])],
  ]);
  return { variables: () => vars, dispose: () => vars.forEach((v) => v.dispose()) };
}

/** Loss of a tiny linear regression; its Adam steps exercise every optimizer slot. */
function lossOf(m: ReturnType<typeof tinyModule>, x: tf.Tensor, y: tf.Tensor): () => tf.Scalar {
  const v = m.variables();
  return () =>
    tf.tidy(() =>
      tf.mean(
        tf.square(
          tf.sub(
            tf.matMul(
              tf.add(tf.matMul(x, v.get("blocks.0.attn.q.weight")!), v.get("blocks.0.attn.q.bias")!),
              v.get("final.weight")!,
            ),
            y,
          ),
        ),
      ),
    );
}

function step(opt: tf.Optimizer, m: ReturnType<typeof tinyModule>, x: tf.Tensor, y: tf.Tensor): void {
  opt.minimize(lossOf(m, x, y), false, [...m.variables().values()]);
}

let dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), "gamedream-storage-"));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

describe("checkpoint round trip", () => {
  let model: ReturnType<typeof tinyModule>;
  let ema: ReturnType<typeof tinyModule>;
  let opt: tf.AdamOptimizer;
  let x: tf.Tensor;
  let y: tf.Tensor;
  beforeEach(() => {
    model = tinyModule(1);
    ema = tinyModule(2);
    opt = tf.train.adam(1e-2);
    x = tf.tensor2d([
      [1, 2, 3, 4],
      [0.5, -1, 2, 0],
    ]);
    y = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
  });
  afterEach(() => {
    model.dispose();
    ema.dispose();
    opt.dispose();
    tf.dispose([x, y]);
  });

  for (const kind of ["memory", "fs"] as const) {
    it(`restores weights, optimizer state, RNG, step, config and metrics bitwise (${kind})`, async () => {
      const store: CheckpointStore =
        kind === "memory" ? new MemoryCheckpointStore() : await FsCheckpointStore.open(await tempDir());
      step(opt, model, x, y);
      step(opt, model, x, y);
      const vars = prefixNames({ dit: model.variables() });
      const counter = tf.tensor1d([7, -3], "int32");
      const weights = new Map<string, tf.Tensor>([
        ...vars,
        ...prefixNames({ ema: ema.variables() }),
        ["stats.count", counter],
      ]);
      const optimizer = await captureOptimizerState(opt, vars);
      const rng = new Rng(42);
      rng.next();
      const config = { preset: "realtime", dit: { hidden: 128, depth: 4 }, lr: 1e-3, tags: ["a", "b"] };
      const metrics = [
        { step: 1, loss: 0.5 },
        { step: 2, loss: 0.25, gradNorm: 1.5e-7 },
      ];
      // Small shards so the tensors straddle shard boundaries.
      const saved = await saveCheckpoint(
        store,
        { step: 200, weights, optimizer, rng: { train: rng.getState() }, config, metrics },
        { shardBytes: 40 },
      );
      expect(saved.id).toBe("step-000200");
      expect(saved.shards.length).toBeGreaterThan(3);

      const loaded = await loadCheckpoint<typeof config, (typeof metrics)[number]>(store, "step-000200");
      await expectSameTensors(weights, loaded.weights);
      expect(loaded.step).toBe(200);
      expect(loaded.rng.train).toEqual(rng.getState());
      expect(new Rng(loaded.rng.train).next()).toBe(rng.next());
      expect(loaded.config).toEqual(config);
      expect(loaded.metrics).toEqual(metrics);
      expect(loaded.formatVersion).toBe(FORMAT_VERSION);
      expect(loaded.appVersion).toBe(APP_VERSION);
      expect(Number.isNaN(Date.parse(loaded.createdAt))).toBe(false);
      expect(loaded.optimizer!.className).toBe("Adam");
      expect(loaded.optimizer!.scalars).toEqual(optimizer.scalars);
      expect(loaded.optimizer!.scalars.iterations).toBe(2);
      expect([...loaded.optimizer!.slots.keys()]).toEqual([
        ...[...vars.keys()].map((k) => `${k}/m`),
        ...[...vars.keys()].map((k) => `${k}/v`),
      ]);
      await expectSameTensors(optimizer.slots, loaded.optimizer!.slots);

      disposeCheckpoint(loaded);
      disposeOptimizerState(optimizer);
      counter.dispose();
    });
  }

  it("keeps tf.memory().numTensors flat across save/load cycles", async () => {
    const store = new MemoryCheckpointStore();
    const vars = prefixNames({ dit: model.variables() });
    step(opt, model, x, y);
    const cycle = async (s: number) => {
      const optimizer = await captureOptimizerState(opt, vars);
      await saveCheckpoint(
        store,
        { step: s, weights: vars, optimizer, rng: { train: [1, 2, 3, 4] }, config: {} },
        { keep: 2 },
      );
      disposeOptimizerState(optimizer);
      const { checkpoint } = await loadLatestCheckpoint(store);
      for (const [name, v] of withoutPrefix(checkpoint!.weights, "dit")) model.variables().get(name)!.assign(v);
      await restoreOptimizerState(opt, checkpoint!.optimizer!, vars);
      disposeCheckpoint(checkpoint!);
    };
    await cycle(1);
    const before = tf.memory().numTensors;
    for (let s = 2; s <= 4; s++) await cycle(s);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("an Adam optimizer restored from a checkpoint continues with bitwise identical updates", async () => {
    // Run A never stops: 2 steps, then 3 more.
    for (let i = 0; i < 5; i++) step(opt, model, x, y);

    // Run B: 2 steps, checkpoint, then a "new process": fresh model (other init), fresh optimizer.
    const b = tinyModule(1);
    const optB = tf.train.adam(1e-2);
    for (let i = 0; i < 2; i++) step(optB, b, x, y);
    const store = new MemoryCheckpointStore();
    const bVars = prefixNames({ dit: b.variables() });
    const state = await captureOptimizerState(optB, bVars);
    await saveCheckpoint(store, {
      step: 2,
      weights: bVars,
      optimizer: state,
      rng: { train: [0, 0, 0, 1] },
      config: {},
    });
    disposeOptimizerState(state);
    b.dispose();
    optB.dispose();

    const c = tinyModule(99);
    const optC = tf.train.adam(1e-2);
    const cVars = prefixNames({ dit: c.variables() });
    const { checkpoint } = await loadLatestCheckpoint(store);
    assignWeights(c, withoutPrefix(checkpoint!.weights, "dit"));
    await restoreOptimizerState(optC, checkpoint!.optimizer!, cVars);
    disposeCheckpoint(checkpoint!);
    expect(optC.iterations).toBe(2);
    for (let i = 0; i < 3; i++) step(optC, c, x, y);

    await expectSameTensors(model.variables(), c.variables());
    c.dispose();
    optC.dispose();
  });
});

/** A checkpoint with one small weight, distinguishable by step. */
async function saveStep(store: CheckpointStore, s: number, options: { keep?: number; shardBytes?: number } = {}) {
  const w = tf.tensor1d([s, s + 0.5, -s, 1 / (s + 1), 3, 4, 5, 6, 7, 8, 9, 10]);
  try {
    return await saveCheckpoint(
      store,
      { step: s, weights: new Map([["dit.w", w]]), rng: { train: [s, 0, 0, 0] }, config: { s }, metrics: [{ s }] },
      options,
    );
  } finally {
    w.dispose();
  }
}

async function weightOf(store: CheckpointStore, id: string): Promise<number[]> {
  const c = await loadCheckpoint(store, id);
  const values = Array.from(await c.weights.get("dit.w")!.data());
  disposeCheckpoint(c);
  return values;
}

describe("pruning", () => {
  it("keeps the newest 3 by default and N when configured", async () => {
    const store = new MemoryCheckpointStore();
    for (const s of [100, 200, 300, 400, 500]) await saveStep(store, s);
    expect((await listCheckpoints(store)).map((c) => c.step)).toEqual([100, 200, 300, 400, 500]);
    expect(await pruneCheckpoints(store)).toEqual(["step-000100", "step-000200"]);
    expect((await listCheckpoints(store)).map((c) => c.step)).toEqual([300, 400, 500]);

    const other = new MemoryCheckpointStore();
    for (let s = 1; s <= 9; s++) {
      const saved = await saveStep(other, s * 1000, { keep: 5 });
      expect(saved.pruned.length).toBe(s > 5 ? 1 : 0);
    }
    expect((await listCheckpoints(other)).map((c) => c.step)).toEqual([5000, 6000, 7000, 8000, 9000]);
    await expect(pruneCheckpoints(other, 0)).rejects.toThrow(/positive/);
  });

  it("orders by step, not by name, past six digits", async () => {
    const store = new MemoryCheckpointStore();
    for (const s of [999_999, 1_000_000, 50]) await saveStep(store, s);
    await pruneCheckpoints(store, 2);
    expect((await listCheckpoints(store)).map((c) => c.id)).toEqual(["step-999999", "step-1000000"]);
  });
});

describe("corruption", () => {
  it("detects a flipped byte in a shard and loads the previous good checkpoint", async () => {
    const run = await tempDir();
    const store = await FsCheckpointStore.open(run);
    await saveStep(store, 100, { shardBytes: 16 });
    await saveStep(store, 200, { shardBytes: 16 });
    const shard = path.join(run, "checkpoints", "step-000200", "weights-001.bin");
    const bytes = await readFile(shard);
    bytes[3] ^= 0x01;
    await writeFile(shard, bytes);

    await expect(loadCheckpoint(store, "step-000200")).rejects.toMatchObject({
      code: "CHECKPOINT_CORRUPT",
      details: { file: "weights-001.bin" },
    });
    const before = tf.memory().numTensors;
    const { checkpoint, skipped } = await loadLatestCheckpoint(store);
    expect(checkpoint!.step).toBe(100);
    expect(skipped.map((s) => [s.id, s.error.code, s.error.details?.file])).toEqual([
      ["step-000200", "CHECKPOINT_CORRUPT", "weights-001.bin"],
    ]);
    expect(skipped[0].error.message).toMatch(/weights-001\.bin/);
    disposeCheckpoint(checkpoint!);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("detects a changed meta.json, a truncated shard and a missing shard", async () => {
    const store = new MemoryCheckpointStore();
    await saveStep(store, 100);
    const files = async (id: string) =>
      new Map(
        await Promise.all(["meta.json", "weights-000.bin"].map(async (f) => [f, await store.read(id, f)] as const)),
      );

    const meta = await files("step-000100");
    meta.set(
      "meta.json",
      new TextEncoder().encode(new TextDecoder().decode(meta.get("meta.json")).replace('"step":100', '"step":900')),
    );
    await store.write("step-000100", meta);
    await expect(loadCheckpoint(store, "step-000100")).rejects.toMatchObject({
      code: "CHECKPOINT_CORRUPT",
      details: { file: "meta.json" },
    });

    await saveStep(store, 100);
    const truncated = await files("step-000100");
    truncated.set("weights-000.bin", truncated.get("weights-000.bin")!.subarray(0, 8));
    await store.write("step-000100", truncated);
    await expect(loadCheckpoint(store, "step-000100")).rejects.toMatchObject({
      code: "CHECKPOINT_CORRUPT",
      details: { file: "weights-000.bin" },
    });

    await saveStep(store, 100);
    const missing = await files("step-000100");
    missing.delete("weights-000.bin");
    await store.write("step-000100", missing);
    await expect(loadCheckpoint(store, "step-000100")).rejects.toMatchObject({
      code: "CHECKPOINT_CORRUPT",
      details: { file: "weights-000.bin" },
    });
    await expect(loadCheckpoint(store, "step-000300")).rejects.toMatchObject({ code: "CHECKPOINT_NOT_FOUND" });
    expect((await loadLatestCheckpoint(store)).checkpoint).toBeNull();
  });

  it("refuses another major format version with a typed error, and accepts a newer minor one", async () => {
    const store = new MemoryCheckpointStore();
    await saveStep(store, 100);
    await saveStep(store, 200);
    const rewrite = async (version: string) => {
      const meta = JSON.parse(new TextDecoder().decode(await store.read("step-000200", "meta.json")));
      meta.formatVersion = version;
      await store.write(
        "step-000200",
        new Map([
          ["meta.json", new TextEncoder().encode(JSON.stringify(meta))],
          ["weights-000.bin", await store.read("step-000200", "weights-000.bin")],
        ]),
      );
    };
    await rewrite("2.0.0");
    await expect(loadCheckpoint(store, "step-000200")).rejects.toMatchObject({
      code: "INCOMPATIBLE_VERSION",
      recoverable: false,
    });
    const { checkpoint, skipped } = await loadLatestCheckpoint(store);
    expect(checkpoint!.step).toBe(100);
    expect(skipped[0].error.code).toBe("INCOMPATIBLE_VERSION");
    disposeCheckpoint(checkpoint!);
    // A minor bump passes the version check and is then caught by meta.json's own checksum
    // (we edited the file by hand), proving the check order: version first, then integrity.
    await rewrite("1.7.0");
    await expect(loadCheckpoint(store, "step-000200")).rejects.toMatchObject({ code: "CHECKPOINT_CORRUPT" });
  });
});

describe("failed saves", () => {
  /** Wraps a store so that writes fail the way a full disk or quota does. */
  function failingWrites(inner: CheckpointStore, error: () => unknown): CheckpointStore & { failing: boolean } {
    return {
      location: inner.location,
      failing: false,
      list: () => inner.list(),
      read: (id, f) => inner.read(id, f),
      remove: (id) => inner.remove(id),
      async write(id, files) {
        if (this.failing) throw error();
        return inner.write(id, files);
      },
    };
  }

  const quotaErrors: [string, () => unknown][] = [
    ["IndexedDB QuotaExceededError", () => new DOMException("The quota has been exceeded.", "QuotaExceededError")],
    ["Node ENOSPC", () => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" })],
  ];
  for (const [label, error] of quotaErrors) {
    it(`turns ${label} into STORAGE_QUOTA and keeps earlier checkpoints`, async () => {
      const store = failingWrites(await FsCheckpointStore.open(await tempDir()), error);
      await saveStep(store, 100);
      await saveStep(store, 200);
      const before = await listCheckpoints(store);
      store.failing = true;
      await expect(saveStep(store, 300, { keep: 1 })).rejects.toMatchObject({
        code: "STORAGE_QUOTA",
        type: "storage",
        recoverable: true,
      });
      await expect(saveStep(store, 200)).rejects.toMatchObject({ code: "STORAGE_QUOTA" });
      expect(await listCheckpoints(store)).toEqual(before);
      expect(await weightOf(store, "step-000200")).toEqual(
        await (async () => [200, 200.5, -200, 1 / 201, 3, 4, 5, 6, 7, 8, 9, 10].map(Math.fround))(),
      );
      store.failing = false;
      expect((await loadLatestCheckpoint(store)).checkpoint?.step).toBe(200);
    });
  }

  it("other write errors are STORAGE_WRITE_FAILED", async () => {
    const store = failingWrites(new MemoryCheckpointStore(), () => new Error("EIO: i/o error"));
    store.failing = true;
    await expect(saveStep(store, 1)).rejects.toMatchObject({ code: "STORAGE_WRITE_FAILED" });
  });

  it("a save killed mid-way leaves the previous checkpoints loadable (fs)", async () => {
    const run = await tempDir();
    let store = await FsCheckpointStore.open(run);
    await saveStep(store, 100);
    await saveStep(store, 200);
    const dir = path.join(run, "checkpoints");
    // What a kill leaves: a half-written temporary folder, and a re-save of step 200 caught
    // between moving the old folder aside and moving the new one in.
    await mkdir(path.join(dir, ".tmp-step-000300-123-abc-def"));
    await writeFile(path.join(dir, ".tmp-step-000300-123-abc-def", "weights-000.bin"), new Uint8Array(3));
    await rename(path.join(dir, "step-000200"), path.join(dir, ".old-step-000200-123-abc-def"));
    expect((await listCheckpoints(store)).map((c) => c.step)).toEqual([100]);

    store = await FsCheckpointStore.open(run);
    expect((await readdir(dir)).sort()).toEqual(["step-000100", "step-000200"]);
    const { checkpoint, skipped } = await loadLatestCheckpoint(store);
    expect(checkpoint!.step).toBe(200);
    expect(skipped).toEqual([]);
    disposeCheckpoint(checkpoint!);
  });

  it("a Node process killed (SIGKILL) while saving leaves a loadable latest checkpoint", async () => {
    const run = await tempDir();
    const script = path.join(run, "saver.mts");
    const lib = path.resolve(__dirname, "../../src/lib");
    // The script lives outside the project, so it names tfjs by the file Node resolves for the
    // library too (one engine), and uses the cpu backend (no wasm start-up in the child).
    const tfjsEntry = createRequire(import.meta.url).resolve("@tensorflow/tfjs");
    await writeFile(
      script,
      `import * as tf from ${JSON.stringify(tfjsEntry)};
import { saveCheckpoint } from ${JSON.stringify(path.join(lib, "storage/index.ts"))};
import { FsCheckpointStore } from ${JSON.stringify(path.join(lib, "storage/node.ts"))};
const store = await FsCheckpointStore.open(${JSON.stringify(run)});
for (let step = 1; ; step++) {
  const w = tf.fill([1 << 20], step);
  await saveCheckpoint(store, { step, weights: new Map([["dit.w", w]]), rng: {}, config: { step } }, { keep: 2, shardBytes: 1 << 20 });
  w.dispose();
}
`,
    );
    const child = spawn(process.execPath, ["--import", "tsx", script], {
      cwd: path.resolve(__dirname, "../.."),
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise((r) => child.once("exit", r));
    const dir = path.join(run, "checkpoints");
    for (let i = 0; ; i++) {
      if (child.exitCode !== null || i > 400) throw new Error(`saver did not get going: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
      const names = await readdir(dir).catch(() => [] as string[]);
      if (names.filter((n) => n.startsWith("step-")).length >= 2) break;
    }
    // Let it get into the middle of another save before the kill.
    await new Promise((r) => setTimeout(r, 30 + Math.random() * 60));
    child.kill("SIGKILL");
    await exited;

    const store = await FsCheckpointStore.open(run);
    const { checkpoint, skipped } = await loadLatestCheckpoint(store);
    expect(skipped).toEqual([]);
    expect(checkpoint!.step).toBeGreaterThanOrEqual(2);
    const w = checkpoint!.weights.get("dit.w")!;
    expect(tf.tidy(() => tf.all(tf.equal(w, checkpoint!.step)).dataSync()[0])).toBe(1);
    disposeCheckpoint(checkpoint!);
  });

  it("re-saving a step replaces it, and deleteCheckpoint removes one", async () => {
    const store = await FsCheckpointStore.open(await tempDir());
    await saveStep(store, 100);
    const w = tf.tensor1d([42]);
    await saveCheckpoint(store, { step: 100, weights: new Map([["dit.w", w]]), rng: {}, config: {} });
    w.dispose();
    expect(await weightOf(store, "step-000100")).toEqual([42]);
    await deleteCheckpoint(store, "step-000100");
    await deleteCheckpoint(store, "step-000100");
    expect(await listCheckpoints(store)).toEqual([]);
  });
});

describe("versions", () => {
  it("APP_VERSION follows package.json", async () => {
    const pkg = JSON.parse(await readFile(path.join(__dirname, "../../package.json"), "utf8"));
    expect(APP_VERSION).toBe(pkg.version);
    expect(FORMAT_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
