import { describe, expect, it } from "vitest";
import { INTERACTIONS, MOVEMENT_KEYS, type Action } from "../../src/lib/actions/index.js";
import { RGB_FRAME_BYTES } from "../../src/lib/core/index.js";
import {
  CAMERA_BINS,
  actionHistograms,
  cameraBin,
  episodeFrame,
  motionSeries,
  playEpisode,
  recordEpisode,
} from "../../src/lib/data/index.js";

const act = (movement: number[], yaw: number, pitch: number, interaction: number): Action => ({
  movement: movement as Action["movement"],
  camera: [yaw, pitch],
  interaction,
});

describe("dataset stats", () => {
  it("records a deterministic episode with one action per frame and reports progress", () => {
    const it1 = playEpisode({ seed: 3, agent: "explorer", frames: 12 });
    const progress: number[] = [];
    let r = it1.next();
    while (!r.done) {
      progress.push(r.value);
      r = it1.next();
    }
    const a = r.value;
    expect(progress).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(a.frames.length).toBe(12 * RGB_FRAME_BYTES);
    expect(a.actions).toHaveLength(12);
    const b = recordEpisode({ seed: 3, agent: "explorer", frames: 12 });
    expect(Buffer.from(b.frames).equals(Buffer.from(a.frames))).toBe(true);
    const c = recordEpisode({ seed: 4, agent: "explorer", frames: 12 });
    expect(Buffer.from(c.frames).equals(Buffer.from(a.frames))).toBe(false);
    expect(() => recordEpisode({ seed: 1, agent: "random", frames: 0 })).toThrow(/whole number of frames/);
  });

  it("motion is the mean absolute difference of consecutive frames", () => {
    const frames = new Uint8Array(3 * RGB_FRAME_BYTES);
    frames.fill(255, RGB_FRAME_BYTES, 2 * RGB_FRAME_BYTES); // frame 1 white, 0 and 2 black
    frames.fill(51, 2 * RGB_FRAME_BYTES, 2 * RGB_FRAME_BYTES + RGB_FRAME_BYTES / 2); // half of frame 2 at 0.2
    const ep = { name: "x", frames, frameCount: 3, actions: [] };
    const m = motionSeries(ep);
    expect(Array.from(m).map((v) => +v.toFixed(6))).toEqual([0, 1, +(0.5 * 0.8 + 0.5 * 1).toFixed(6)]);
    expect(episodeFrame(ep, 1)[0]).toBe(255);
  });

  it("bins camera values with a bin of its own for zero", () => {
    expect(CAMERA_BINS).toHaveLength(9);
    expect([-1, -0.8, -0.5, -0.01, 0, 0.01, 0.3, 0.75, 1].map(cameraBin)).toEqual([0, 0, 2, 3, 4, 5, 6, 8, 8]);
  });

  it("counts movement keys, camera bins and interactions over episodes", () => {
    const h = actionHistograms([
      [act([1, 0, 0, 0], 0, 0, 0), act([1, 0, 1, 0], 1, -1, 1)],
      [act([0, 0, 0, 1], -0.3, 0, 2)],
    ]);
    expect(h.frames).toBe(3);
    expect(h.movement.map((m) => m.count)).toEqual([2, 0, 1, 1]);
    expect(h.movement.map((m) => m.key)).toEqual([...MOVEMENT_KEYS]);
    expect(h.interaction.map((m) => m.count)).toEqual([1, 1, 1]);
    expect(h.interaction.map((m) => m.name)).toEqual([...INTERACTIONS]);
    const yaw = h.camera.filter((c) => c.axis === "yaw").map((c) => c.count);
    const pitch = h.camera.filter((c) => c.axis === "pitch").map((c) => c.count);
    expect(yaw).toEqual([0, 0, 1, 0, 1, 0, 0, 0, 1]);
    expect(pitch).toEqual([1, 0, 0, 0, 2, 0, 0, 0, 0]);
  });
});
