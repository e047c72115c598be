/**
 * A dataset's frames encoded once by the VAE into scaled latents, so DiT training samples latent
 * clips from memory instead of running the VAE encoder on every step. The encoding can be saved as
 * bytes (Node: ../train/files.node.ts caches it in the run folder) under a key that changes whenever the
 * dataset or the VAE weights change.
 *
 * Action convention for the DiT (shared with every rollout): frame t is conditioned on the action
 * whose effect it shows, i.e. the action held on frame t-1 (the dataset stores `actions[t]` as
 * the input held while frame t was on screen). The first frame of an episode gets NO_ACTION.
 */
import * as tf from "@tensorflow/tfjs";
import { ACTION_DIM, NO_ACTION, encodeActionInto } from "../actions/index.js";
import type { DatasetReader, SplitFilter } from "./dataset.js";
import { GamedreamError, FRAME_CHANNELS, FRAME_SIZE, rgbToUnit, type Rng } from "../core/index.js";
import { sha256Hex, encodeTensors } from "../storage/index.js";
import type { VAE } from "../models/index.js";

const FORMAT = "gamedream-latents";
const VERSION = 1;

/** A batch of latent clips: `latents [B, T, h, w, c]` (scaled), `actions [B, T, A]` (conditioning). */
export interface LatentClipBatch {
  latents: tf.Tensor5D;
  actions: tf.Tensor3D;
}

/** Where latent clips come from (`LatentDataset` below, or a test's synthetic data). */
export interface LatentClipSource {
  sampleClips(rng: Rng, batchSize: number, clipLength: number): LatentClipBatch;
}

export interface LatentEpisode {
  id: string;
  frameCount: number;
  /** Scaled latents `[frameCount, h, w, c]`. */
  latents: Float32Array;
  /** Conditioning actions `[frameCount, ACTION_DIM]` (see the convention above). */
  actions: Float32Array;
}

/**
 * Conditioning actions for frames `[frames, A]` from the actions held on them `[frames, A]`:
 * row t is row t-1 of the input, row 0 is NO_ACTION.
 */
export function conditioningActions(held: Float32Array, frames: number): Float32Array {
  const out = new Float32Array(frames * ACTION_DIM);
  encodeActionInto(NO_ACTION, out, 0);
  out.set(held.subarray(0, (frames - 1) * ACTION_DIM), ACTION_DIM);
  return out;
}

export class LatentDataset implements LatentClipSource {
  readonly frameSize: number;
  private readonly windowsCache = new Map<number, { episodes: LatentEpisode[]; windows: number[]; total: number }>();

  constructor(
    /** Latent frame shape `[h, w, c]`. */
    readonly shape: [number, number, number],
    readonly episodes: LatentEpisode[],
  ) {
    this.frameSize = shape[0] * shape[1] * shape[2];
  }

  get frameCount(): number {
    return this.episodes.reduce((n, e) => n + e.frameCount, 0);
  }

  /**
   * Encodes every frame of `split` with `vae.encodeScaled` (posterior means), `batchSize` frames
   * at a time. `onProgress(framesDone, framesTotal)` after each batch.
   */
  static async encode(
    reader: DatasetReader,
    vae: VAE,
    options: { split?: SplitFilter; batchSize?: number; onProgress?: (done: number, total: number) => void } = {},
  ): Promise<LatentDataset> {
    const entries = reader.episodes(options.split ?? "train");
    const total = entries.reduce((n, e) => n + e.frameCount, 0);
    const batchSize = options.batchSize ?? 8;
    let shape: [number, number, number] | null = null;
    let done = 0;
    const episodes: LatentEpisode[] = [];
    for (const e of entries) {
      const parts: Float32Array[] = [];
      for (let start = 0; start < e.frameCount; start += batchSize) {
        const n = Math.min(batchSize, e.frameCount - start);
        const rgb = await reader.readFrames(e.id, start, n);
        const z = tf.tidy(() =>
          vae.encodeScaled(tf.tensor4d(rgbToUnit(rgb), [n, FRAME_SIZE, FRAME_SIZE, FRAME_CHANNELS])),
        );
        shape ??= [z.shape[1], z.shape[2], z.shape[3]];
        parts.push((await z.data()) as Float32Array);
        z.dispose();
        done += n;
        options.onProgress?.(done, total);
      }
      const latents = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
      let offset = 0;
      for (const p of parts) {
        latents.set(p, offset);
        offset += p.length;
      }
      episodes.push({
        id: e.id,
        frameCount: e.frameCount,
        latents,
        actions: conditioningActions(await reader.readActions(e.id), e.frameCount),
      });
    }
    if (!shape)
      throw new GamedreamError(
        "DATASET_EMPTY",
        "dataset",
        `The ${options.split ?? "train"} split has no frames to encode.`,
      );
    return new LatentDataset(shape, episodes);
  }

  private windows(clipLength: number) {
    let w = this.windowsCache.get(clipLength);
    if (!w) {
      const episodes = this.episodes.filter((e) => e.frameCount >= clipLength);
      const windows = episodes.map((e) => e.frameCount - clipLength + 1);
      w = { episodes, windows, total: windows.reduce((a, b) => a + b, 0) };
      this.windowsCache.set(clipLength, w);
    }
    if (w.total === 0) {
      throw new GamedreamError(
        "DATASET_CLIP_TOO_LONG",
        "dataset",
        `No episode has ${clipLength} frames; use shorter clips or longer episodes.`,
      );
    }
    return w;
  }

  /** `batchSize` clips drawn uniformly over every window of `clipLength` frames (with replacement). */
  sampleClips(rng: Rng, batchSize: number, clipLength: number): LatentClipBatch {
    const { episodes, windows, total } = this.windows(clipLength);
    const [h, w, c] = this.shape;
    const latents = new Float32Array(batchSize * clipLength * this.frameSize);
    const actions = new Float32Array(batchSize * clipLength * ACTION_DIM);
    for (let b = 0; b < batchSize; b++) {
      let k = rng.int(total);
      let i = 0;
      while (k >= windows[i]) k -= windows[i++];
      const e = episodes[i];
      latents.set(
        e.latents.subarray(k * this.frameSize, (k + clipLength) * this.frameSize),
        b * clipLength * this.frameSize,
      );
      actions.set(e.actions.subarray(k * ACTION_DIM, (k + clipLength) * ACTION_DIM), b * clipLength * ACTION_DIM);
    }
    return {
      latents: tf.tensor5d(latents, [batchSize, clipLength, h, w, c]),
      actions: tf.tensor3d(actions, [batchSize, clipLength, ACTION_DIM]),
    };
  }

  /** One binary blob: a length-prefixed JSON header, then every episode's latents and actions. */
  toBytes(key: string): Uint8Array {
    const header = new TextEncoder().encode(
      JSON.stringify({
        format: FORMAT,
        version: VERSION,
        key,
        shape: this.shape,
        episodes: this.episodes.map((e) => ({ id: e.id, frameCount: e.frameCount })),
      }),
    );
    const floats = this.episodes.reduce((n, e) => n + e.latents.length + e.actions.length, 0);
    const bytes = new Uint8Array(4 + header.length + floats * 4);
    new DataView(bytes.buffer).setUint32(0, header.length, true);
    bytes.set(header, 4);
    // Float32 data in the platform's byte order is little-endian on every host tfjs supports.
    let offset = 4 + header.length;
    for (const e of this.episodes) {
      for (const arr of [e.latents, e.actions]) {
        bytes.set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength), offset);
        offset += arr.byteLength;
      }
    }
    return bytes;
  }

  /** Reads `toBytes` output; null when it was written for another key (stale) or is unreadable. */
  static fromBytes(bytes: Uint8Array, key: string): LatentDataset | null {
    try {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const headerLength = view.getUint32(0, true);
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + headerLength)));
      if (header.format !== FORMAT || header.version !== VERSION || header.key !== key) return null;
      const shape = header.shape as [number, number, number];
      const frameSize = shape[0] * shape[1] * shape[2];
      const data = bytes.slice(4 + headerLength);
      const floats = new Float32Array(data.buffer, 0, data.byteLength / 4);
      let offset = 0;
      const episodes: LatentEpisode[] = [];
      for (const { id, frameCount } of header.episodes as { id: string; frameCount: number }[]) {
        const latents = floats.subarray(offset, offset + frameCount * frameSize);
        offset += frameCount * frameSize;
        const actions = floats.subarray(offset, offset + frameCount * ACTION_DIM);
        offset += frameCount * ACTION_DIM;
        episodes.push({ id, frameCount, latents, actions });
      }
      if (offset !== floats.length) return null;
      return new LatentDataset(shape, episodes);
    } catch {
      return null;
    }
  }
}

/**
 * Key of an encoding: SHA-256 over the dataset's shard checksums, the split, the VAE config and
 * the VAE's weight bytes. Any change to data or encoder gives a new key. The checksums are the
 * ones `DatasetReader.open` verified against the shards' bytes, so cached latents are keyed by
 * the data they really came from.
 */
export async function latentCacheKey(reader: DatasetReader, vae: VAE, split: SplitFilter = "train"): Promise<string> {
  const { data } = await encodeTensors(vae.variables());
  const head = new TextEncoder().encode(
    JSON.stringify({ shards: reader.manifest.shards.map((s) => s.sha256), split, config: vae.config }),
  );
  const all = new Uint8Array(head.length + data.length);
  all.set(head);
  all.set(data, head.length);
  return sha256Hex(all);
}
