/**
 * The one upload path (src/lib/data/upload.ts): frames capped, the log cut with them and paired,
 * the cut said in words, and the training episode built from it. Decoding is replaced by made-up
 * batches whose frame t is filled with the byte t.
 */
import { describe, expect, it } from "vitest";
import type { Action } from "../../src/lib/actions/index.js";
import { RGB_FRAME_BYTES } from "../../src/lib/core/index.js";
import {
  MAX_UPLOAD_FRAMES,
  collectFrames,
  episodeFromUpload,
  uploadedEpisodeSource,
  type EpisodeStep,
} from "../../src/lib/data/index.js";
import type { RgbBatch } from "../../src/lib/video/index.js";

/** `frames` frames in batches of `size`; `read.batches` counts the batches taken and `read.closed` whether the decoder was stopped. */
function decoded(frames: number, size = 16) {
  const read = { batches: 0, closed: false };
  async function* batches(): AsyncGenerator<RgbBatch> {
    try {
      for (let start = 0; start < frames; start += size) {
        const count = Math.min(size, frames - start);
        const rgb = new Uint8Array(count * RGB_FRAME_BYTES);
        for (let i = 0; i < count; i++) rgb.fill((start + i) % 256, i * RGB_FRAME_BYTES, (i + 1) * RGB_FRAME_BYTES);
        read.batches++;
        yield { rgb, count, startIndex: start };
      }
    } finally {
      read.closed = true;
    }
  }
  return { batches: batches(), read };
}

/** Log entry k is recognisable: yaw = k / 1000. */
const log = (n: number): Action[] =>
  Array.from({ length: n }, (_, k) => ({ movement: [0, 0, 0, 0], camera: [k / 1000, 0], interaction: 0 }));
const ids = (actions: Action[]): number[] => actions.map((a) => Math.round(a.camera[0] * 1000));
const frameMarks = (frames: Uint8Array, count: number): number[] =>
  Array.from({ length: count }, (_, t) => frames[t * RGB_FRAME_BYTES + 7]);

describe("the upload path", () => {
  it("keeps every frame of a short video, in order", async () => {
    const { batches, read } = decoded(40);
    const out = await collectFrames(batches, 100);
    expect(out.frameCount).toBe(40);
    expect(out.complete).toBe(true);
    expect(out.frames.length).toBe(40 * RGB_FRAME_BYTES);
    expect(frameMarks(out.frames, 40)).toEqual(Array.from({ length: 40 }, (_, t) => t));
    expect(read.closed).toBe(true);
  });

  it("stops at the cap, mid-batch or on a batch boundary, and stops the decoder", async () => {
    const mid = decoded(100);
    const cut = await collectFrames(mid.batches, 20);
    expect(cut).toMatchObject({ frameCount: 20, complete: false });
    expect(frameMarks(cut.frames, 20)).toEqual(Array.from({ length: 20 }, (_, t) => t));
    expect(mid.read).toEqual({ batches: 2, closed: true });

    const boundary = decoded(100);
    expect(await collectFrames(boundary.batches, 32)).toMatchObject({ frameCount: 32, complete: false });
    expect(boundary.read.batches).toBeLessThan(7);
    expect(boundary.read.closed).toBe(true);
    // Exactly as long as the cap: nothing is cut.
    expect(await collectFrames(decoded(32).batches, 32)).toMatchObject({ frameCount: 32, complete: true });
  });

  it("cuts the log with the video and pairs entry k with frame k; the cut is said in words", async () => {
    const { batches } = decoded(50);
    const episode = await episodeFromUpload(
      { video: { name: "clip.mp4", batches, frames: () => 50 }, log: { name: "clip.csv", actions: log(50) } },
      { maxFrames: 30 },
    );
    expect(episode).toMatchObject({
      name: "clip.mp4 + clip.csv",
      videoName: "clip.mp4",
      frameCount: 30,
      videoFrames: 50,
    });
    expect(ids(episode.actions)).toEqual(Array.from({ length: 30 }, (_, k) => k));
    expect(episode.cutNote).toMatch(/clip\.mp4 has 50 frames at 30 fps; only the first 30 \(1 s\)/);

    const whole = await episodeFromUpload({
      video: { name: "clip.mp4", batches: decoded(20).batches },
      log: { name: "clip.csv", actions: log(20) },
    });
    expect(whole.cutNote).toBeNull();
    expect(whole.frameCount).toBe(20);
  });

  it("refuses a log that does not match the video (pairing's rule), naming both lengths", async () => {
    const short = episodeFromUpload({
      video: { name: "clip.mp4", batches: decoded(40).batches },
      log: { name: "short.csv", actions: log(30) },
    });
    await expect(short).rejects.toMatchObject({ code: "ACTION_LENGTH_MISMATCH" });
    await expect(
      episodeFromUpload({
        video: { name: "clip.mp4", batches: decoded(40).batches },
        log: { name: "short.csv", actions: log(30) },
      }),
    ).rejects.toThrow(/30 entries.*40 frames/);
  });

  it("a video alone has no actions, a log alone no frames", async () => {
    const video = await episodeFromUpload({ video: { name: "clip.webm", batches: decoded(10).batches }, log: null });
    expect(video).toMatchObject({ name: "clip.webm", frameCount: 10, actions: [] });
    const onlyLog = await episodeFromUpload({ video: null, log: { name: "walk.csv", actions: log(12) } });
    expect(onlyLog).toMatchObject({ name: "walk.csv", frameCount: 0, videoName: null, videoFrames: 0, cutNote: null });
    expect(onlyLog.actions).toHaveLength(12);
  });

  it("trains on a video with its log, and refuses one without", async () => {
    const episode = await episodeFromUpload({
      video: { name: "clip.mp4", batches: decoded(6).batches },
      log: { name: "clip.json", actions: log(6) },
    });
    const source = uploadedEpisodeSource(episode);
    expect(source.meta).toMatchObject({ id: "clip.mp4", source: "video", name: "clip.mp4" });
    const steps: EpisodeStep[] = [];
    for await (const s of source.steps()) steps.push(s);
    expect(steps.map((s) => s.rgb[0])).toEqual([0, 1, 2, 3, 4, 5]);
    expect(ids(steps.map((s) => s.action))).toEqual([0, 1, 2, 3, 4, 5]);
    const alone = await episodeFromUpload({ video: { name: "clip.mp4", batches: decoded(6).batches }, log: null });
    expect(() => uploadedEpisodeSource(alone)).toThrow(expect.objectContaining({ code: "UPLOAD_INCOMPLETE" }));
  });

  it("has one documented cap, 30 s at 30 fps", () => {
    expect(MAX_UPLOAD_FRAMES).toBe(900);
  });
});
