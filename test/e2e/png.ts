/**
 * A minimal PNG decoder for the browser tests: Playwright's screenshots (8-bit RGB or RGBA,
 * non-interlaced) -> RGBA bytes, so a test can measure pixels in Node with no image dependency.
 * The IDAT chunks are inflated through node:zlib and each row is unfiltered (None, Sub, Up,
 * Average, Paeth). Anything else (palette, grey, 16-bit, interlaced) is refused with a message.
 */
import { inflateSync } from "node:zlib";
import type { RgbaImage } from "../../src/lib/core/index.js";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const COLOUR_RGB = 2;
const COLOUR_RGBA = 6;

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** PNG file bytes -> `{data, width, height}` with `data` RGBA `[height, width, 4]` (alpha 255 for RGB). */
export function decodePng(bytes: Uint8Array): RgbaImage & { data: Uint8ClampedArray } {
  const file = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (file.length < 8 || SIGNATURE.some((b, i) => file[i] !== b))
    throw new Error("decodePng: not a PNG (bad signature)");
  let width = 0;
  let height = 0;
  let colourType = -1;
  const idat: Buffer[] = [];
  for (let at = 8; at + 8 <= file.length; ) {
    const length = file.readUInt32BE(at);
    const type = file.toString("latin1", at + 4, at + 8);
    const body = file.subarray(at + 8, at + 8 + length);
    if (body.length !== length) throw new Error(`decodePng: chunk ${type} is truncated`);
    if (type === "IHDR") {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const [bitDepth, colour, , , interlace] = body.subarray(8, 13);
      if (bitDepth !== 8 || (colour !== COLOUR_RGB && colour !== COLOUR_RGBA) || interlace !== 0) {
        throw new Error(
          `decodePng: only 8-bit RGB/RGBA non-interlaced PNGs are supported (bit depth ${bitDepth}, colour type ${colour}, interlace ${interlace})`,
        );
      }
      colourType = colour;
    } else if (type === "IDAT") idat.push(body);
    else if (type === "IEND") break;
    at += 12 + length;
  }
  if (colourType < 0) throw new Error("decodePng: no IHDR chunk");
  const channels = colourType === COLOUR_RGBA ? 4 : 3;
  const stride = width * channels;
  const raw = inflateSync(Buffer.concat(idat));
  if (raw.length < height * (stride + 1))
    throw new Error(
      `decodePng: image data holds ${raw.length} bytes, ${width}x${height} needs ${height * (stride + 1)}`,
    );
  // Unfilter in place, row by row: each filter predicts a byte from its left (a), up (b) and up-left (c) neighbours.
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const up = row - stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[row + x - channels] : 0;
      const b = y > 0 ? pixels[up + x] : 0;
      const c = x >= channels && y > 0 ? pixels[up + x - channels] : 0;
      const value = raw[src + x];
      let predicted: number;
      if (filter === 0) predicted = 0;
      else if (filter === 1) predicted = a;
      else if (filter === 2) predicted = b;
      else if (filter === 3) predicted = (a + b) >> 1;
      else if (filter === 4) predicted = paeth(a, b, c);
      else throw new Error(`decodePng: row ${y} has unknown filter type ${filter}`);
      pixels[row + x] = (value + predicted) & 0xff;
    }
  }
  if (channels === 4) return { data: new Uint8ClampedArray(pixels.buffer), width, height };
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0, j = 0; i < pixels.length; i += 3, j += 4) {
    rgba[j] = pixels[i];
    rgba[j + 1] = pixels[i + 1];
    rgba[j + 2] = pixels[i + 2];
    rgba[j + 3] = 255;
  }
  return { data: rgba, width, height };
}
