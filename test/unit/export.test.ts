import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { ACTION_DIM } from "../../src/lib/actions/index.js";
import {
  DatasetReader,
  MemoryDatasetStore,
  buildDataset,
  gameEpisodeSources,
  bundleToTar,
  datasetActionsJson,
  exportDataset,
  exportRun,
  importRun,
  tarToFiles,
} from "../../src/lib/data/index.js";
import { createDiT, type DiTConfig } from "../../src/lib/models/index.js";
import { gaussianNoise } from "../../src/lib/nn/index.js";
import {
  MemoryCheckpointStore,
  assignWeights,
  disposeCheckpoint,
  loadLatestCheckpoint,
  prefixNames,
  saveCheckpoint,
  withoutPrefix,
} from "../../src/lib/storage/index.js";
import { tinyDiTConfig } from "../helpers/tiny-models.js";

const TINY = tinyDiTConfig();

/** The model's prediction on fixed inputs: `[1, 2, 4, 4, 2]` flattened. */
function outputs(model: ReturnType<typeof createDiT>): Float32Array {
  return tf.tidy(() => {
    const x = gaussianNoise([1, 2, 4, 4, 2], 7) as tf.Tensor5D;
    const levels = tf.tensor2d([[0.1, 0.7]]);
    const actions = gaussianNoise([1, 2, ACTION_DIM], 8) as tf.Tensor3D;
    return model.forward(x, levels, actions).prediction.dataSync() as Float32Array;
  });
}

describe("run export", () => {
  it("an exported run imports and gives the same outputs", async () => {
    const model = createDiT(TINY, 1);
    // adaLN-Zero starts at zero output: move every weight so the comparison means something.
    for (const [i, v] of [...model.variables().values()].entries())
      v.assign(tf.tidy(() => v.add(gaussianNoise(v.shape, 100 + i).mul(0.2))));
    const before = outputs(model);
    const store = new MemoryCheckpointStore();
    const metrics = [
      { step: 5, loss: 0.5 },
      { step: 10, loss: Number.NaN },
    ];
    await saveCheckpoint(store, {
      step: 5,
      weights: prefixNames({ dit: model.variables() }),
      rng: {},
      config: { dit: TINY },
      metrics: metrics.slice(0, 1),
    });
    await saveCheckpoint(store, {
      step: 10,
      weights: prefixNames({ dit: model.variables() }),
      rng: {},
      config: { dit: TINY },
      metrics,
    });

    const bundle = await exportRun(store, "my run");
    expect(bundle.name).toBe("gamedream-run-my_run-step-000010");
    expect([...bundle.files.keys()].slice(0, 4)).toEqual(["run.json", "config.json", "metrics.json", "model.json"]);
    const files = tarToFiles(bundleToTar(bundle));

    const imported = new MemoryCheckpointStore();
    const result = await importRun(files, imported);
    expect(result.info).toMatchObject({ run: "my run", step: 10, checkpoint: "step-000010" });
    const { checkpoint } = await loadLatestCheckpoint<{ dit: DiTConfig }, { loss: number | null }>(imported);
    expect(checkpoint!.metrics).toEqual([
      { step: 5, loss: 0.5 },
      { step: 10, loss: null },
    ]);
    const restored = createDiT(checkpoint!.config.dit, 2);
    expect(Array.from(outputs(restored))).not.toEqual(Array.from(before)); // a fresh model differs
    assignWeights(restored, withoutPrefix(checkpoint!.weights, "dit"));
    disposeCheckpoint(checkpoint!);
    expect(Array.from(outputs(restored))).toEqual(Array.from(before));
    model.dispose();
    restored.dispose();
  });

  it("a damaged shard, a missing file or another format is refused with a typed error", async () => {
    const model = createDiT(TINY, 1);
    const store = new MemoryCheckpointStore();
    await saveCheckpoint(store, { step: 1, weights: prefixNames({ dit: model.variables() }), rng: {}, config: {} });
    model.dispose();
    const files = (await exportRun(store, "r")).files;
    const shard = [...files.keys()].find((k) => k.endsWith(".bin"))!;
    const damaged = new Map(files);
    damaged.set(shard, files.get(shard)!.slice().fill(1, 0, 8));
    await expect(importRun(damaged, new MemoryCheckpointStore())).rejects.toMatchObject({ code: "WEIGHTS_CORRUPT" });
    const missing = new Map(files);
    missing.delete(shard);
    await expect(importRun(missing, new MemoryCheckpointStore())).rejects.toMatchObject({ code: "IMPORT_INCOMPLETE" });
    const other = new Map(files);
    other.set("run.json", new TextEncoder().encode('{"format":"something"}'));
    await expect(importRun(other, new MemoryCheckpointStore())).rejects.toMatchObject({ code: "IMPORT_NOT_A_RUN" });
    await expect(exportRun(new MemoryCheckpointStore(), "empty")).rejects.toMatchObject({ code: "EXPORT_EMPTY" });
  });
});

describe("dataset export", () => {
  it("exports frames + actions that read back identically, and actions + metadata as JSON", async () => {
    const store = new MemoryDatasetStore();
    await buildDataset(store, gameEpisodeSources({ seed: 3, episodes: 2, frames: 6 }), { heldoutFraction: 0.5 });
    const bundle = await exportDataset(store, "demo");
    const files = tarToFiles(bundleToTar(bundle));
    const copy = new MemoryDatasetStore();
    for (const [name, bytes] of files) if (name.endsWith(".bin")) copy.shards.set(name, bytes);
    await copy.writeManifest(JSON.parse(new TextDecoder().decode(files.get("manifest.json"))));
    const a = await DatasetReader.open(store);
    const b = await DatasetReader.open(copy);
    for (const e of a.episodes()) {
      expect(Array.from(await b.readFrames(e.id))).toEqual(Array.from(await a.readFrames(e.id)));
      expect(await b.readEpisodeActions(e.id)).toEqual(await a.readEpisodeActions(e.id));
    }
    const actions = JSON.parse(new TextDecoder().decode(files.get("actions.json")));
    expect(actions).toEqual(JSON.parse(JSON.stringify(await datasetActionsJson(store))));
    expect(actions.episodes).toHaveLength(2);
    expect(actions.episodes[0].actions).toHaveLength(6);
    expect(actions.episodes.map((e: { split: string }) => e.split).sort()).toEqual(["heldout", "train"]);
    expect(actions.episodes[0].actions[0]).toHaveProperty("movement");
  });
});
