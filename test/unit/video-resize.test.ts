import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { createResizer, fitRect } from "../../src/lib/video/index.js";
import { FRAME_SIZE } from "../../src/lib/core/index.js";
import { patternFrame } from "../fixtures/make-fixtures.js";

const px = (rgb: Uint8Array, x: number, y: number): number[] =>
  Array.from(rgb.subarray((y * FRAME_SIZE + x) * 3, (y * FRAME_SIZE + x) * 3 + 3));

describe("256x256 resize", () => {
  it("letterbox fits the whole picture on whole pixels; crop covers the square", () => {
    expect(fitRect(640, 360, "letterbox")).toEqual({ x: 0, y: 56, w: 256, h: 144 });
    expect(fitRect(180, 320, "letterbox")).toEqual({ x: 56, y: 0, w: 144, h: 256 });
    const c = fitRect(640, 360, "crop");
    expect(c.h).toBe(256);
    expect(c.w).toBeCloseTo(455.11, 2);
    expect(c.x).toBeCloseTo(-99.56, 2);
  });

  it("keeps flat colour flat, draws black bars, reads RGBA with a row stride", () => {
    const w = 333;
    const h = 201;
    const stride = w * 4 + 12;
    const src = new Uint8Array(stride * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) src.set([200, 100, 50, 255], y * stride + x * 4);
    const out = createResizer({ srcWidth: w, srcHeight: h, channels: 4, stride, fit: "letterbox" }).resize(src);
    const r = fitRect(w, h, "letterbox");
    expect(px(out, 128, 128)).toEqual([200, 100, 50]);
    expect(px(out, 0, r.y)).toEqual([200, 100, 50]);
    expect(px(out, 255, r.y + r.h - 1)).toEqual([200, 100, 50]);
    expect(px(out, 128, r.y - 1)).toEqual([0, 0, 0]);
    expect(px(out, 128, r.y + r.h)).toEqual([0, 0, 0]);
    const crop = createResizer({ srcWidth: w, srcHeight: h, channels: 4, stride, fit: "crop" }).resize(src);
    expect(px(crop, 0, 0)).toEqual([200, 100, 50]);
    expect(px(crop, 255, 255)).toEqual([200, 100, 50]);
  });

  it("upscales small sources and preserves a horizontal gradient's order", () => {
    const w = 64;
    const h = 64;
    const src = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) src.set([x * 4, x * 4, x * 4], (y * w + x) * 3);
    const out = createResizer({ srcWidth: w, srcHeight: h, channels: 3, fit: "crop" }).resize(src);
    for (let x = 1; x < FRAME_SIZE; x++) expect(px(out, x, 100)[0]).toBeGreaterThanOrEqual(px(out, x - 1, 100)[0]);
    expect(px(out, 0, 0)[0]).toBe(0);
    expect(px(out, 255, 0)[0]).toBe(252);
  });

  it("agrees with ffmpeg's scaler (the Node path) on the same frame", () => {
    const w = 640;
    const h = 360;
    const frame = patternFrame(w, h, 0b10110010);
    for (const fit of ["letterbox", "crop"] as const) {
      const r = fitRect(w, h, fit);
      const vf =
        fit === "letterbox"
          ? `scale=${r.w}:${r.h}:flags=bilinear,pad=256:256:${r.x}:${r.y}:black`
          : `scale=${Math.round(r.w)}:${Math.round(r.h)}:flags=bilinear,crop=256:256`;
      const ff = spawnSync(
        "ffmpeg",
        [
          "-v",
          "error",
          "-f",
          "rawvideo",
          "-pix_fmt",
          "rgb24",
          "-s",
          `${w}x${h}`,
          "-i",
          "pipe:0",
          "-vf",
          vf,
          "-f",
          "rawvideo",
          "-pix_fmt",
          "rgb24",
          "pipe:1",
        ],
        {
          input: frame,
          maxBuffer: 1 << 24,
        },
      );
      expect(ff.status).toBe(0);
      const theirs = new Uint8Array(ff.stdout);
      const ours = createResizer({ srcWidth: w, srcHeight: h, channels: 3, fit }).resize(frame);
      expect(theirs.length).toBe(ours.length);
      let diff = 0;
      for (let i = 0; i < ours.length; i++) diff += Math.abs(ours[i] - theirs[i]);
      expect(diff / ours.length).toBeLessThan(2);
    }
  });
});
