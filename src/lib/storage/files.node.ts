/**
 * Node helpers around the host-independent exporters: read bytes from paths or URLs, write and
 * read a TensorFlow.js weights folder and a safetensors file.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type * as tf from "@tensorflow/tfjs";
import { GamedreamError } from "../core/index.js";
import type { NamedTensors } from "../nn/index.js";
import { decodeSafetensors, encodeSafetensors } from "./safetensors.js";
import {
  type LoadedWeights,
  type TfjsWeightsManifest,
  decodeTfjsWeights,
  encodeTfjsWeights,
  loadWeightsWithChecksums,
} from "./tfjs-manifest.js";

/** Bytes of a file path, a `file:` URL or an http(s) URL; a missing file is `WEIGHTS_NOT_FOUND`. */
export async function readFileBytes(pathOrUrl: string): Promise<Uint8Array> {
  if (/^https?:/i.test(pathOrUrl)) {
    const response = await fetch(pathOrUrl);
    if (!response.ok) {
      throw new GamedreamError(
        "WEIGHTS_NOT_FOUND",
        "storage",
        `Could not load ${pathOrUrl} (HTTP ${response.status}).`,
        { details: { url: pathOrUrl } },
      );
    }
    return new Uint8Array(await response.arrayBuffer());
  }
  const file = pathOrUrl.startsWith("file:") ? fileURLToPath(pathOrUrl) : pathOrUrl;
  try {
    const buf = await readFile(file);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      throw new GamedreamError("WEIGHTS_NOT_FOUND", "storage", `There is no file ${file}.`, {
        details: { path: file },
        cause: e,
      });
    }
    throw e;
  }
}

/** Writes through a temporary name and a rename, so readers never see half a file. */
async function writeFileAtomic(file: string, bytes: Uint8Array): Promise<void> {
  const temp = `${file}.tmp-${process.pid}`;
  await writeFile(temp, bytes);
  await rename(temp, file);
}

/** Writes `dir/model.json` and its shards (shards first, so the manifest never names a missing one). */
export async function writeTfjsWeightsDir(
  dir: string,
  weights: ReadonlyMap<string, tf.Tensor>,
  options: Parameters<typeof encodeTfjsWeights>[1] = {},
): Promise<TfjsWeightsManifest> {
  const { modelJson, files } = await encodeTfjsWeights(weights, options);
  await mkdir(dir, { recursive: true });
  for (const [name, bytes] of files) await writeFileAtomic(path.join(dir, name), bytes);
  await writeFileAtomic(path.join(dir, "model.json"), new TextEncoder().encode(JSON.stringify(modelJson, null, 1)));
  return modelJson;
}

/**
 * Reads `model.json` (a folder holding one, or the file itself) and its shards, verifying every
 * checksum the manifest records. For shipped weights, where a checksum is mandatory, use
 * `loadWeightsFromDisk`.
 */
export async function readTfjsWeightsDir(dirOrModelJson: string): Promise<LoadedWeights> {
  const modelJsonPath = dirOrModelJson.endsWith(".json") ? dirOrModelJson : path.join(dirOrModelJson, "model.json");
  const modelJson: unknown = JSON.parse(new TextDecoder().decode(await readFileBytes(modelJsonPath)));
  return decodeTfjsWeights(modelJson, (shard) => readFileBytes(path.join(path.dirname(modelJsonPath), shard)), {
    source: modelJsonPath,
  });
}

/** `loadWeightsWithChecksums` for a path or URL in Node (every shard must have a matching SHA-256). */
export async function loadWeightsFromDisk(modelJsonPathOrUrl: string): Promise<LoadedWeights> {
  return loadWeightsWithChecksums(modelJsonPathOrUrl, { readFile: readFileBytes });
}

export async function writeSafetensorsFile(
  file: string,
  tensors: ReadonlyMap<string, tf.Tensor>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, await encodeSafetensors(tensors, metadata));
}

export async function readSafetensorsFile(
  file: string,
): Promise<{ tensors: NamedTensors; metadata: Record<string, string> }> {
  return decodeSafetensors(await readFileBytes(file));
}
