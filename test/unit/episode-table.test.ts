import { describe, expect, it } from "vitest";
import type { Action } from "../../src/lib/actions/index.js";
import { motionSeries, recordEpisode, type EpisodeTableInput } from "../../src/lib/data/index.js";
import { episodeTable, stepTable, summarizeEpisodes } from "../../src/lib/data/worker.js";

const act = (movement: number[], yaw: number, pitch: number, interaction: number): Action => ({
  movement: movement as Action["movement"],
  camera: [yaw, pitch],
  interaction,
});

// Two episodes with numbers worked out by hand: "a" has 4 frames and 4 actions, "b" a log of 2
// actions with 3 frames (the last frame has no action), "c" an action log without video.
const A: EpisodeTableInput = {
  name: "a",
  frameCount: 4,
  actions: [
    act([1, 0, 0, 0], 0.5, 0, 0),
    act([0, 0, 0, 0], -0.5, 0.25, 1),
    act([0, 0, 1, 1], 0, -0.75, 2),
    act([0, 0, 0, 0], 0, 0, 1),
  ],
  motion: [0, 0.1, 0.2, 0.3],
};
const B: EpisodeTableInput = {
  name: "b",
  frameCount: 3,
  actions: [act([0, 1, 0, 0], 1, 0, 2), act([0, 0, 0, 0], 0, 0, 0)],
  motion: [0.9, 0.4, 0],
};
const C: EpisodeTableInput = { name: "c", frameCount: 0, actions: [act([0, 0, 0, 0], 0.2, 0, 0)], motion: [] };

describe("per-episode table (arquero)", () => {
  it("has one step row per frame or action, nulls where an episode has none", () => {
    const steps = stepTable([A, B, C]);
    expect(steps.numRows()).toBe(4 + 3 + 1);
    const b = steps.filter((d: Record<string, string>) => d.episode === "b").objects() as Record<string, unknown>[];
    expect(b.map((r) => r.hasAction)).toEqual([1, 1, 0]);
    expect(b.map((r) => r.moving)).toEqual([1, 0, null]);
    expect(b.map((r) => r.motion)).toEqual([null, 0.4, 0]);
  });

  it("rolls steps up into the numbers worked out by hand, in the episodes' order", () => {
    const rows = summarizeEpisodes([B, A, C]);
    expect(rows.map((r) => r.name)).toEqual(["b", "a", "c"]);
    const [b, a, c] = rows;
    expect(a).toEqual({
      name: "a",
      frames: 4,
      actions: 4,
      moving: 0.5,
      meanAbsYaw: 0.25,
      meanAbsPitch: 0.25,
      uses: 2,
      jumps: 1,
      meanMotion: expect.closeTo(0.2, 12),
    });
    expect(b).toEqual({
      name: "b",
      frames: 3,
      actions: 2,
      moving: 0.5,
      meanAbsYaw: 0.5,
      meanAbsPitch: 0,
      uses: 0,
      jumps: 1,
      meanMotion: expect.closeTo(0.2, 12),
    });
    // No video: no motion at all, not a motion of 0.
    expect(c).toEqual({
      name: "c",
      frames: 0,
      actions: 1,
      moving: 0,
      meanAbsYaw: 0.2,
      meanAbsPitch: 0,
      uses: 0,
      jumps: 0,
      meanMotion: null,
    });
    expect(episodeTable(stepTable([A])).columnNames()).toEqual([
      "episode",
      "frames",
      "actions",
      "moving",
      "meanAbsYaw",
      "meanAbsPitch",
      "uses",
      "jumps",
      "meanMotion",
    ]);
  });

  it("summarises a recorded episode of the built-in game consistently with its actions", () => {
    const ep = recordEpisode({ seed: 2, agent: "random", frames: 20 });
    const motion = motionSeries(ep);
    const [s] = summarizeEpisodes([{ name: ep.name, frameCount: ep.frameCount, actions: ep.actions, motion }]);
    expect(s.frames).toBe(20);
    expect(s.moving).toBeCloseTo(ep.actions.filter((a) => a.movement.some((m) => m > 0.5)).length / 20, 12);
    expect(s.uses + s.jumps).toBe(ep.actions.filter((a) => a.interaction !== 0).length);
    expect(s.meanMotion).toBeCloseTo(
      Array.from(motion)
        .slice(1)
        .reduce((x, y) => x + y, 0) / 19,
      12,
    );
  });

  it("refuses motion that does not match the frames, and an empty list gives no rows", () => {
    expect(() => summarizeEpisodes([{ ...A, motion: [0, 1] }])).toThrow(/4 frames but 2 motion values/);
    expect(summarizeEpisodes([])).toEqual([]);
  });
});
