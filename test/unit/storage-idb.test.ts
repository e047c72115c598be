// IndexedDB in Node through fake-indexeddb (in this file only); real Chromium is the e2e suite's job.
import "fake-indexeddb/auto";
import * as tf from "@tensorflow/tfjs";
import { afterEach, describe, expect, it } from "vitest";
import {
  disposeCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  loadLatestCheckpoint,
  saveCheckpoint,
  type CheckpointStore,
} from "../../src/lib/storage/index.js";
import { IdbCheckpointStore } from "../../src/lib/storage/browser.js";

let dbCount = 0;
const open: IdbCheckpointStore[] = [];
async function freshStore(run = "run-a", dbName = `gamedream-test-${dbCount++}`): Promise<IdbCheckpointStore> {
  const store = await IdbCheckpointStore.open(run, dbName);
  open.push(store);
  return store;
}
afterEach(() => {
  open.splice(0).forEach((s) => s.close());
});

async function saveStep(
  store: CheckpointStore,
  step: number,
  values: number[],
  options: { keep?: number; shardBytes?: number } = {},
) {
  const w = tf.tensor1d(values);
  try {
    return await saveCheckpoint(
      store,
      {
        step,
        weights: new Map([["dit.w", w]]),
        rng: { train: [step, 1, 2, 3] },
        config: { step },
        metrics: [{ loss: 1 / step }],
      },
      options,
    );
  } finally {
    w.dispose();
  }
}

async function valuesOf(store: CheckpointStore, id: string): Promise<number[]> {
  const c = await loadCheckpoint(store, id);
  const v = Array.from(await c.weights.get("dit.w")!.data());
  disposeCheckpoint(c);
  return v;
}

describe("IndexedDB checkpoint store", () => {
  it("saves, lists, reloads (a new connection, as after a page reload) and prunes", async () => {
    const store = await freshStore("run-a", "gamedream-reload");
    for (const s of [100, 200, 300, 400]) await saveStep(store, s, [s, -s, 0.1], { keep: 3, shardBytes: 8 });
    store.close();

    const reopened = await freshStore("run-a", "gamedream-reload");
    expect((await listCheckpoints(reopened)).map((c) => c.id)).toEqual(["step-000200", "step-000300", "step-000400"]);
    const { checkpoint, skipped } = await loadLatestCheckpoint(reopened);
    expect(skipped).toEqual([]);
    expect(checkpoint!.step).toBe(400);
    expect(checkpoint!.rng.train).toEqual([400, 1, 2, 3]);
    expect(checkpoint!.metrics).toEqual([{ loss: 1 / 400 }]);
    expect(Array.from(await checkpoint!.weights.get("dit.w")!.data())).toEqual([400, -400, Math.fround(0.1)]);
    disposeCheckpoint(checkpoint!);

    // Runs are separate, and can be listed and deleted as a whole.
    const other = await freshStore("run-b", "gamedream-reload");
    await saveStep(other, 5, [5]);
    expect((await listCheckpoints(other)).map((c) => c.step)).toEqual([5]);
    const runs = await IdbCheckpointStore.listRuns("gamedream-reload");
    expect(runs.map((r) => [r.run, r.checkpoints])).toEqual([
      ["run-a", 3],
      ["run-b", 1],
    ]);
    await IdbCheckpointStore.deleteRun("run-a", "gamedream-reload");
    expect(await listCheckpoints(reopened)).toEqual([]);
    expect((await listCheckpoints(other)).length).toBe(1);
  });

  it("stores each shard compactly, not the whole buffer it was cut from", async () => {
    const store = await freshStore();
    const saved = await saveStep(
      store,
      1,
      Array.from({ length: 64 }, (_, i) => i),
      { shardBytes: 32 },
    );
    expect(saved.shards.length).toBe(8);
    const shard = await store.read("step-000001", "weights-003.bin");
    expect(shard.byteLength).toBe(32);
    expect(shard.buffer.byteLength).toBe(32);
  });

  it("falls back to the previous checkpoint when a shard is corrupt", async () => {
    const store = await freshStore();
    await saveStep(store, 100, [1, 2, 3]);
    await saveStep(store, 200, [4, 5, 6]);
    const shard = await store.read("step-000200", "weights-000.bin");
    shard[2] ^= 0x10;
    await store.write(
      "step-000200",
      new Map([
        ["meta.json", await store.read("step-000200", "meta.json")],
        ["weights-000.bin", shard],
      ]),
    );
    const { checkpoint, skipped } = await loadLatestCheckpoint(store);
    expect(checkpoint!.step).toBe(100);
    expect(skipped.map((s) => [s.id, s.error.code, s.error.details?.file])).toEqual([
      ["step-000200", "CHECKPOINT_CORRUPT", "weights-000.bin"],
    ]);
    disposeCheckpoint(checkpoint!);
  });

  it("a quota error mid-transaction is STORAGE_QUOTA and rolls back completely", async () => {
    const store = await freshStore();
    await saveStep(store, 100, [1, 2, 3, 4], { shardBytes: 4 });
    await saveStep(store, 200, [5, 6, 7, 8], { shardBytes: 4 });
    const before = await listCheckpoints(store);

    // The third put of the next save fails the way a full origin quota does.
    const proto = globalThis.IDBObjectStore.prototype;
    const put = proto.put;
    let calls = 0;
    proto.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore["put"]>) {
      if (++calls === 3) throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
      return put.apply(this, args);
    };
    try {
      // Re-saving step 200 first deletes its old files in the same transaction: the rollback must restore them.
      await expect(saveStep(store, 200, [9, 9, 9, 9], { shardBytes: 4 })).rejects.toMatchObject({
        code: "STORAGE_QUOTA",
        recoverable: true,
      });
      calls = 0;
      await expect(saveStep(store, 300, [9, 9, 9, 9], { shardBytes: 4 })).rejects.toMatchObject({
        code: "STORAGE_QUOTA",
      });
    } finally {
      proto.put = put;
    }
    expect(await listCheckpoints(store)).toEqual(before);
    expect(await valuesOf(store, "step-000200")).toEqual([5, 6, 7, 8]);
    expect(await valuesOf(store, "step-000100")).toEqual([1, 2, 3, 4]);
  });
});
