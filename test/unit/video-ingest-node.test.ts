import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import {
  collectRgbFrames,
  extractRgbBatches,
  ingestVideo,
  measureIngestMsPerFrame,
  probeVideo,
} from "../../src/lib/video/node.js";
import { isGamedreamError } from "../../src/lib/core/index.js";
import { makeFixtures, PATTERN_CLIPS, readPattern, type Fixtures } from "../fixtures/make-fixtures.js";

let fx: Fixtures;
beforeAll(async () => {
  fx = await makeFixtures();
});
afterAll(() => fx?.cleanup());

/** Source index each 30 fps output frame must show: floor(centre * fps), ties to the later frame. */
const expectedIndices = (fps: number, frames: number): number[] =>
  Array.from({ length: Math.round((frames / fps) * 30) }, (_, i) =>
    Math.min(frames - 1, Math.floor(((i + 0.5) / 30) * fps + 1e-9)),
  );

async function errorOf(
  p: Promise<unknown>,
): Promise<{ code: string; type: string; recoverable: boolean; message: string; details?: Record<string, number> }> {
  try {
    await p;
  } catch (e) {
    if (!isGamedreamError(e)) throw e;
    return {
      code: e.code,
      type: e.type,
      recoverable: e.recoverable,
      message: e.message,
      details: e.details as Record<string, number> | undefined,
    };
  }
  throw new Error("expected a GamedreamError");
}

describe("Node video ingestion (ffprobe + ffmpeg)", () => {
  for (const [key, clip] of Object.entries(PATTERN_CLIPS)) {
    it(`${key}: the right source frames come out, in order, at 30 fps`, async () => {
      const info = await probeVideo(fx.path(clip.file));
      expect(info).toMatchObject({ width: clip.width, height: clip.height, fps: clip.fps });
      const { frames } = await collectRgbFrames(fx.path(clip.file), { batchSize: 7 });
      const want = expectedIndices(clip.fps, clip.frames);
      expect(info.frameCount30).toBe(want.length);
      const got = frames.map((f) => readPattern(f, clip.width, clip.height, "letterbox"));
      expect(got.map((g) => g.index)).toEqual(want);
      expect(got.every((g) => g.swatchesOk)).toBe(true);
    });
  }

  it("crop mode keeps the centre: the bits that survive the crop match", async () => {
    const clip = PATTERN_CLIPS.h264;
    const { frames } = await collectRgbFrames(fx.path(clip.file), { fit: "crop" });
    expect(frames).toHaveLength(60);
    frames.forEach((f, i) => {
      const { bits } = readPattern(f, clip.width, clip.height, "crop");
      expect(bits.size).toBe(4); // 640x360 cropped to a square loses the outer columns
      for (const [bit, v] of bits) expect(v).toBe((i >> bit) & 1);
    });
  });

  it("hands on [b,256,256,3] tensors in [-1,1] with progress, and leaks none", async () => {
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const starts: number[] = [];
    for await (const b of ingestVideo(fx.path(PATTERN_CLIPS.vp8.file), {
      batchSize: 16,
      onProgress: (p) => progress.push(p.framesDone),
    })) {
      expect(b.frames.shape).toEqual([b.count, 256, 256, 3]);
      const [min, max] = tf.tidy(() => [b.frames.min().dataSync()[0], b.frames.max().dataSync()[0]]);
      expect(min).toBe(-1);
      expect(max).toBe(1);
      starts.push(b.startIndex);
      b.frames.dispose();
    }
    tf.disposeVariables();
    expect(tf.memory().numTensors).toBe(before);
    expect(starts).toEqual([0, 16, 32]);
    expect(progress).toEqual([0, 16, 32, 36]);
  });

  it("cancels through an AbortSignal and stops ffmpeg", async () => {
    const ac = new AbortController();
    const seen: number[] = [];
    const err = await errorOf(
      (async () => {
        for await (const b of extractRgbBatches(fx.path(PATTERN_CLIPS.h264.file), {
          batchSize: 4,
          signal: ac.signal,
        })) {
          seen.push(b.startIndex);
          if (seen.length === 2) ac.abort();
        }
      })(),
    );
    expect(err.code).toBe("VIDEO_CANCELLED");
    expect(seen).toEqual([0, 4]);
  });

  const bad: [string, string][] = [
    ["fake-text.mp4", "VIDEO_NOT_VIDEO"],
    ["fake-png.mp4", "VIDEO_NOT_VIDEO"],
    ["empty.mp4", "VIDEO_EMPTY"],
    ["huge.mp4", "VIDEO_TOO_LARGE"],
    ["4k.mp4", "VIDEO_RESOLUTION_TOO_HIGH"],
    ["hevc.mp4", "VIDEO_UNSUPPORTED_CODEC"],
    ["mpeg4.mp4", "VIDEO_UNSUPPORTED_CODEC"],
    ["audio-only.mp4", "VIDEO_NO_VIDEO_TRACK"],
    ["audio-only.webm", "VIDEO_NO_VIDEO_TRACK"],
    ["truncated.mp4", "VIDEO_TRUNCATED"],
    ["truncated-noindex.mp4", "VIDEO_CORRUPT"],
    ["truncated.webm", "VIDEO_TRUNCATED"],
    ["clip.mkv", "VIDEO_UNSUPPORTED_CONTAINER"],
  ];
  for (const [file, code] of bad) {
    it(`${file} -> ${code}`, async () => {
      const err = await errorOf(collectRgbFrames(fx.path(file)));
      expect(err.code).toBe(code);
      expect(err.type).toBe("video");
      expect(err.recoverable).toBe(true);
      expect(err.message).toContain(file);
    });
  }

  it("truncated.webm: every whole frame is read, and the count is in the refusal", async () => {
    const err = await errorOf(collectRgbFrames(fx.path("truncated.webm")));
    // Half of a 36-frame clip was cut: the frames before the cut are decoded, none after it.
    expect(err.details).toMatchObject({ expected: 36 });
    expect(err.details!.got).toBeGreaterThan(10);
    expect(err.details!.got).toBeLessThan(20);
    expect(err.message).toMatch(new RegExp(`only ${err.details!.got} of its 36 frames could be read`));
  });

  it("says plainly when ffmpeg or ffprobe is missing", async () => {
    const probe = await errorOf(
      probeVideo(fx.path(PATTERN_CLIPS.vp8.file), { ffprobePath: "/nonexistent/ffprobe" } as never),
    );
    expect(probe).toMatchObject({ code: "VIDEO_DECODER_MISSING", recoverable: false });
    expect(probe.message).toMatch(/ffprobe was not found.*apt-get install ffmpeg/);
    const dec = await errorOf(
      collectRgbFrames(fx.path(PATTERN_CLIPS.vp8.file), { ffmpegPath: "/nonexistent/ffmpeg" } as never),
    );
    expect(dec.code).toBe("VIDEO_DECODER_MISSING");
  });

  it("measures ms per frame for the benchmark runner", async () => {
    const t = await measureIngestMsPerFrame(fx.path(PATTERN_CLIPS.h264.file));
    expect(t.frames).toBe(60);
    expect(t.msPerFrame).toBeGreaterThan(0);
    console.log(
      `ingest 640x360 H.264 -> 256x256: ${t.msPerFrame.toFixed(1)} ms/frame over ${t.frames} frames (probe ${t.probeMs.toFixed(0)} ms)`,
    );
  });
});
