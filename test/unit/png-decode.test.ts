// The browser tests' PNG decoder (test/e2e/png.ts) reads back what src/lib/core/png.node.ts writes, and
// undoes every row filter (Sub, Up, Average, Paeth, which encodePng does not use) for RGB and RGBA.
import { crc32, deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { encodePng } from "../../src/lib/core/node.js";
import { decodePng } from "../e2e/png.js";

/** Bytes that vary in x, y and channel, with no pattern a wrong filter would keep. */
function pattern(width: number, height: number, channels: number, seed: number): Uint8Array {
  const out = new Uint8Array(width * height * channels);
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s >>> 16) & 0xff;
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}

/** A PNG whose row y uses filter `filterOf(y)`: the encoder side of the five filter types. */
function filteredPng(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 3 | 4,
  filterOf: (y: number) => number,
  interlace = 0,
): Buffer {
  const stride = width * channels;
  const raw = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const filter = filterOf(y);
    raw[y * (stride + 1)] = filter;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[y * stride + x - channels] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
      const predicted = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter];
      raw[y * (stride + 1) + 1 + x] = (pixels[y * stride + x] - predicted) & 0xff;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, channels === 4 ? 6 : 2, 0, 0, interlace], 8);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  // Two IDAT chunks: the decoder must join them before inflating.
  const deflated = deflateSync(raw);
  const half = deflated.length >> 1;
  return Buffer.concat([
    signature,
    chunk("IHDR", ihdr),
    chunk("IDAT", deflated.subarray(0, half)),
    chunk("IDAT", deflated.subarray(half)),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

function rgbToRgba(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array((rgb.length / 3) * 4);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) out.set([rgb[i], rgb[i + 1], rgb[i + 2], 255], j);
  return out;
}

describe("decodePng (test/e2e/png.ts)", () => {
  it("reads back encodePng's RGB output as RGBA with opaque alpha", () => {
    const [width, height] = [13, 7];
    const rgb = pattern(width, height, 3, 1);
    const image = decodePng(encodePng(rgb, width, height));
    expect([image.width, image.height]).toEqual([width, height]);
    expect(Array.from(image.data)).toEqual(Array.from(rgbToRgba(rgb)));
  });

  it("undoes all five row filters, for RGB and for RGBA", () => {
    const [width, height] = [11, 10];
    for (const channels of [3, 4] as const) {
      const pixels = pattern(width, height, channels, 7 + channels);
      const image = decodePng(filteredPng(pixels, width, height, channels, (y) => y % 5));
      const want = channels === 4 ? pixels : rgbToRgba(pixels);
      expect(Array.from(image.data)).toEqual(Array.from(want));
    }
  });

  it("refuses what it cannot read, saying why", () => {
    expect(() => decodePng(new Uint8Array(16))).toThrow(/not a PNG/);
    expect(() => decodePng(filteredPng(pattern(4, 4, 3, 2), 4, 4, 3, () => 0, 1))).toThrow(/non-interlaced/);
    expect(() => decodePng(filteredPng(pattern(4, 4, 3, 2), 4, 4, 3, () => 5))).toThrow(/unknown filter type 5/);
  });
});
