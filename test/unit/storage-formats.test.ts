import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, describe, expect, it } from "vitest";
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensorsHeader,
  decodeTfjsWeights,
  encodeTfjsWeights,
  loadWeightsWithChecksums,
} from "../../src/lib/storage/index.js";
import {
  loadWeightsFromDisk,
  readSafetensorsFile,
  readTfjsWeightsDir,
  writeSafetensorsFile,
  writeTfjsWeightsDir,
} from "../../src/lib/storage/node.js";
import { expectSameTensors } from "../helpers/tensors.js";

function disposeAll(m: ReadonlyMap<string, tf.Tensor>): void {
  m.forEach((t) => t.dispose());
}

/** Weights with awkward values and names (a name that looks like an integer sorts first in JS objects). */
function sampleWeights(): Map<string, tf.Tensor> {
  return new Map<string, tf.Tensor>([
    [
      "blocks.0.attn.q.weight",
      tf.tensor2d([
        [1.5, -0, 3e-39],
        [Infinity, -1e30, Math.PI],
      ]),
    ],
    ["blocks.0.attn.q.bias", tf.tensor1d([NaN, 0.1, -2])],
    ["7", tf.scalar(0.25)],
    ["pos.ids", tf.tensor1d([1, -2, 2147483647], "int32")],
    ["mask", tf.tensor1d([1, 0, 1], "bool")],
    ["empty", tf.zeros([0, 4])],
  ]);
}

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), "gamedream-formats-"));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe("safetensors", () => {
  it("lays out a small tensor byte by byte as the format specifies", async () => {
    const a = tf.tensor1d([1, -2]);
    const bytes = await encodeSafetensors(new Map([["a", a]]));
    a.dispose();
    const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'; // 54 bytes
    const expected = [
      ...[56, 0, 0, 0, 0, 0, 0, 0], // u64 little-endian header length, padded to a multiple of 8
      ...Array.from(new TextEncoder().encode(header)),
      0x20,
      0x20, // two spaces of padding
      ...[0x00, 0x00, 0x80, 0x3f], // 1.0f little-endian
      ...[0x00, 0x00, 0x00, 0xc0], // -2.0f little-endian
    ];
    expect(Array.from(bytes)).toEqual(expected);
  });

  it("round-trips tensors and metadata bitwise, through a file too", async () => {
    const weights = sampleWeights();
    const metadata = { format: "pt", "gamedream.config": JSON.stringify({ hidden: 128 }) };
    const bytes = await encodeSafetensors(weights, metadata);
    const header = readSafetensorsHeader(bytes);
    expect(header.dataStart % 8).toBe(0);
    expect(header.tensors.get("pos.ids")).toEqual({ dtype: "I32", shape: [3], data_offsets: [40, 52] });
    expect(header.tensors.get("mask")!.dtype).toBe("BOOL");

    const decoded = decodeSafetensors(bytes);
    expect(decoded.metadata).toEqual(metadata);
    await expectSameTensors(weights, decoded.tensors);
    disposeAll(decoded.tensors);

    const file = path.join(await tempDir(), "sub", "model.safetensors");
    await writeSafetensorsFile(file, weights, metadata);
    const fromFile = await readSafetensorsFile(file);
    await expectSameTensors(weights, fromFile.tensors);
    disposeAll(fromFile.tensors);
    disposeAll(weights);
  });

  it("reads what PyTorch writes: F16, BF16, F64 and I64, unaligned offsets", async () => {
    // Hand-built like safetensors.torch.save_file: metadata first, tensors in any order.
    const header = JSON.stringify({
      __metadata__: { format: "pt" },
      half: { dtype: "F16", shape: [3], data_offsets: [0, 6] },
      brain: { dtype: "BF16", shape: [2], data_offsets: [6, 10] },
      double: { dtype: "F64", shape: [1], data_offsets: [10, 18] },
      long: { dtype: "I64", shape: [2], data_offsets: [18, 34] },
    });
    const data = new Uint8Array(34);
    const view = new DataView(data.buffer);
    [0x3c00, 0xc000, 0x3555].forEach((h, i) => view.setUint16(i * 2, h, true)); // 1, -2, ~1/3
    [0x3f80, 0xc0a0].forEach((h, i) => view.setUint16(6 + i * 2, h, true)); // 1, -5
    view.setFloat64(10, 0.5, true);
    view.setBigInt64(18, -7n, true);
    view.setBigInt64(26, 123456n, true);
    const json = new TextEncoder().encode(header);
    const file = new Uint8Array(8 + json.length + data.length);
    new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
    file.set(json, 8);
    file.set(data, 8 + json.length);

    const { tensors, metadata } = decodeSafetensors(file);
    expect(metadata).toEqual({ format: "pt" });
    expect(Array.from(await tensors.get("half")!.data())).toEqual([1, -2, Math.fround(0.333251953125)]);
    expect(Array.from(await tensors.get("brain")!.data())).toEqual([1, -5]);
    expect(Array.from(await tensors.get("double")!.data())).toEqual([0.5]);
    expect(tensors.get("long")!.dtype).toBe("int32");
    expect(Array.from(await tensors.get("long")!.data())).toEqual([-7, 123456]);
    disposeAll(tensors);
  });

  it("rejects damaged files with WEIGHTS_FORMAT and leaks no tensors", async () => {
    const a = tf.tensor1d([1, 2, 3]);
    const good = await encodeSafetensors(new Map([["a", a]]));
    a.dispose();
    const before = tf.memory().numTensors;
    const huge = good.slice();
    huge[5] = 1; // header length beyond the file
    const truncated = good.subarray(0, good.length - 4);
    const notJson = good.slice();
    notJson[8] = 0x78;
    for (const bad of [huge, truncated, notJson, new Uint8Array(3)]) {
      expect(() => decodeSafetensors(bad)).toThrowError(expect.objectContaining({ code: "WEIGHTS_FORMAT" }));
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("TensorFlow.js weights manifest", () => {
  it("round-trips bitwise across several shards, and tf.io.decodeWeights reads the same bytes", async () => {
    const weights = sampleWeights();
    const { modelJson, files } = await encodeTfjsWeights(weights, {
      config: { hidden: 128 },
      step: 300,
      shardBytes: 16,
    });
    expect(files.size).toBeGreaterThan(2);
    expect(modelJson.weightsManifest[0].paths).toEqual([...files.keys()]);
    expect(Object.keys(modelJson.gamedream!.sha256)).toEqual([...files.keys()]);
    expect(modelJson.gamedream!.config).toEqual({ hidden: 128 });

    const json = JSON.parse(JSON.stringify(modelJson));
    const { weights: decoded, info } = await decodeTfjsWeights(json, async (p) => files.get(p)!, {
      requireChecksums: true,
    });
    expect(info!.step).toBe(300);
    await expectSameTensors(weights, decoded);
    disposeAll(decoded);

    const all = new Uint8Array([...files.values()].reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of files.values()) {
      all.set(f, at);
      at += f.length;
    }
    const byTfjs = tf.io.decodeWeights(all.buffer, json.weightsManifest[0].weights);
    await expectSameTensors(weights, new Map([...weights.keys()].map((k) => [k, byTfjs[k]])));
    tf.dispose(Object.values(byTfjs));
    disposeAll(weights);
  });

  it("loads shipped weights only when every shard matches its checksum", async () => {
    const dir = await tempDir();
    const weights = sampleWeights();
    await writeTfjsWeightsDir(dir, weights, { shardBytes: 20 }); // 55 bytes -> 3 shards
    const loaded = await loadWeightsFromDisk(path.join(dir, "model.json"));
    await expectSameTensors(weights, loaded.weights);
    disposeAll(loaded.weights);
    const plain = await readTfjsWeightsDir(dir);
    await expectSameTensors(weights, plain.weights);
    disposeAll(plain.weights);

    const before = tf.memory().numTensors;
    const shard = path.join(dir, "group1-shard2of3.bin");
    const bytes = await readFile(shard);
    bytes[0] ^= 0x80;
    await writeFile(shard, bytes);
    await expect(loadWeightsFromDisk(path.join(dir, "model.json"))).rejects.toMatchObject({
      code: "WEIGHTS_CORRUPT",
      details: { shard: "group1-shard2of3.bin" },
    });
    await expect(readTfjsWeightsDir(dir)).rejects.toMatchObject({ code: "WEIGHTS_CORRUPT" });
    expect(tf.memory().numTensors).toBe(before);
    await expect(loadWeightsFromDisk(path.join(dir, "nope.json"))).rejects.toMatchObject({ code: "WEIGHTS_NOT_FOUND" });
    disposeAll(weights);
  });

  it("resolves shards next to a manifest URL and requires checksums", async () => {
    const w = tf.tensor1d([1, 2]);
    const { modelJson, files } = await encodeTfjsWeights(new Map([["w", w]]));
    w.dispose();
    const served = new Map<string, Uint8Array>([
      ["https://example.test/weights/model.json", new TextEncoder().encode(JSON.stringify(modelJson))],
    ]);
    for (const [p, b] of files) served.set(`https://example.test/weights/${p}`, b);
    const readFile = async (url: string) => {
      const b = served.get(url);
      if (!b) throw new Error(`404 ${url}`);
      return b;
    };
    const { weights } = await loadWeightsWithChecksums("https://example.test/weights/model.json", { readFile });
    expect(Array.from(await weights.get("w")!.data())).toEqual([1, 2]);
    disposeAll(weights);

    const unverified = { ...modelJson, gamedream: { ...modelJson.gamedream!, sha256: {} } };
    served.set("https://example.test/weights/model.json", new TextEncoder().encode(JSON.stringify(unverified)));
    await expect(
      loadWeightsWithChecksums("https://example.test/weights/model.json", { readFile }),
    ).rejects.toMatchObject({ code: "WEIGHTS_UNVERIFIED" });

    const future = { ...modelJson, gamedream: { ...modelJson.gamedream!, formatVersion: "2.0.0" } };
    await expect(decodeTfjsWeights(future, readFile)).rejects.toMatchObject({ code: "INCOMPATIBLE_VERSION" });
  });
});
