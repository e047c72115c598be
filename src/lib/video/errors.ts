/**
 * Every way a video can be refused or fail, as error-protocol codes (../core/errors.ts) (`type: "video"`). One
 * constructor per code keeps the wording in one place, so the Node and browser paths, the CLI and
 * the upload page all say the same thing about the same file.
 */
import { GamedreamError } from "../core/index.js";

export const VIDEO_ERROR_CODES = {
  /** 0 bytes, or a container with no frames / zero duration. */
  empty: "VIDEO_EMPTY",
  /** The bytes are not a video container at all (text, an image, ...), whatever the file name says. */
  notVideo: "VIDEO_NOT_VIDEO",
  /** A video container, but not MP4 or WebM (Matroska, QuickTime, AVI, ...). */
  unsupportedContainer: "VIDEO_UNSUPPORTED_CONTAINER",
  tooLarge: "VIDEO_TOO_LARGE",
  resolutionTooHigh: "VIDEO_RESOLUTION_TOO_HIGH",
  unsupportedCodec: "VIDEO_UNSUPPORTED_CODEC",
  noVideoTrack: "VIDEO_NO_VIDEO_TRACK",
  /** The file ends before the frames its index or header promises. */
  truncated: "VIDEO_TRUNCATED",
  /** The container or the stream cannot be read. */
  corrupt: "VIDEO_CORRUPT",
  /** ffmpeg/ffprobe (Node) or every browser decode path is missing. */
  decoderMissing: "VIDEO_DECODER_MISSING",
  cancelled: "VIDEO_CANCELLED",
} as const;

export type VideoErrorCode = (typeof VIDEO_ERROR_CODES)[keyof typeof VIDEO_ERROR_CODES];

const MB = 1024 * 1024;

function videoError(
  code: VideoErrorCode,
  message: string,
  details?: Record<string, unknown>,
  recoverable = true,
  cause?: unknown,
): GamedreamError {
  return new GamedreamError(code, "video", message, { recoverable, details, cause });
}

export const videoErrors = {
  empty: (name: string, why: string) =>
    videoError(
      VIDEO_ERROR_CODES.empty,
      `"${name}" is empty (${why}). Choose a recording that contains at least one frame.`,
      { name, why },
    ),
  notVideo: (name: string, looksLike: string) =>
    videoError(
      VIDEO_ERROR_CODES.notVideo,
      `"${name}" is not a video file: its contents look like ${looksLike}, whatever its name says. Choose an MP4 or WebM recording.`,
      { name, looksLike },
    ),
  unsupportedContainer: (name: string, container: string) =>
    videoError(
      VIDEO_ERROR_CODES.unsupportedContainer,
      `"${name}" is a ${container} file; only MP4 and WebM are accepted. Convert it, for example: ffmpeg -i INPUT -c:v libx264 OUTPUT.mp4`,
      { name, container },
    ),
  tooLarge: (name: string, bytes: number, maxBytes: number) =>
    videoError(
      VIDEO_ERROR_CODES.tooLarge,
      `"${name}" is ${(bytes / MB).toFixed(1)} MB; the limit is ${(maxBytes / MB).toFixed(0)} MB. Trim or re-encode the recording.`,
      { name, bytes, maxBytes },
    ),
  resolutionTooHigh: (name: string, width: number, height: number, maxLong: number, maxShort: number) =>
    videoError(
      VIDEO_ERROR_CODES.resolutionTooHigh,
      `"${name}" is ${width}x${height}; the limit is ${maxLong}x${maxShort} (either orientation). Scale it down first, for example: ffmpeg -i INPUT -vf scale=-2:720 OUTPUT.mp4`,
      { name, width, height, maxLong, maxShort },
    ),
  unsupportedCodec: (name: string, codec: string, allowed: readonly string[]) =>
    videoError(
      VIDEO_ERROR_CODES.unsupportedCodec,
      `"${name}" uses the ${codec} codec, which is not supported; use ${allowed.join(", ")}.`,
      { name, codec, allowed },
    ),
  noVideoTrack: (name: string) =>
    videoError(
      VIDEO_ERROR_CODES.noVideoTrack,
      `"${name}" has no video track (audio only?). Choose a screen recording with video.`,
      { name },
    ),
  truncated: (name: string, got: number, expected: number) =>
    videoError(
      VIDEO_ERROR_CODES.truncated,
      `"${name}" is truncated or damaged: only ${got} of its ${expected} frames could be read. Re-export or re-download the recording.`,
      { name, got, expected },
    ),
  corrupt: (name: string, reason: string, cause?: unknown) =>
    videoError(
      VIDEO_ERROR_CODES.corrupt,
      `"${name}" could not be read as a video (${reason}). The file may be damaged.`,
      { name, reason },
      true,
      cause,
    ),
  decoderMissing: (what: string) => videoError(VIDEO_ERROR_CODES.decoderMissing, what, undefined, false),
  cancelled: (name: string) => videoError(VIDEO_ERROR_CODES.cancelled, `Reading "${name}" was cancelled.`, { name }),
};

/** Throws `VIDEO_CANCELLED` when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, name: string): void {
  if (signal?.aborted) throw videoErrors.cancelled(name);
}
