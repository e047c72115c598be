/**
 * Video ingestion in the browser (page or Web Worker): the same API as ingest.node.ts over
 * `mediabunny` (demuxing, maintained, handles MP4 edit lists and truncated files) and WebCodecs
 * (decoding), with an HTMLVideoElement + canvas fallback on the page where WebCodecs is missing
 * or refuses the codec. Decoded frames are copied out as RGBA and resized in code (resize.ts),
 * which measured faster here than drawing to a canvas and reading it back.
 */
import {
  ALL_FORMATS,
  BlobSource,
  Input,
  UnsupportedInputFormatError,
  VideoSampleSink,
  type InputVideoTrack,
} from "mediabunny";
import { videoErrors, throwIfAborted } from "./errors.js";
import {
  makeIngestApi,
  resolveLimits,
  videoInfo,
  type DecodedFrame,
  type FrameBatch,
  type IngestOptions,
  type RgbBatch,
  type VideoInfo,
} from "./ingest.js";
import { TARGET_FPS, outputFrameCount } from "./resample.js";
import { checkCodec, checkHeader, checkResolution, normaliseCodec, SNIFF_BYTES } from "./validate.js";
import { repairTruncatedWebm } from "./webm-truncation.js";

/** What the browser accepts: a File from an input or a drop, any Blob, or bytes. */
export type VideoSource = Blob | ArrayBuffer | Uint8Array;

export type BrowserDecoder = "auto" | "webcodecs" | "video-element";

export interface BrowserIngestOptions extends IngestOptions {
  /** `auto` (default): WebCodecs when it can decode the codec, else the <video> fallback (pages only). */
  decoder?: BrowserDecoder;
}

const asBlob = (source: VideoSource): Blob =>
  source instanceof Blob ? source : new Blob([source instanceof Uint8Array ? source.slice() : new Uint8Array(source)]);
const nameOf = (source: VideoSource): string =>
  typeof File !== "undefined" && source instanceof File ? source.name : "video";

const hasWebCodecs = (): boolean => typeof VideoDecoder !== "undefined";
const hasVideoElement = (): boolean => typeof document !== "undefined";

/**
 * A WebM cut short, made readable up to its last whole block (webm-truncation.ts), so the frames
 * it holds decode here as they do in Node; `truncated` says it was cut. Other files as they are.
 * The truncation is then reported by the shared rule in ingest.ts, with the same count as Node.
 */
async function readable(blob: Blob, container: string): Promise<{ blob: Blob; truncated: boolean }> {
  if (container !== "webm") return { blob, truncated: false };
  const read = async (start: number, end: number) => new Uint8Array(await blob.slice(start, end).arrayBuffer());
  const repair = await repairTruncatedWebm(read, blob.size).catch(() => null);
  if (!repair) return { blob, truncated: false };
  return {
    blob: new Blob(
      repair.parts.map((p) => (p instanceof Uint8Array ? (p as Uint8Array<ArrayBuffer>) : blob.slice(p[0], p[1]))),
    ),
    truncated: true,
  };
}

/** Opens the demuxer (30-60 ms); the caller disposes `input`. */
async function open(blob: Blob, name: string): Promise<{ input: Input; track: InputVideoTrack }> {
  const input = new Input({ source: new BlobSource(blob), formats: ALL_FORMATS });
  try {
    await input.getFormat();
    const tracks = await input.getTracks();
    // A missing MP4 index (file cut before its moov box) leaves no tracks at all.
    if (tracks.length === 0)
      throw videoErrors.corrupt(
        name,
        "no tracks could be read; the MP4 index (moov box) may be missing because the file was cut off",
      );
    const track = await input.getPrimaryVideoTrack();
    if (!track) throw videoErrors.noVideoTrack(name);
    return { input, track };
  } catch (e) {
    input.dispose();
    if (e instanceof UnsupportedInputFormatError)
      throw videoErrors.corrupt(name, "the container could not be parsed", e);
    if ((e as { type?: string }).type === "video") throw e;
    throw videoErrors.corrupt(name, e instanceof Error ? e.message : String(e), e);
  }
}

async function probe(source: VideoSource, options: BrowserIngestOptions = {}): Promise<VideoInfo> {
  const blob = asBlob(source);
  const name = nameOf(source);
  const limits = resolveLimits(options.limits);
  const head = new Uint8Array(await blob.slice(0, SNIFF_BYTES).arrayBuffer());
  const container = checkHeader(name, blob.size, head, limits);
  throwIfAborted(options.signal, name);
  const whole = await readable(blob, container);
  const { input, track } = await open(whole.blob, name);
  try {
    const codecName = (await track.getCodec()) ?? String((await track.getInternalCodecId()) ?? "unknown");
    const codec = checkCodec(name, codecName);
    const width = track.displayWidth;
    const height = track.displayHeight;
    checkResolution(name, width, height, limits);
    const decoder = options.decoder ?? "auto";
    if (decoder !== "video-element" && !(hasWebCodecs() && (await track.canDecode())) && !hasVideoElement()) {
      throw videoErrors.unsupportedCodec(name, `${normaliseCodec(codecName)} (this browser cannot decode it here)`, [
        codec,
      ]);
    }
    const stats = await track.computePacketStats(120);
    if (stats.packetCount === 0) {
      // A WebM cut inside its only cluster has no readable frame, yet its header declares a duration.
      const declared = (await track.getDurationFromMetadata()) ?? 0;
      if (declared > 0) throw videoErrors.truncated(name, 0, outputFrameCount(declared));
      throw videoErrors.empty(name, "no video frames");
    }
    const first = await track.getFirstTimestamp();
    // A cut file is measured by the duration its header declares (as ffprobe does in Node): the
    // frames that are missing are counted missing, not silently dropped.
    const declared = whole.truncated ? ((await track.getDurationFromMetadata()) ?? 0) : 0;
    const durationS = declared > 0 ? declared : (await track.computeDuration()) - first;
    if (!(durationS > 0)) throw videoErrors.empty(name, "zero duration");
    const fps = stats.averagePacketRate > 0 ? stats.averagePacketRate : TARGET_FPS;
    return videoInfo({ name, byteLength: blob.size, container, codec, width, height, fps, durationS });
  } finally {
    input.dispose();
  }
}

/** WebCodecs through mediabunny: every frame in presentation order, copied out as RGBA on demand. */
async function* decodeWebCodecs(
  track: InputVideoTrack,
  info: VideoInfo,
  options: BrowserIngestOptions,
): AsyncGenerator<DecodedFrame> {
  const sink = new VideoSampleSink(track);
  let buffer = new Uint8Array(0);
  try {
    for await (const sample of sink.samples()) {
      if (options.signal?.aborted) {
        sample.close();
        throw videoErrors.cancelled(info.name);
      }
      const width = sample.displayWidth;
      const height = sample.displayHeight;
      yield {
        timestampS: sample.timestamp,
        durationS: sample.duration > 0 ? sample.duration : undefined,
        width,
        height,
        channels: 4,
        stride: width * 4,
        // One buffer serves every frame: the pipeline resizes a frame's pixels before asking for the next.
        pixels: async () => {
          const bytes = sample.allocationSize({ format: "RGBA" });
          if (buffer.length !== bytes) buffer = new Uint8Array(bytes);
          await sample.copyTo(buffer, { format: "RGBA" });
          return buffer;
        },
        close: () => sample.close(),
      };
    }
  } catch (e) {
    if ((e as { type?: string }).type === "video") throw e;
    throw videoErrors.corrupt(info.name, `decoding failed: ${e instanceof Error ? e.message : String(e)}`, e);
  }
}

function once(target: EventTarget, ok: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      target.removeEventListener(ok, done);
      target.removeEventListener("error", fail);
      resolve();
    };
    const fail = (): void => {
      target.removeEventListener(ok, done);
      reject(new Error("the video element reported an error"));
    };
    target.addEventListener(ok, done);
    target.addEventListener("error", fail);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Fallback for pages without WebCodecs: seek a <video> to every output frame's centre and read
 * it back through a canvas. Slower (30-45 ms per 360p frame here) and seeking may show the
 * previous frame, so WebCodecs is always preferred.
 */
async function* decodeVideoElement(
  blob: Blob,
  info: VideoInfo,
  options: BrowserIngestOptions,
): AsyncGenerator<DecodedFrame> {
  const url = URL.createObjectURL(blob);
  const video = document.createElement("video");
  video.muted = true;
  video.preload = "auto";
  video.src = url;
  try {
    await once(video, "loadeddata", options.signal);
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    if (!ctx) throw videoErrors.decoderMissing("This browser cannot read video frames: no WebCodecs and no 2D canvas.");
    for (let i = 0; i < info.frameCount30; i++) {
      throwIfAborted(options.signal, info.name);
      video.currentTime = (i + 0.5) / TARGET_FPS;
      await once(video, "seeked", options.signal);
      ctx.drawImage(video, 0, 0);
      const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      // One output per seek: the frame spans exactly its 30 fps slot.
      yield {
        timestampS: i / TARGET_FPS,
        durationS: 1 / TARGET_FPS,
        width: canvas.width,
        height: canvas.height,
        channels: 4,
        stride: canvas.width * 4,
        pixels: () => data,
        close: () => {},
      };
    }
  } catch (e) {
    if ((e as { type?: string }).type === "video") throw e;
    throw videoErrors.corrupt(info.name, e instanceof Error ? e.message : String(e), e);
  } finally {
    video.removeAttribute("src");
    video.load();
    URL.revokeObjectURL(url);
  }
}

async function* decode(
  source: VideoSource,
  info: VideoInfo,
  options: BrowserIngestOptions = {},
): AsyncGenerator<DecodedFrame> {
  const { blob } = await readable(asBlob(source), info.container);
  const { input, track } = await open(blob, info.name);
  try {
    const decoder = options.decoder ?? "auto";
    const webcodecs = decoder !== "video-element" && hasWebCodecs() && (await track.canDecode());
    if (webcodecs) yield* decodeWebCodecs(track, info, options);
    else if (decoder !== "webcodecs" && hasVideoElement()) yield* decodeVideoElement(blob, info, options);
    else
      throw videoErrors.decoderMissing(
        `This browser cannot decode ${info.codec} video here (no WebCodecs decoder${hasVideoElement() ? "" : " in a worker"}). Try a current Chrome, Edge or Firefox.`,
      );
  } finally {
    input.dispose();
  }
}

const api = makeIngestApi<VideoSource>({ probe, decode });

/** Validates and describes a video (File, Blob or bytes) without decoding it. */
export const probeVideo = api.probeVideo as (
  source: VideoSource,
  options?: Pick<BrowserIngestOptions, "limits" | "signal" | "decoder">,
) => Promise<VideoInfo>;
/** 30 fps, 256x256 RGB bytes in batches. */
export const extractRgbBatches = api.extractRgbBatches as (
  source: VideoSource,
  options?: BrowserIngestOptions,
) => AsyncGenerator<RgbBatch>;
/** 30 fps, 256x256 frames as `[b, 256, 256, 3]` float32 tensors in [-1, 1]; dispose each batch. */
export const ingestVideo = api.ingestVideo as (
  source: VideoSource,
  options?: BrowserIngestOptions,
) => AsyncGenerator<FrameBatch>;
/** Every frame as 256x256x3 Uint8 RGB (short clips). */
export const collectRgbFrames = api.collectRgbFrames as (
  source: VideoSource,
  options?: BrowserIngestOptions,
) => Promise<{ info: VideoInfo; frames: Uint8Array[] }>;

/** For the benchmark page: ingests to tensors (each disposed) and reports ms per output frame. */
export async function measureIngestMsPerFrame(
  source: VideoSource,
  options: BrowserIngestOptions = {},
): Promise<{ frames: number; msPerFrame: number; totalMs: number }> {
  const t0 = performance.now();
  let frames = 0;
  for await (const batch of ingestVideo(source, options)) {
    frames += batch.count;
    batch.frames.dispose();
  }
  const totalMs = performance.now() - t0;
  return { frames, msPerFrame: totalMs / Math.max(1, frames), totalMs };
}
