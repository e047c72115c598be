/**
 * The upload path in a browser (page or Web Worker): decodes an uploaded video with the browser's
 * decoder (video/ingest.browser.ts: 30 fps, 256x256 RGB), parses its action log and makes one
 * episode of them with upload.ts, capped at `MAX_UPLOAD_FRAMES`. The Data page (src/pages/data.md)
 * shows and saves the result; the training worker (src/workers/train.ts) trains on it.
 */
import { parseActionLog } from "../actions/index.js";
import { extractRgbBatches, type BrowserDecoder } from "../video/browser.js";
import { MAX_UPLOAD_FRAMES, episodeFromUpload, type UploadedEpisode } from "./upload.js";

/** What a person uploaded: a video, an action log (JSON or CSV), or both. */
export interface UploadFiles {
  video: Blob | null;
  /** Default: the File's name, else "video". */
  videoName?: string;
  log: Blob | null;
  /** Tells JSON from CSV by its extension. Default: the File's name, else "actions". */
  logName?: string;
}

export interface UploadOptions {
  /** Default `MAX_UPLOAD_FRAMES`. */
  maxFrames?: number;
  /** "webcodecs" in a worker (it has no <video> element); default "auto". */
  decoder?: BrowserDecoder;
  signal?: AbortSignal;
  /** Frames decoded of those that will be kept, both at most `maxFrames`. */
  onProgress?: (progress: { done: number; total: number }) => void;
}

const fileName = (blob: Blob, fallback: string): string =>
  typeof File !== "undefined" && blob instanceof File ? blob.name : fallback;

/** Decodes and pairs an upload (see upload.ts); the log is parsed first, so its errors come before any decoding. */
export async function uploadedEpisode(files: UploadFiles, options: UploadOptions = {}): Promise<UploadedEpisode> {
  const maxFrames = options.maxFrames ?? MAX_UPLOAD_FRAMES;
  const logName = files.log ? (files.logName ?? fileName(files.log, "actions")) : "";
  const log = files.log ? { name: logName, actions: parseActionLog(await files.log.text(), logName) } : null;
  if (!files.video) return episodeFromUpload({ video: null, log }, { maxFrames });
  let total = 0;
  const batches = extractRgbBatches(files.video, {
    decoder: options.decoder,
    signal: options.signal,
    onProgress: (p) => {
      total = p.framesTotal;
      options.onProgress?.({ done: Math.min(p.framesDone, maxFrames), total: Math.min(total, maxFrames) });
    },
  });
  const name = files.videoName ?? fileName(files.video, "video");
  return episodeFromUpload({ video: { name, batches, frames: () => total }, log }, { maxFrames });
}
