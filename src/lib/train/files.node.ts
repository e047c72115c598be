/**
 * Node side of training runs: writing model folders (`model.json` + shards with SHA-256; load them
 * with ../models/loader.ts), and the latent cache in a run folder (`RUN/latents-<split>-<key>.bin`),
 * so a resumed or repeated DiT run does not re-encode its dataset.
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { type DatasetReader, type SplitFilter, LatentDataset, latentCacheKey } from "../data/index.js";
import { writeTfjsWeightsDir } from "../storage/node.js";
import type { TfjsWeightsManifest } from "../storage/index.js";
import type { VAE } from "../models/index.js";
import type { ModelExport } from "./export.js";

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
  for (const old of await readdir(runDir))
    if (old.startsWith(prefix) && old.endsWith(".bin")) await rm(path.join(runDir, old), { force: true });
  await writeFile(`${file}.tmp`, latents.toBytes(key));
  await rename(`${file}.tmp`, file);
  return { latents, cached: false, file };
}
