/**
 * Node side of training runs: model folders (`model.json` + shards, checksums verified on load),
 * and the latent cache in a run folder (`RUN/latents-<split>-<key>.bin`), so a resumed or repeated
 * DiT run does not re-encode its dataset.
 */
import { readFile, readdir, rm, writeFile, rename, mkdir } from "node:fs/promises";
import * as path from "node:path";
import type { DatasetReader, SplitFilter } from "../dataset.js";
import type { DiT } from "../dit.js";
import { LatentDataset, latentCacheKey } from "../latents.js";
import { loadWeightsFromDisk, writeTfjsWeightsDir } from "../storage/files.node.js";
import type { TfjsWeightsManifest } from "../storage/tfjs-manifest.js";
import type { VAE } from "../vae.js";
import type { DiTTrainSettings } from "./dit-task.js";
import { type ModelExport, ditFromWeights, vaeFromWeights } from "./export.js";

function manifestPath(dirOrFile: string): string {
  return dirOrFile.endsWith(".json") ? dirOrFile : path.join(dirOrFile, "model.json");
}

/** A VAE from a weights folder (or its model.json), every shard's SHA-256 checked. */
export async function loadVAEDir(dir: string): Promise<VAE> {
  return vaeFromWeights(await loadWeightsFromDisk(manifestPath(dir)));
}

/** A DiT and its training settings from a weights folder, every shard's SHA-256 checked. */
export async function loadDiTDir(dir: string): Promise<{ dit: DiT; settings: DiTTrainSettings }> {
  return ditFromWeights(await loadWeightsFromDisk(manifestPath(dir)));
}

/** Writes `dir/model.json` and shards for a `modelExport`. */
export async function writeModelDir(dir: string, model: ModelExport): Promise<TfjsWeightsManifest> {
  return writeTfjsWeightsDir(dir, model.weights, model.options);
}

/**
 * The split's latents under the VAE: read from `runDir` when a cache for this dataset and VAE is
 * there, else encoded (calling `onProgress`) and cached, replacing stale caches of the split.
 */
export async function loadOrEncodeLatents(
  runDir: string,
  reader: DatasetReader,
  vae: VAE,
  options: { split?: SplitFilter; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ latents: LatentDataset; cached: boolean; file: string }> {
  const split = options.split ?? "train";
  const key = await latentCacheKey(reader, vae, split);
  const prefix = `latents-${split}-`;
  const file = path.join(runDir, `${prefix}${key.slice(0, 16)}.bin`);
  try {
    const buf = await readFile(file);
    const latents = LatentDataset.fromBytes(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), key);
    if (latents) return { latents, cached: true, file };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const latents = await LatentDataset.encode(reader, vae, { split, onProgress: options.onProgress });
  await mkdir(runDir, { recursive: true });
  for (const old of await readdir(runDir)) if (old.startsWith(prefix) && old.endsWith(".bin")) await rm(path.join(runDir, old), { force: true });
  await writeFile(`${file}.tmp`, latents.toBytes(key));
  await rename(`${file}.tmp`, file);
  return { latents, cached: false, file };
}
