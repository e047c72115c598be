import { describe, expect, it } from "vitest";
import { FrameCentreResampler, mapFrameCentres, outputFrameCount } from "../../src/lib/video/index.js";

/** The rule written out independently: output i shows source floor(((i + 0.5) / 30) * fps), ties to the later frame. */
const expected = (fps: number, sourceFrames: number): number[] => {
  const n = Math.round((sourceFrames / fps) * 30);
  return Array.from({ length: n }, (_, i) => Math.min(sourceFrames - 1, Math.floor(((i + 0.5) / 30) * fps + 1e-9)));
};

const times = (fps: number, n: number, start = 0, roundMs = false): number[] =>
  Array.from({ length: n }, (_, j) => {
    const t = start + j / fps;
    return roundMs ? Math.round(t * 1000) / 1000 : t;
  });

describe("frame-centre resampling to 30 fps", () => {
  for (const fps of [24, 25, 30, 50, 60, 120]) {
    it(`maps ${fps} fps to the frame shown at each output frame's centre`, () => {
      const n = fps * 2;
      expect(Array.from(mapFrameCentres(times(fps, n), n / fps))).toEqual(expected(fps, n));
    });
  }

  it("60 fps keeps every other frame, starting with the one that starts at the first centre", () => {
    const map = Array.from(mapFrameCentres(times(60, 12), 12 / 60));
    expect(map).toEqual([1, 3, 5, 7, 9, 11]);
  });

  it("24 fps repeats exactly one frame in four", () => {
    const map = Array.from(mapFrameCentres(times(24, 24), 1));
    expect(map).toHaveLength(30);
    const repeats = map.filter((v, i) => i > 0 && v === map[i - 1]).length;
    expect(repeats).toBe(6);
    expect(new Set(map).size).toBe(24);
  });

  it("millisecond-rounded WebM timestamps at 30 fps lose no frame (sampling at i/30 would)", () => {
    const map = Array.from(mapFrameCentres(times(30, 90, 0, true), 3));
    expect(map).toEqual(Array.from({ length: 90 }, (_, i) => i));
  });

  for (const fps of [24, 60]) {
    it(`millisecond-rounded ${fps} fps timestamps resolve ties exactly as exact ones do`, () => {
      expect(Array.from(mapFrameCentres(times(fps, fps * 2, 0, true), 2))).toEqual(expected(fps, fps * 2));
    });
  }

  it("counts from the first frame's timestamp, not from zero", () => {
    expect(Array.from(mapFrameCentres(times(30, 30, 5.25), 5.25 + 1))).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it("holds a frame across a gap in a variable-frame-rate stream", () => {
    // Frames at 0, 1/30, then nothing until 0.5 s: frame 1 fills the gap.
    const map = Array.from(mapFrameCentres([0, 1 / 30, 0.5], 0.5 + 1 / 30));
    expect(map.slice(0, 2)).toEqual([0, 1]);
    expect(map.slice(2, 15).every((v) => v === 1)).toBe(true);
    expect(map[15]).toBe(2);
  });

  it("streams: next() returns how many outputs the previous frame fills", () => {
    const r = new FrameCentreResampler(30);
    expect(r.next(0)).toBe(0);
    expect(r.next(0.1)).toBe(3);
    expect(r.end(0.2)).toBe(3);
    expect(r.emitted).toBe(6);
    expect(outputFrameCount(0)).toBe(0);
    expect(outputFrameCount(2)).toBe(60);
    expect(outputFrameCount(1.999)).toBe(60);
  });
});
