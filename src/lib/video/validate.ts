/**
 * Checks a video before anything decodes it, shared by Node and the browser: the container is
 * sniffed from the first bytes (a `File.type` or a file name only reflects the extension, and
 * ffmpeg happily "decodes" a PNG renamed `.mp4`), then size, resolution and codec are held
 * against the limits (MP4 or WebM, at most 100 MB and 1920x1080).
 */
import { videoErrors } from "./errors.js";

export interface VideoLimits {
  maxBytes: number;
  /** Longer side, either orientation: 1920x1080 and 1080x1920 both pass. */
  maxLongSide: number;
  maxShortSide: number;
}

export const VIDEO_LIMITS: Readonly<VideoLimits> = Object.freeze({
  maxBytes: 100 * 1024 * 1024,
  maxLongSide: 1920,
  maxShortSide: 1080,
});

/** Codecs both hosts decode here (Chromium WebCodecs and Debian ffmpeg); HEVC fails in Chromium. */
export const SUPPORTED_CODECS = ["h264", "vp8", "vp9", "av1"] as const;
export type VideoCodecName = (typeof SUPPORTED_CODECS)[number];

export type Container = "mp4" | "webm";

/** How many leading bytes `sniffContainer` wants. */
export const SNIFF_BYTES = 4096;

export type SniffResult =
  | { kind: "video"; container: Container }
  | { kind: "other-video"; container: string }
  | { kind: "not-video"; looksLike: string };

const ascii = (b: Uint8Array, start: number, end: number): string => String.fromCharCode(...b.subarray(start, end));

const startsWith = (b: Uint8Array, sig: number[]): boolean => sig.every((v, i) => b[i] === v);

/** ISO-BMFF brands of still images (HEIF/AVIF) that share MP4's `ftyp` box. */
const IMAGE_BRANDS = new Set(["avif", "avis", "heic", "heix", "heim", "heis", "mif1", "msf1"]);

/** Reads the EBML DocType ("webm" / "matroska") from the header. */
function ebmlDocType(b: Uint8Array): string | null {
  for (let i = 4; i + 3 < b.length && i < 64; i++) {
    if (b[i] !== 0x42 || b[i + 1] !== 0x82) continue;
    const first = b[i + 2];
    let width = 1;
    while (width <= 8 && !(first & (0x80 >> (width - 1)))) width++;
    if (width > 8) return null;
    let size = first & (0xff >> width);
    for (let k = 1; k < width; k++) size = size * 256 + b[i + 2 + k];
    const start = i + 2 + width;
    return ascii(b, start, Math.min(b.length, start + size));
  }
  return null;
}

function looksLikeText(b: Uint8Array): boolean {
  if (b.length === 0) return false;
  let printable = 0;
  for (const v of b) if (v === 9 || v === 10 || v === 13 || (v >= 32 && v < 127) || v >= 128) printable++;
  return printable / b.length > 0.95 && !b.includes(0);
}

/** Identifies the container from the first bytes of a file (`SNIFF_BYTES` is plenty). */
export function sniffContainer(head: Uint8Array): SniffResult {
  const box = head.length >= 12 ? ascii(head, 4, 8) : "";
  if (box === "ftyp") {
    const brand = ascii(head, 8, 12);
    if (IMAGE_BRANDS.has(brand)) return { kind: "not-video", looksLike: `a HEIF/AVIF image (brand "${brand}")` };
    if (brand === "qt  ") return { kind: "other-video", container: "QuickTime (.mov)" };
    return { kind: "video", container: "mp4" };
  }
  // Old MP4 writers start with the index or the data box instead of `ftyp`.
  if (box === "moov" || box === "mdat") return { kind: "video", container: "mp4" };
  if (startsWith(head, [0x1a, 0x45, 0xdf, 0xa3])) {
    const docType = ebmlDocType(head);
    if (docType === "webm") return { kind: "video", container: "webm" };
    return { kind: "other-video", container: docType === "matroska" ? "Matroska (.mkv)" : "EBML" };
  }
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47])) return { kind: "not-video", looksLike: "a PNG image" };
  if (startsWith(head, [0xff, 0xd8, 0xff])) return { kind: "not-video", looksLike: "a JPEG image" };
  if (ascii(head, 0, 4) === "GIF8") return { kind: "not-video", looksLike: "a GIF image" };
  if (ascii(head, 0, 4) === "%PDF") return { kind: "not-video", looksLike: "a PDF document" };
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04])) return { kind: "not-video", looksLike: "a ZIP archive" };
  if (ascii(head, 0, 4) === "RIFF") {
    const form = ascii(head, 8, 12);
    if (form === "AVI ") return { kind: "other-video", container: "AVI" };
    return {
      kind: "not-video",
      looksLike: form === "WAVE" ? "WAV audio" : form === "WEBP" ? "a WebP image" : "a RIFF file",
    };
  }
  if (ascii(head, 0, 3) === "FLV") return { kind: "other-video", container: "FLV" };
  if (head.length > 376 && head[0] === 0x47 && head[188] === 0x47 && head[376] === 0x47)
    return { kind: "other-video", container: "MPEG-TS" };
  if (ascii(head, 0, 4) === "OggS") return { kind: "not-video", looksLike: "Ogg audio/video" };
  if (ascii(head, 0, 3) === "ID3" || (head[0] === 0xff && (head[1] & 0xe0) === 0xe0))
    return { kind: "not-video", looksLike: "MP3 audio" };
  if (looksLikeText(head)) return { kind: "not-video", looksLike: "text" };
  return { kind: "not-video", looksLike: "unrecognised data" };
}

/** Size and container checks that need only the byte count and the first bytes. */
export function checkHeader(
  name: string,
  byteLength: number,
  head: Uint8Array,
  limits: VideoLimits = VIDEO_LIMITS,
): Container {
  if (byteLength === 0) throw videoErrors.empty(name, "0 bytes");
  if (byteLength > limits.maxBytes) throw videoErrors.tooLarge(name, byteLength, limits.maxBytes);
  const sniff = sniffContainer(head);
  if (sniff.kind === "not-video") throw videoErrors.notVideo(name, sniff.looksLike);
  if (sniff.kind === "other-video") throw videoErrors.unsupportedContainer(name, sniff.container);
  return sniff.container;
}

export function checkResolution(name: string, width: number, height: number, limits: VideoLimits = VIDEO_LIMITS): void {
  if (Math.max(width, height) > limits.maxLongSide || Math.min(width, height) > limits.maxShortSide) {
    throw videoErrors.resolutionTooHigh(name, width, height, limits.maxLongSide, limits.maxShortSide);
  }
}

/** One name per codec whichever tool reported it (ffprobe says `h264`, mediabunny `avc`). */
export function normaliseCodec(codec: string | null | undefined): string {
  const c = (codec ?? "unknown").toLowerCase();
  if (c === "avc" || c === "avc1" || c === "h264") return "h264";
  if (c === "hevc" || c === "h265") return "hevc (H.265)";
  if (c === "mpeg4") return "MPEG-4 Part 2";
  return c;
}

export function checkCodec(name: string, codec: string | null | undefined): VideoCodecName {
  const c = normaliseCodec(codec);
  if (!(SUPPORTED_CODECS as readonly string[]).includes(c))
    throw videoErrors.unsupportedCodec(name, c, SUPPORTED_CODECS);
  return c as VideoCodecName;
}
