/**
 * Recording live play in the browser: frames (one or more RGBA images side by side, e.g. real
 * game | dream) are drawn into a canvas whose `captureStream(0)` feeds a MediaRecorder, one
 * `requestFrame()` per generated frame, so the WebM holds exactly the frames that were played,
 * however fast they came. The last `maxStillFrames` frames are also kept as pixels for a PNG strip.
 * Action logs are written with ../actions/schema.ts `actionsToJson`.
 */
import { actionsToJson, type Action } from "../actions/index.js";
import { GamedreamError, type RgbaImage } from "../core/index.js";

export interface RecorderOptions {
  /** Width and height of one image (default 256). */
  size?: number;
  /** Images per frame, laid out left to right (default 2: real | dream). */
  images?: number;
  /** Frames kept as pixels for `pngStrip` (default 64: 16 MiB for two 256x256 images). */
  maxStillFrames?: number;
  /** Target bitrate of the WebM (default 4 Mbit/s). */
  bitsPerSecond?: number;
}

export interface Recording {
  /** The WebM, or null where MediaRecorder cannot record a canvas (see `reason`). */
  webm: Blob | null;
  reason: string | null;
  frames: number;
  /** Actions of the recorded frames (the one that produced each frame). */
  actions: Action[];
}

/** The first WebM type this browser's MediaRecorder takes, or null. */
export function webmMimeType(): string | null {
  if (typeof MediaRecorder === "undefined") return null;
  return (
    ["video/webm;codecs=vp9", "video/webm;codecs=vp8", "video/webm"].find((t) => MediaRecorder.isTypeSupported(t)) ??
    null
  );
}

interface CanvasTrack extends MediaStreamTrack {
  requestFrame?(): void;
}

export class PlayRecorder {
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly size: number;
  private readonly maxStill: number;
  private readonly bitsPerSecond: number;
  private media: MediaRecorder | null = null;
  private track: CanvasTrack | null = null;
  private chunks: Blob[] = [];
  private still: ImageData[] = [];
  private actions: Action[] = [];
  private count = 0;
  private reason: string | null = null;

  constructor(options: RecorderOptions = {}) {
    this.size = options.size ?? 256;
    this.maxStill = options.maxStillFrames ?? 64;
    this.bitsPerSecond = options.bitsPerSecond ?? 4_000_000;
    this.canvas = document.createElement("canvas");
    this.canvas.width = this.size * (options.images ?? 2);
    this.canvas.height = this.size;
    this.ctx = this.canvas.getContext("2d")!;
  }

  get recording(): boolean {
    return this.media !== null;
  }

  get frames(): number {
    return this.count;
  }

  start(): void {
    if (this.media) return;
    this.chunks = [];
    this.still = [];
    this.actions = [];
    this.count = 0;
    this.reason = null;
    const mimeType = webmMimeType();
    if (!mimeType || typeof this.canvas.captureStream !== "function") {
      this.reason =
        "This browser cannot record a canvas to WebM (no MediaRecorder or captureStream); PNG frames and the action log still work.";
      this.media = null;
      return;
    }
    const stream = this.canvas.captureStream(0);
    this.track = stream.getVideoTracks()[0] as CanvasTrack;
    this.media = new MediaRecorder(stream, { mimeType, videoBitsPerSecond: this.bitsPerSecond });
    this.media.addEventListener("dataavailable", (e) => {
      if (e.data.size > 0) this.chunks.push(e.data);
    });
    this.media.start(1000);
  }

  /** Adds one frame: `images` left to right, and the action that produced it. */
  addFrame(images: readonly RgbaImage[], action: Action): void {
    images.forEach((im, i) => {
      const data =
        im.data instanceof Uint8ClampedArray
          ? im.data
          : new Uint8ClampedArray(im.data.buffer, im.data.byteOffset, im.data.length);
      this.ctx.putImageData(
        new ImageData(data as Uint8ClampedArray<ArrayBuffer>, im.width, im.height),
        i * this.size,
        0,
      );
    });
    this.track?.requestFrame?.();
    this.still.push(this.ctx.getImageData(0, 0, this.canvas.width, this.canvas.height));
    if (this.still.length > this.maxStill) this.still.shift();
    this.actions.push(action);
    this.count++;
  }

  /** Ends the recording. */
  async stop(): Promise<Recording> {
    const media = this.media;
    this.media = null;
    this.track = null;
    let webm: Blob | null = null;
    if (media) {
      const stopped = new Promise((resolve) => media.addEventListener("stop", resolve, { once: true }));
      media.stop();
      await stopped;
      for (const track of media.stream.getTracks()) track.stop();
      webm = this.chunks.length ? new Blob(this.chunks, { type: "video/webm" }) : null;
      if (!webm) this.reason = "The recording holds no video data (were any frames played?).";
    }
    return { webm, reason: this.reason, frames: this.count, actions: this.actions.slice() };
  }

  /** The kept frames (the last `maxStillFrames`) as one PNG, in rows of `columns`. */
  async pngStrip(columns = 8): Promise<Blob> {
    if (this.still.length === 0)
      throw new GamedreamError(
        "RECORDING_EMPTY",
        "validation",
        "There are no recorded frames yet: record some play first.",
      );
    const w = this.canvas.width;
    const h = this.canvas.height;
    const cols = Math.min(columns, this.still.length);
    const rows = Math.ceil(this.still.length / cols);
    const sheet = document.createElement("canvas");
    sheet.width = w * cols;
    sheet.height = h * rows;
    const ctx = sheet.getContext("2d")!;
    this.still.forEach((im, i) => ctx.putImageData(im, (i % cols) * w, Math.floor(i / cols) * h));
    return new Promise((resolve, reject) =>
      sheet.toBlob(
        (b) =>
          b
            ? resolve(b)
            : reject(new GamedreamError("PNG_ENCODE", "internal", "The browser could not encode the PNG.")),
        "image/png",
      ),
    );
  }
}

/** An action log as a JSON file (../actions/schema.ts format: `[{frame, movement, camera, interaction}]`). */
export function actionLogBlob(actions: readonly Action[]): Blob {
  return new Blob([actionsToJson(actions)], { type: "application/json" });
}

/** Saves a blob through a temporary link (the browser's download). */
export function downloadBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
