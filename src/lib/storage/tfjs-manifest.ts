/**
 * Weights as a TensorFlow.js weights manifest: `model.json` (`weightsManifest` + a `gamedream`
 * section with the format version, config and the SHA-256 of every shard) beside
 * `group1-shard{i}of{n}.bin` files. `tf.io.decodeWeights` / `tf.io.loadWeights` read the result,
 * and this module reads plain tfjs weight manifests too.
 */
import type * as tf from "@tensorflow/tfjs";
import { GamedreamError } from "../core/index.js";
import type { NamedTensors } from "../nn/index.js";
import { sha256Hex } from "./sha256.js";
import { decodeTensors, encodeTensors, specByteLength, splitShards } from "./tensors.js";
import { APP_VERSION, FORMAT_VERSION, assertFormatCompatible } from "./version.js";

/** tfjs's own converter cuts shards at 4 MiB; browsers and CDNs handle that size well. */
export const DEFAULT_TFJS_SHARD_BYTES = 4 * 1024 * 1024;

export interface GamedreamWeightsInfo {
  formatVersion: string;
  appVersion: string;
  /** Shard path -> lower-case hex SHA-256. */
  sha256: Record<string, string>;
  /** The model config the weights belong to (plain JSON). */
  config?: unknown;
  /** Training step the weights come from. */
  step?: number;
  /** Anything else worth keeping beside the weights (metrics summary, preset name, ...). */
  extra?: Record<string, unknown>;
}

export interface TfjsWeightsManifest {
  format: "weights-only";
  generatedBy: string;
  convertedBy: null;
  weightsManifest: tf.io.WeightsManifestConfig;
  gamedream?: GamedreamWeightsInfo;
}

export interface LoadedWeights {
  /** New tensors in manifest order; the caller disposes them. */
  weights: NamedTensors;
  /** The gamedream section, when the manifest has one. */
  info: GamedreamWeightsInfo | null;
}

/** Reads one file by URL or path (fetch in browsers; see files.node.ts `readFileBytes` in Node). */
export type ReadBytes = (urlOrPath: string) => Promise<Uint8Array>;

function corrupt(message: string, details: Record<string, unknown>): GamedreamError {
  return new GamedreamError("WEIGHTS_CORRUPT", "storage", message, { recoverable: false, details });
}

/** model.json and its shard files (file name -> bytes) for `weights`, in map order. */
export async function encodeTfjsWeights(
  weights: ReadonlyMap<string, tf.Tensor>,
  options: { config?: unknown; step?: number; extra?: Record<string, unknown>; shardBytes?: number } = {},
): Promise<{ modelJson: TfjsWeightsManifest; files: Map<string, Uint8Array> }> {
  const { specs, data } = await encodeTensors(weights);
  const shards = splitShards(data, options.shardBytes ?? DEFAULT_TFJS_SHARD_BYTES);
  const files = new Map<string, Uint8Array>();
  const sha256: Record<string, string> = {};
  for (const [i, shard] of shards.entries()) {
    const path = `group1-shard${i + 1}of${shards.length}.bin`;
    files.set(path, shard);
    sha256[path] = await sha256Hex(shard);
  }
  const modelJson: TfjsWeightsManifest = {
    format: "weights-only",
    generatedBy: `gamedream ${APP_VERSION}`,
    convertedBy: null,
    weightsManifest: [{ paths: [...files.keys()], weights: specs }],
    gamedream: {
      formatVersion: FORMAT_VERSION,
      appVersion: APP_VERSION,
      sha256,
      ...(options.config === undefined ? {} : { config: options.config }),
      ...(options.step === undefined ? {} : { step: options.step }),
      ...(options.extra === undefined ? {} : { extra: options.extra }),
    },
  };
  return { modelJson, files };
}

/**
 * Reads the shards a manifest names through `read` (relative paths as written in the manifest),
 * verifies each against its recorded SHA-256 before any tensor is made, and decodes them.
 * `requireChecksums` turns a shard without a recorded checksum into `WEIGHTS_UNVERIFIED`.
 */
export async function decodeTfjsWeights(
  modelJson: unknown,
  read: (shardPath: string) => Promise<Uint8Array>,
  options: { requireChecksums?: boolean; source?: string } = {},
): Promise<LoadedWeights> {
  const source = options.source ?? "the weights manifest";
  const manifest = modelJson as Partial<TfjsWeightsManifest> | null;
  if (!manifest || !Array.isArray(manifest.weightsManifest)) {
    throw corrupt(`${source} has no weightsManifest, so it is not a TensorFlow.js weights manifest.`, { source });
  }
  const info = manifest.gamedream ?? null;
  if (info) assertFormatCompatible(info.formatVersion, source);
  const weights: NamedTensors = new Map();
  try {
    for (const group of manifest.weightsManifest) {
      const shards: Uint8Array[] = [];
      for (const path of group.paths) {
        const expected = info?.sha256?.[path];
        if (expected === undefined && options.requireChecksums) {
          throw new GamedreamError(
            "WEIGHTS_UNVERIFIED",
            "storage",
            `${source} records no SHA-256 for ${path}, so it cannot be verified.`,
            {
              recoverable: false,
              details: { source, shard: path },
            },
          );
        }
        const bytes = await read(path);
        if (expected !== undefined) {
          const actual = await sha256Hex(bytes);
          if (actual !== expected) {
            throw corrupt(
              `Weight shard ${path} of ${source} is damaged: its SHA-256 does not match the manifest. Download or copy it again.`,
              {
                source,
                shard: path,
                expected,
                actual,
              },
            );
          }
        }
        shards.push(bytes);
      }
      const total = shards.reduce((n, s) => n + s.byteLength, 0);
      const described = group.weights.reduce((n, s) => n + specByteLength(s), 0);
      if (total !== described)
        throw corrupt(`The shards of ${source} hold ${total} bytes but the manifest describes ${described}.`, {
          source,
        });
      for (const [name, tensor] of decodeTensors(shards, group.weights)) weights.set(name, tensor);
    }
  } catch (e) {
    for (const t of weights.values()) t.dispose();
    throw e;
  }
  return { weights, info };
}

function isUrl(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(s) && !/^[a-z]:[\\/]/i.test(s);
}

/** `target` next to `manifest` (a URL or a path). */
function sibling(manifest: string, target: string): string {
  if (isUrl(manifest)) return new URL(target, manifest).href;
  const slash = Math.max(manifest.lastIndexOf("/"), manifest.lastIndexOf("\\"));
  return slash < 0 ? target : manifest.slice(0, slash + 1) + target;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) {
    throw new GamedreamError("WEIGHTS_NOT_FOUND", "storage", `Could not load ${url} (HTTP ${response.status}).`, {
      details: { url, status: response.status },
    });
  }
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * Shipped or downloaded weights: fetches `model.json` and every shard beside it, and verifies each
 * shard's SHA-256 against the manifest before any tensor exists. A mismatch is `WEIGHTS_CORRUPT`
 * naming the shard; a shard without a checksum is `WEIGHTS_UNVERIFIED`. Pass `readFile` to read
 * from somewhere other than `fetch` (Node: `readFileBytes` from files.node.ts).
 */
export async function loadWeightsWithChecksums(
  manifestUrlOrPath: string,
  options: { readFile?: ReadBytes } = {},
): Promise<LoadedWeights> {
  const read = options.readFile ?? fetchBytes;
  let modelJson: unknown;
  try {
    modelJson = JSON.parse(new TextDecoder().decode(await read(manifestUrlOrPath)));
  } catch (e) {
    if (e instanceof GamedreamError) throw e;
    throw corrupt(`${manifestUrlOrPath} could not be read as a weights manifest (${(e as Error).message}).`, {
      source: manifestUrlOrPath,
    });
  }
  return decodeTfjsWeights(modelJson, (path) => read(sibling(manifestUrlOrPath, path)), {
    requireChecksums: true,
    source: manifestUrlOrPath,
  });
}
