/**
 * Video ingestion in Node: ffprobe validates and describes, ffmpeg decodes into a rawvideo pipe
 * that is read frame by frame (never the whole video), and the shared pipeline (ingest.ts)
 * resamples to 30 fps. Frame timestamps come from ffmpeg's `showinfo` filter on stderr, so 30 fps
 * resampling follows real presentation times, as in the browser.
 *
 * ffmpeg also scales and pads/crops to 256x256 with the geometry of `fitRect` (resize.ts), in C:
 * piping full-size frames to the JS resizer would cost 6 MB and tens of ms per 1080p frame.
 */
import { spawn } from "node:child_process";
import { open, stat } from "node:fs/promises";
import { basename } from "node:path";
import { videoErrors, throwIfAborted } from "./errors.js";
import {
  makeIngestApi,
  resolveLimits,
  videoInfo,
  type DecodedFrame,
  type IngestOptions,
  type VideoInfo,
  type FrameBatch,
} from "./ingest.js";
import { FRAME_SIZE } from "../core/index.js";
import { fitRect, type Fit } from "./resize.js";
import { checkCodec, checkHeader, checkResolution, SNIFF_BYTES } from "./validate.js";

export interface NodeIngestOptions extends IngestOptions {
  /** Executables; default `ffmpeg` / `ffprobe` on PATH, or `FFMPEG_PATH` / `FFPROBE_PATH`. */
  ffmpegPath?: string;
  ffprobePath?: string;
}

const ffmpegBin = (o: NodeIngestOptions): string => o.ffmpegPath ?? process.env.FFMPEG_PATH ?? "ffmpeg";
const ffprobeBin = (o: NodeIngestOptions): string => o.ffprobePath ?? process.env.FFPROBE_PATH ?? "ffprobe";

const missing = (tool: string, bin: string): Error =>
  videoErrors.decoderMissing(
    `${tool} was not found (tried "${bin}"). Install FFmpeg (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg) or set ${tool.toUpperCase()}_PATH.`,
  );

interface ProbeJson {
  streams?: Array<{
    codec_type?: string;
    codec_name?: string;
    width?: number;
    height?: number;
    avg_frame_rate?: string;
    r_frame_rate?: string;
    duration?: string;
    nb_frames?: string;
    nb_read_packets?: string;
    disposition?: { attached_pic?: number };
    side_data_list?: Array<{ rotation?: number }>;
  }>;
  format?: { format_name?: string; duration?: string };
}

function run(
  bin: string,
  tool: string,
  args: string[],
  signal?: AbortSignal,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], signal });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", (e: NodeJS.ErrnoException) =>
      reject(
        e.code === "ENOENT"
          ? missing(tool, bin)
          : e.name === "AbortError"
            ? videoErrors.cancelled(basename(args[args.length - 1]))
            : e,
      ),
    );
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const rate = (r: string | undefined): number => {
  const [n, d] = (r ?? "0/0").split("/").map(Number);
  return d > 0 ? n / d : 0;
};

const lastLine = (text: string): string =>
  text
    .trim()
    .split("\n")
    .map((l) => l.replace(/^\[[^\]]*\]\s*/, "").trim())
    .filter(Boolean)
    .pop() ?? "unknown error";

async function readHead(path: string): Promise<Uint8Array> {
  const fh = await open(path, "r");
  try {
    const buf = new Uint8Array(SNIFF_BYTES);
    const { bytesRead } = await fh.read(buf, 0, SNIFF_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Validates `path` and describes its video stream; throws a `GamedreamError` (type "video") for every refusal. */
async function probe(path: string, options: NodeIngestOptions = {}): Promise<VideoInfo> {
  const name = basename(path);
  const limits = resolveLimits(options.limits);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (e) {
    throw videoErrors.corrupt(name, `the file cannot be opened: ${(e as Error).message}`, e);
  }
  if (size === 0) throw videoErrors.empty(name, "0 bytes");
  const container = checkHeader(name, size, await readHead(path), limits);
  throwIfAborted(options.signal, name);

  // -count_packets demuxes the whole file (fast, no decoding): a truncated MP4 reads fewer packets than its index lists.
  const args = ["-v", "error", "-count_packets", "-show_entries"];
  args.push(
    "format=format_name,duration:stream=codec_type,codec_name,width,height,avg_frame_rate,r_frame_rate,duration,nb_frames,nb_read_packets:stream_disposition=attached_pic:stream_side_data=rotation",
  );
  args.push("-of", "json", path);
  const r = await run(ffprobeBin(options), "ffprobe", args, options.signal);
  if (r.code !== 0) {
    const why = lastLine(r.stderr);
    if (/moov atom not found/.test(r.stderr))
      throw videoErrors.corrupt(
        name,
        "its MP4 index (moov box) is missing; the file was probably cut off while recording or copying",
      );
    throw videoErrors.corrupt(name, why);
  }
  const json = JSON.parse(r.stdout) as ProbeJson;
  const stream = (json.streams ?? []).find((s) => s.codec_type === "video" && !s.disposition?.attached_pic);
  if (!stream) throw videoErrors.noVideoTrack(name);
  const codec = checkCodec(name, stream.codec_name);
  const rotation = Math.abs(stream.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? 0) % 180;
  const [width, height] =
    rotation === 90 ? [stream.height ?? 0, stream.width ?? 0] : [stream.width ?? 0, stream.height ?? 0];
  if (!(width > 0 && height > 0)) throw videoErrors.corrupt(name, "its video track has no picture size");
  checkResolution(name, width, height, limits);
  const packets = Number(stream.nb_read_packets ?? 0);
  if (packets === 0) throw videoErrors.empty(name, "no video frames");
  const indexed = Number(stream.nb_frames);
  if (Number.isFinite(indexed) && indexed > packets) throw videoErrors.truncated(name, packets, indexed);
  const fps = rate(stream.avg_frame_rate) || rate(stream.r_frame_rate) || 30;
  const declared = Number(stream.duration) || Number(json.format?.duration) || 0;
  const durationS = declared > 0 ? declared : packets / fps;
  return videoInfo({ name, byteLength: size, container, codec, width, height, fps, durationS });
}

/** Frame timestamps from `showinfo` lines: `config in time_base: 1/15360` then `n: 3 pts: 1536 ...`. */
class ShowinfoParser {
  private text = "";
  private timeBase = 0;
  readonly timestamps: number[] = [];
  private waiter: (() => void) | null = null;
  ended = false;

  push(chunk: string): void {
    this.text += chunk;
    const lines = this.text.split("\n");
    this.text = lines.pop() ?? "";
    for (const line of lines) this.line(line);
    this.wake();
  }

  end(): void {
    this.line(this.text);
    this.text = "";
    this.ended = true;
    this.wake();
  }

  private line(line: string): void {
    const tb = /config in time_base: (\d+)\/(\d+)/.exec(line);
    if (tb) this.timeBase = Number(tb[1]) / Number(tb[2]);
    const f = /\bn:\s*\d+\s+pts:\s*(-?\d+)/.exec(line);
    if (f && this.timeBase > 0) this.timestamps.push(Number(f[1]) * this.timeBase);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** The next frame's timestamp, waiting for stderr to catch up with stdout. */
  async next(): Promise<number | null> {
    while (this.timestamps.length === 0 && !this.ended) await new Promise<void>((r) => (this.waiter = r));
    return this.timestamps.shift() ?? null;
  }
}

/** ffmpeg filters placing the picture as `fitRect` does: scaled (antialiased bilinear), then padded or cropped. */
function fitFilter(info: VideoInfo, fit: Fit): string {
  const r = fitRect(info.width, info.height, fit);
  if (fit === "letterbox")
    return `scale=${r.w}:${r.h}:flags=bilinear,setsar=1,pad=${FRAME_SIZE}:${FRAME_SIZE}:${r.x}:${r.y}:black`;
  return `scale=${Math.round(r.w)}:${Math.round(r.h)}:flags=bilinear,setsar=1,crop=${FRAME_SIZE}:${FRAME_SIZE}`;
}

/** Decoded frames of `path` in presentation order, as 256x256 RGB24 already fitted. */
async function* decode(path: string, info: VideoInfo, options: NodeIngestOptions = {}): AsyncGenerator<DecodedFrame> {
  const bin = ffmpegBin(options);
  const args = [
    "-nostdin",
    "-hide_banner",
    "-nostats",
    "-loglevel",
    "info",
    "-i",
    path,
    "-map",
    "0:v:0",
    "-an",
    "-sn",
    "-dn",
  ];
  args.push(
    "-vf",
    `${fitFilter(info, options.fit ?? "letterbox")},showinfo`,
    "-fps_mode",
    "passthrough",
    "-f",
    "rawvideo",
    "-pix_fmt",
    "rgb24",
    "pipe:1",
  );
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  const times = new ShowinfoParser();
  let stderrTail = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d: string) => {
    times.push(d);
    stderrTail = (stderrTail + d).slice(-4000);
  });
  const exited = new Promise<{ code: number | null; error?: NodeJS.ErrnoException }>((resolve) => {
    child.on("error", (error: NodeJS.ErrnoException) => resolve({ code: null, error }));
    child.on("close", (code) => {
      times.end();
      resolve({ code });
    });
  });
  const onAbort = (): void => void child.kill("SIGKILL");
  options.signal?.addEventListener("abort", onAbort);

  const frameBytes = FRAME_SIZE * FRAME_SIZE * 3;
  // Frames come back through `close()`: the pipeline holds at most one while the next one fills.
  const pool: Uint8Array[] = [];
  let current = pool.pop() ?? new Uint8Array(frameBytes);
  let filled = 0;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        const n = Math.min(frameBytes - filled, chunk.length - offset);
        current.set(chunk.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
        if (filled < frameBytes) continue;
        throwIfAborted(options.signal, info.name);
        const timestampS = await times.next();
        if (timestampS === null) throw videoErrors.corrupt(info.name, "ffmpeg returned a frame without a timestamp");
        const data = current;
        yield {
          timestampS,
          width: FRAME_SIZE,
          height: FRAME_SIZE,
          channels: 3,
          stride: FRAME_SIZE * 3,
          pixels: () => data,
          close: () => void pool.push(data),
        };
        current = pool.pop() ?? new Uint8Array(frameBytes);
        filled = 0;
      }
    }
    const { code, error } = await exited;
    throwIfAborted(options.signal, info.name);
    if (error) throw error.code === "ENOENT" ? missing("ffmpeg", bin) : error;
    if (code !== 0) throw videoErrors.corrupt(info.name, `ffmpeg failed: ${lastLine(stderrTail)}`);
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

const api = makeIngestApi<string>({ probe, decode });

/** Validates and describes a video file without decoding it. */
export const probeVideo: (
  path: string,
  options?: Pick<NodeIngestOptions, "limits" | "signal" | "ffprobePath">,
) => Promise<VideoInfo> = api.probeVideo;
/** 30 fps, 256x256 RGB bytes in batches. */
export const extractRgbBatches = api.extractRgbBatches as (
  path: string,
  options?: NodeIngestOptions,
) => ReturnType<typeof api.extractRgbBatches>;
/** 30 fps, 256x256 frames as `[b, 256, 256, 3]` float32 tensors in [-1, 1]; dispose each batch. */
export const ingestVideo = api.ingestVideo as (path: string, options?: NodeIngestOptions) => AsyncGenerator<FrameBatch>;
/** Every frame as 256x256x3 Uint8 RGB, for dataset writers. */
export const collectRgbFrames = api.collectRgbFrames as (
  path: string,
  options?: NodeIngestOptions,
) => Promise<{ info: VideoInfo; frames: Uint8Array[] }>;

export interface IngestTiming {
  frames: number;
  /** Wall time from probe to the last tensor, per output frame. */
  msPerFrame: number;
  totalMs: number;
  probeMs: number;
}

/** For the benchmark runner: ingests `path` to tensors (each disposed) and reports ms per output frame. */
export async function measureIngestMsPerFrame(path: string, options: NodeIngestOptions = {}): Promise<IngestTiming> {
  const t0 = performance.now();
  await probeVideo(path, options);
  const probeMs = performance.now() - t0;
  const t1 = performance.now();
  let frames = 0;
  for await (const batch of ingestVideo(path, options)) {
    frames += batch.count;
    batch.frames.dispose();
  }
  const totalMs = performance.now() - t1;
  return { frames, msPerFrame: totalMs / Math.max(1, frames), totalMs, probeMs };
}
