/**
 * Decoded frames kept between visits in the Cache API (so re-opening a video need not decode it
 * again), bounded: at most 500 MB, and nothing older than 7 days, so a cache of decoded video never crowds out a person's disk. Entries are
 * Responses under made-up same-origin URLs that are never fetched, so the service worker never
 * sees them; each records when it was stored. Over the limit, the oldest entries go first.
 */
import type { VideoInfo } from "../video/index.js";
import type { BrowserIngestOptions } from "../video/browser.js";

export const FRAME_CACHE_NAME = "gamedream-frames";
export const FRAME_CACHE_LIMIT_BYTES = 500 * 1024 * 1024;
export const FRAME_CACHE_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

const STORED_AT = "x-gamedream-stored-at";
const KEY_PATH = "/__gamedream/frames/";

export interface FrameCacheEntry {
  key: string;
  bytes: number;
  /** Milliseconds since the epoch. */
  storedAt: number;
}

export interface FrameCacheOptions {
  name?: string;
  limitBytes?: number;
  maxAgeMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export interface EnforceResult {
  expired: string[];
  evicted: string[];
  /** Bytes left in the cache. */
  bytes: number;
}

export class FrameCache {
  readonly limitBytes: number;
  readonly maxAgeMs: number;
  private readonly now: () => number;

  private constructor(
    private readonly cache: Cache,
    options: FrameCacheOptions,
  ) {
    this.limitBytes = options.limitBytes ?? FRAME_CACHE_LIMIT_BYTES;
    this.maxAgeMs = options.maxAgeMs ?? FRAME_CACHE_MAX_AGE_MS;
    this.now = options.now ?? Date.now;
  }

  static async open(options: FrameCacheOptions = {}): Promise<FrameCache> {
    return new FrameCache(await caches.open(options.name ?? FRAME_CACHE_NAME), options);
  }

  private url(key: string): string {
    return new URL(KEY_PATH + encodeURIComponent(key), location.origin).href;
  }

  /** Stores `bytes` under `key` (replacing it), then trims the cache to its limits. */
  async put(key: string, bytes: Uint8Array): Promise<EnforceResult> {
    const headers = {
      "content-type": "application/octet-stream",
      "content-length": String(bytes.byteLength),
      [STORED_AT]: String(this.now()),
    };
    await this.cache.put(this.url(key), new Response(bytes.slice().buffer as ArrayBuffer, { headers }));
    return this.enforce();
  }

  /** The bytes under `key`, or null when absent or expired (an expired entry is deleted). */
  async get(key: string): Promise<Uint8Array | null> {
    const response = await this.cache.match(this.url(key));
    if (!response) return null;
    if (this.now() - Number(response.headers.get(STORED_AT)) > this.maxAgeMs) {
      await this.cache.delete(this.url(key));
      return null;
    }
    return new Uint8Array(await response.arrayBuffer());
  }

  /** Every entry, oldest first. */
  async entries(): Promise<FrameCacheEntry[]> {
    const out: FrameCacheEntry[] = [];
    for (const request of await this.cache.keys()) {
      const response = await this.cache.match(request);
      if (!response) continue;
      const path = new URL(request.url).pathname;
      out.push({
        key: decodeURIComponent(path.slice(KEY_PATH.length)),
        bytes: Number(response.headers.get("content-length")),
        storedAt: Number(response.headers.get(STORED_AT)),
      });
    }
    return out.sort((a, b) => a.storedAt - b.storedAt);
  }

  async usage(): Promise<{ entries: number; bytes: number }> {
    const all = await this.entries();
    return { entries: all.length, bytes: all.reduce((n, e) => n + e.bytes, 0) };
  }

  /** Deletes expired entries, then the oldest until the total fits `limitBytes`. */
  async enforce(): Promise<EnforceResult> {
    const now = this.now();
    const expired: string[] = [];
    const evicted: string[] = [];
    const kept: FrameCacheEntry[] = [];
    for (const e of await this.entries()) {
      if (now - e.storedAt > this.maxAgeMs) {
        await this.cache.delete(this.url(e.key));
        expired.push(e.key);
      } else kept.push(e);
    }
    let bytes = kept.reduce((n, e) => n + e.bytes, 0);
    for (const e of kept) {
      if (bytes <= this.limitBytes) break;
      await this.cache.delete(this.url(e.key));
      evicted.push(e.key);
      bytes -= e.bytes;
    }
    return { expired, evicted, bytes };
  }

  async clear(): Promise<void> {
    for (const request of await this.cache.keys()) await this.cache.delete(request);
  }
}

/** The cache key of a video file: its name, size and modification time. */
export function videoCacheKey(file: File): string {
  return `${file.name}:${file.size}:${file.lastModified}`;
}

/**
 * Decodes a video (../video/browser.ts `collectRgbFrames`: validated, 30 fps, 256x256 RGB) and keeps
 * its frames in the frame cache under `videoCacheKey(file)`. The decoder (mediabunny) is loaded on
 * first use: it is large and most visits decode nothing. Returns the frame count and the probed video.
 */
export async function decodeIntoFrameCache(
  file: File,
  options: BrowserIngestOptions = {},
): Promise<{ frames: number; info: VideoInfo }> {
  const { collectRgbFrames } = await import("../video/browser.js");
  const { info, frames } = await collectRgbFrames(file, options);
  const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  frames.reduce((offset, f) => (all.set(f, offset), offset + f.length), 0);
  const cache = await FrameCache.open();
  await cache.put(videoCacheKey(file), all);
  return { frames: frames.length, info };
}
