/**
 * Conversions between the pixel buffers that games, decoders and canvases produce (RGBA or RGB
 * uint8) and the model's frames: Float32 `[H, W, 3]` in [-1, 1] (a clip `[T, H, W, 3]`).
 * Byte -> float goes through a 256-entry table, float -> byte rounds to nearest, so
 * byte -> float -> byte is exact.
 */
import * as tf from "@tensorflow/tfjs";
import { GamedreamError } from "./errors.js";

/** Frame side after ingestion and in the built-in game: every frame is 256x256. */
export const FRAME_SIZE = 256;
export const FRAME_CHANNELS = 3;
/** Bytes of one RGB uint8 frame at FRAME_SIZE. */
export const RGB_FRAME_BYTES = FRAME_SIZE * FRAME_SIZE * FRAME_CHANNELS;

/** A picture as canvases hold it (RGBA, row-major, 4 bytes per pixel); ImageData has this shape. */
export interface RgbaImage {
  data: Uint8ClampedArray | Uint8Array;
  width: number;
  height: number;
}

const BYTE_TO_UNIT = new Float32Array(256).map((_, i) => i / 127.5 - 1);

function checkLength(actual: number, expected: number, what: string): void {
  if (actual !== expected) {
    throw new GamedreamError(
      "FRAME_SIZE_MISMATCH",
      "validation",
      `${what} has ${actual} values; expected ${expected}.`,
      { recoverable: false, details: { actual, expected } },
    );
  }
}

/** RGBA bytes (4 per pixel) -> RGB bytes (3 per pixel), dropping alpha. */
export function rgbaToRgb(rgba: ArrayLike<number>, out?: Uint8Array, outOffset = 0): Uint8Array {
  const n = rgba.length >> 2;
  checkLength(rgba.length, n * 4, "RGBA buffer");
  const dst = out ?? new Uint8Array(n * 3);
  for (let i = 0, j = outOffset; i < n * 4; i += 4, j += 3) {
    dst[j] = rgba[i];
    dst[j + 1] = rgba[i + 1];
    dst[j + 2] = rgba[i + 2];
  }
  return dst;
}

/** RGB bytes -> RGBA bytes with opaque alpha. */
export function rgbToRgba(rgb: ArrayLike<number>, out?: Uint8ClampedArray): Uint8ClampedArray {
  const n = Math.floor(rgb.length / 3);
  checkLength(rgb.length, n * 3, "RGB buffer");
  const dst = out ?? new Uint8ClampedArray(n * 4);
  for (let i = 0, j = 0; i < n * 3; i += 3, j += 4) {
    dst[j] = rgb[i];
    dst[j + 1] = rgb[i + 1];
    dst[j + 2] = rgb[i + 2];
    dst[j + 3] = 255;
  }
  return dst;
}

/** RGB bytes -> floats in [-1, 1], written into `out` at `outOffset` (same element count). */
export function rgbToUnit(rgb: ArrayLike<number>, out?: Float32Array, outOffset = 0): Float32Array {
  const dst = out ?? new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) dst[outOffset + i] = BYTE_TO_UNIT[rgb[i]];
  return dst;
}

/** RGBA bytes -> RGB floats in [-1, 1] (alpha dropped). */
export function rgbaToUnit(rgba: ArrayLike<number>, out?: Float32Array, outOffset = 0): Float32Array {
  const n = rgba.length >> 2;
  checkLength(rgba.length, n * 4, "RGBA buffer");
  const dst = out ?? new Float32Array(n * 3);
  for (let i = 0, j = outOffset; i < n * 4; i += 4, j += 3) {
    dst[j] = BYTE_TO_UNIT[rgba[i]];
    dst[j + 1] = BYTE_TO_UNIT[rgba[i + 1]];
    dst[j + 2] = BYTE_TO_UNIT[rgba[i + 2]];
  }
  return dst;
}

/** Floats in [-1, 1] (values outside are clamped) -> bytes, rounded to nearest. */
export function unitToRgb(values: ArrayLike<number>, out?: Uint8Array): Uint8Array {
  const dst = out ?? new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) dst[i] = unitToByte(values[i]);
  return dst;
}

/** RGB floats in [-1, 1] -> RGBA bytes (opaque), ready for `new ImageData(out, w, h)`. */
export function unitToRgba(values: ArrayLike<number>, out?: Uint8ClampedArray): Uint8ClampedArray {
  const n = Math.floor(values.length / 3);
  checkLength(values.length, n * 3, "RGB float buffer");
  const dst = out ?? new Uint8ClampedArray(n * 4);
  // A Uint8ClampedArray clamps and rounds on assignment, so the hot path (one call per live frame)
  // skips unitToByte's explicit rounding and clamping.
  for (let i = 0, j = 0; i < n * 3; i += 3, j += 4) {
    dst[j] = (values[i] + 1) * 127.5;
    dst[j + 1] = (values[i + 1] + 1) * 127.5;
    dst[j + 2] = (values[i + 2] + 1) * 127.5;
    dst[j + 3] = 255;
  }
  return dst;
}

function unitToByte(v: number): number {
  const b = Math.round((v + 1) * 127.5);
  return b < 0 ? 0 : b > 255 ? 255 : b || 0; // `|| 0` maps NaN to black
}

/** RGBA image -> tensor `[H, W, 3]` in [-1, 1]. */
export function rgbaToTensor(image: RgbaImage): tf.Tensor3D {
  checkLength(image.data.length, image.width * image.height * 4, `RGBA image ${image.width}x${image.height}`);
  return tf.tensor3d(rgbaToUnit(image.data), [image.height, image.width, 3]);
}

/** RGB bytes `[H, W, 3]` -> tensor `[H, W, 3]` in [-1, 1]. */
export function rgbToTensor(rgb: ArrayLike<number>, width = FRAME_SIZE, height = FRAME_SIZE): tf.Tensor3D {
  checkLength(rgb.length, width * height * 3, `RGB frame ${width}x${height}`);
  return tf.tensor3d(rgbToUnit(rgb), [height, width, 3]);
}

/** T RGB byte frames concatenated (`[T, H, W, 3]` uint8) -> tensor `[T, H, W, 3]` in [-1, 1]. */
export function rgbClipToTensor(rgb: Uint8Array, frames: number, width = FRAME_SIZE, height = FRAME_SIZE): tf.Tensor4D {
  checkLength(rgb.length, frames * width * height * 3, `RGB clip of ${frames} frames ${width}x${height}`);
  return tf.tensor4d(rgbToUnit(rgb), [frames, height, width, 3]);
}

/** Tensor `[H, W, 3]` in [-1, 1] -> RGBA image (reads the tensor synchronously; does not dispose it). */
export function tensorToRgba(frame: tf.Tensor3D): RgbaImage & { data: Uint8ClampedArray } {
  const [height, width, channels] = frame.shape;
  if (channels !== 3) {
    throw new GamedreamError(
      "FRAME_SIZE_MISMATCH",
      "validation",
      `Expected a frame [H, W, 3], got shape [${frame.shape.join(", ")}].`,
      { recoverable: false },
    );
  }
  return { data: unitToRgba(frame.dataSync()), width, height };
}

/** Async variant of `tensorToRgba` that does not block on GPU backends. */
export async function tensorToRgbaAsync(frame: tf.Tensor3D): Promise<RgbaImage & { data: Uint8ClampedArray }> {
  const [height, width] = frame.shape;
  return { data: unitToRgba(await frame.data()), width, height };
}

/** Mean absolute difference of two same-size byte buffers, in [0, 1] (a cheap motion measure). */
export function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkLength(b.length, a.length, "Second buffer");
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return a.length === 0 ? 0 : s / (255 * a.length);
}
