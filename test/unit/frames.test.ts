import { describe, expect, it } from "vitest";
import { rgbToUnit, unitToRgb, unitToRgba } from "../../src/lib/core/index.js";

describe("frame conversions", () => {
  it("bytes -> [-1, 1] -> RGBA bytes is exact for every byte value, alpha opaque", () => {
    const rgb = new Uint8Array(256 * 3).map((_, i) => Math.floor(i / 3));
    const rgba = unitToRgba(rgbToUnit(rgb));
    for (let p = 0; p < 256; p++) {
      expect([rgba[p * 4], rgba[p * 4 + 1], rgba[p * 4 + 2], rgba[p * 4 + 3]]).toEqual([p, p, p, 255]);
    }
    expect(Array.from(unitToRgb(rgbToUnit(rgb)))).toEqual(Array.from(rgb));
  });

  it("clamps values outside [-1, 1] and maps NaN to black, like unitToRgb", () => {
    const values = Float32Array.from([-3, 2, NaN, -1, 1, 0]);
    expect(Array.from(unitToRgba(values))).toEqual([0, 255, 0, 255, 0, 255, 128, 255]);
    expect(Array.from(unitToRgb(values))).toEqual([0, 255, 0, 0, 255, 128]);
  });
});
