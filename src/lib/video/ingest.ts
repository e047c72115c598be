/**
 * The host-independent half of video ingestion: given a probed video and its decoded frames in
 * presentation order (ffmpeg in Node, WebCodecs or <video> in the browser), resample to 30 fps at
 * frame centres, resize to 256x256 and hand frames on in batches, never holding more than one
 * batch plus one source frame. Both hosts build their public API with `makeIngestApi`, so
 * `probeVideo`, `ingestVideo` and `collectRgbFrames` have one shape everywhere.
 */
import * as tf from "@tensorflow/tfjs";
import { videoErrors, throwIfAborted } from "./errors.js";
import { FrameCentreResampler, TARGET_FPS, outputFrameCount } from "./resample.js";
import { FRAME_SIZE, RGB_FRAME_BYTES, rgbClipToTensor } from "../core/index.js";
import { createResizer, type Fit, type Resizer } from "./resize.js";
import { VIDEO_LIMITS, type Container, type VideoCodecName, type VideoLimits } from "./validate.js";

/** What `probeVideo` learns before decoding. */
export interface VideoInfo {
  name: string;
  byteLength: number;
  container: Container;
  codec: VideoCodecName;
  /** Displayed size of a decoded frame. */
  width: number;
  height: number;
  /** Average source frame rate. */
  fps: number;
  durationS: number;
  /** Frames the 30 fps output will have: `outputFrameCount(durationS)`. */
  frameCount30: number;
}

export interface IngestProgress {
  framesDone: number;
  framesTotal: number;
  /** 0..1 */
  fraction: number;
}

export interface IngestOptions {
  /** `letterbox` (default: whole picture, black bars) or `crop` (centre crop); see resize.ts. */
  fit?: Fit;
  /** Frames per batch (default 16). */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: IngestProgress) => void;
  limits?: Partial<VideoLimits>;
}

/** One batch as bytes: `rgb` holds `[count, 256, 256, 3]` RGB in 0..255, row-major. */
export interface RgbBatch {
  rgb: Uint8Array;
  count: number;
  /** Index of the first frame in the 30 fps output. */
  startIndex: number;
}

/** One batch as the model wants it: `frames` is `[count, 256, 256, 3]` float32 in [-1, 1]; the caller disposes it. */
export interface FrameBatch {
  frames: tf.Tensor4D;
  count: number;
  startIndex: number;
}

/**
 * A decoded source frame, handed over by a host decoder. A host that scales natively (ffmpeg)
 * hands over 256x256 RGB already fitted, which is copied as is; anything else goes through the
 * resizer.
 */
export interface DecodedFrame {
  timestampS: number;
  /** How long the frame shows; the last frame's end closes the clip. Default: 1 / source fps. */
  durationS?: number;
  width: number;
  height: number;
  channels: 3 | 4;
  /** Bytes per row. */
  stride: number;
  /** Pixels, fetched only for frames the resampler keeps (copying out of a VideoFrame costs). */
  pixels(): Uint8Array | Uint8ClampedArray | Promise<Uint8Array | Uint8ClampedArray>;
  /** Returns the frame's memory to its decoder. */
  close(): void;
}

/** What a host supplies: probing (validation included) and a decoder. */
export interface IngestHost<S> {
  probe(source: S, options: IngestOptions): Promise<VideoInfo>;
  decode(source: S, info: VideoInfo, options: IngestOptions): AsyncIterable<DecodedFrame>;
}

export const DEFAULT_BATCH_SIZE = 16;

export function resolveLimits(limits?: Partial<VideoLimits>): VideoLimits {
  return { ...VIDEO_LIMITS, ...limits };
}

/** Builds `VideoInfo` from the facts a host's prober found. */
export function videoInfo(facts: Omit<VideoInfo, "frameCount30">): VideoInfo {
  return { ...facts, frameCount30: outputFrameCount(facts.durationS, TARGET_FPS) };
}

/**
 * Decoded source frames -> 30 fps, 256x256 RGB batches: exactly `info.frameCount30` frames, so
 * a caller can size an episode before decoding (a last frame that ends a little early is held;
 * frames past the declared duration are dropped). Throws `VIDEO_TRUNCATED` at the end when the
 * decoded frames stop well before the duration the container declared (ffmpeg exits 0 on a
 * truncated H.264 file, with half the frames).
 */
export async function* resampleToBatches(
  info: VideoInfo,
  decoded: AsyncIterable<DecodedFrame>,
  options: IngestOptions = {},
): AsyncGenerator<RgbBatch> {
  const fit = options.fit ?? "letterbox";
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? DEFAULT_BATCH_SIZE));
  const resampler = new FrameCentreResampler(TARGET_FPS);
  const total = info.frameCount30;
  const scratch = new Uint8Array(RGB_FRAME_BYTES);
  let resizer: Resizer | null = null;
  let resizerKey = "";
  let batch = new Uint8Array(batchSize * RGB_FRAME_BYTES);
  let inBatch = 0;
  let nextStart = 0;
  let prev: DecodedFrame | null = null;
  let first: number | null = null;
  const full: RgbBatch[] = [];

  let produced = 0;
  // Resizes a kept source frame once and appends it `copies` times (0: dropped, 2+: repeated).
  const put = async (frame: DecodedFrame, wanted: number): Promise<void> => {
    const copies = Math.min(wanted, total - produced);
    if (copies <= 0) return;
    produced += copies;
    const pixels = await frame.pixels();
    let rgb: Uint8Array | Uint8ClampedArray = pixels;
    if (
      !(
        frame.width === FRAME_SIZE &&
        frame.height === FRAME_SIZE &&
        frame.channels === 3 &&
        frame.stride === FRAME_SIZE * 3
      )
    ) {
      const key = `${frame.width}x${frame.height}x${frame.channels}x${frame.stride}`;
      if (!resizer || key !== resizerKey) {
        resizer = createResizer({
          srcWidth: frame.width,
          srcHeight: frame.height,
          channels: frame.channels,
          stride: frame.stride,
          fit,
        });
        resizerKey = key;
      }
      rgb = resizer.resize(pixels, scratch);
    }
    for (let c = 0; c < copies; c++) {
      batch.set(rgb.subarray(0, RGB_FRAME_BYTES), inBatch * RGB_FRAME_BYTES);
      if (++inBatch === batchSize) flush();
    }
  };
  const flush = (): void => {
    full.push({
      rgb: inBatch === batchSize ? batch : batch.slice(0, inBatch * RGB_FRAME_BYTES),
      count: inBatch,
      startIndex: nextStart,
    });
    nextStart += inBatch;
    batch = new Uint8Array(batchSize * RGB_FRAME_BYTES);
    inBatch = 0;
  };
  const report = (b: RgbBatch): void => {
    const done = b.startIndex + b.count;
    options.onProgress?.({ framesDone: done, framesTotal: total, fraction: total > 0 ? Math.min(1, done / total) : 0 });
  };

  try {
    for await (const frame of decoded) {
      throwIfAborted(options.signal, info.name);
      if (first === null) first = frame.timestampS;
      const copies = resampler.next(frame.timestampS);
      if (prev) {
        await put(prev, copies);
        prev.close();
      }
      prev = frame;
      for (let b = full.shift(); b; b = full.shift()) {
        yield b;
        report(b);
      }
    }
    throwIfAborted(options.signal, info.name);
    if (!prev || first === null) throw videoErrors.empty(info.name, "no frame could be decoded");
    const end = prev.timestampS + (prev.durationS ?? 1 / info.fps);
    // Checked before the tail is padded, so a truncated file never yields its held last frame.
    if (end - first < info.durationS - Math.max(0.1, 0.02 * info.durationS)) {
      resampler.end(end);
      throw videoErrors.truncated(info.name, resampler.emitted, total);
    }
    await put(prev, total - produced);
    prev.close();
    prev = null;
    if (inBatch > 0) flush();
    for (let b = full.shift(); b; b = full.shift()) {
      yield b;
      report(b);
    }
  } finally {
    (prev as DecodedFrame | null)?.close();
  }
}

/** Bytes -> the model's tensor. `[count, 256, 256, 3]` float32 in [-1, 1]; the caller disposes it. */
export function rgbBatchToTensor(batch: RgbBatch): tf.Tensor4D {
  return rgbClipToTensor(batch.rgb.subarray(0, batch.count * RGB_FRAME_BYTES), batch.count);
}

export interface IngestApi<S> {
  /** Validates and describes a video without decoding it. */
  probeVideo(source: S, options?: Pick<IngestOptions, "limits" | "signal">): Promise<VideoInfo>;
  /** Validated, 30 fps, 256x256 RGB bytes in batches. */
  extractRgbBatches(source: S, options?: IngestOptions): AsyncGenerator<RgbBatch>;
  /** Validated, 30 fps, 256x256 frames as `[b, 256, 256, 3]` tensors in [-1, 1]; dispose each batch. */
  ingestVideo(source: S, options?: IngestOptions): AsyncGenerator<FrameBatch>;
  /** Every frame as a 256x256x3 Uint8 RGB array, for dataset writers (short clips). */
  collectRgbFrames(source: S, options?: IngestOptions): Promise<{ info: VideoInfo; frames: Uint8Array[] }>;
}

export function makeIngestApi<S>(host: IngestHost<S>): IngestApi<S> {
  async function* extractRgbBatches(source: S, options: IngestOptions = {}): AsyncGenerator<RgbBatch> {
    throwIfAborted(options.signal, "video");
    const info = await host.probe(source, options);
    options.onProgress?.({ framesDone: 0, framesTotal: info.frameCount30, fraction: 0 });
    yield* resampleToBatches(info, host.decode(source, info, options), options);
  }
  return {
    probeVideo: (source, options = {}) => host.probe(source, options),
    extractRgbBatches,
    async *ingestVideo(source, options = {}) {
      for await (const b of extractRgbBatches(source, options))
        yield { frames: rgbBatchToTensor(b), count: b.count, startIndex: b.startIndex };
    },
    async collectRgbFrames(source, options = {}) {
      const info = await host.probe(source, options);
      const frames: Uint8Array[] = [];
      for await (const b of resampleToBatches(info, host.decode(source, info, options), options)) {
        for (let i = 0; i < b.count; i++) frames.push(b.rgb.slice(i * RGB_FRAME_BYTES, (i + 1) * RGB_FRAME_BYTES));
      }
      return { info, frames };
    },
  };
}
