import { describe, expect, it } from "vitest";
import { NO_ACTION, parseActionLog, actionsToCsv, type Action } from "../../src/lib/actions/index.js";
import { pairFramesWithActions } from "../../src/lib/video/index.js";
import { isGamedreamError } from "../../src/lib/core/index.js";

/** A log whose entry k is recognisable: yaw = k / 1000. */
const log = (n: number): Action[] =>
  Array.from({ length: n }, (_, k) => ({ movement: [k % 2, 0, 0, 0], camera: [k / 1000, 0], interaction: 0 }));
const ids = (actions: Action[]): number[] => actions.map((a) => Math.round(a.camera[0] * 1000));

describe("pairing frames with action logs", () => {
  it("aligns by frame index by default, and reads logs from the actions module", () => {
    const parsed = parseActionLog(actionsToCsv(log(60)), "csv");
    const p = pairFramesWithActions(60, parsed);
    expect(ids(p.actions)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(p).toMatchObject({ videoStart: 0, padded: 0, droppedFrames: 0, unusedEntries: 0 });
  });

  it("aligns a 60 Hz log by time (every other entry) and a 20 Hz log (each held 1.5 frames)", () => {
    expect(ids(pairFramesWithActions(30, log(60), { logFps: 60 }).actions)).toEqual(
      Array.from({ length: 30 }, (_, i) => 2 * i + 1),
    );
    const slow = ids(pairFramesWithActions(30, log(20), { logFps: 20 }).actions);
    expect(slow).toEqual(Array.from({ length: 30 }, (_, i) => Math.floor(((i + 0.5) / 30) * 20)));
  });

  it("shifts by an offset: a log that starts 0.5 s into the video", () => {
    const p = pairFramesWithActions(30, log(15), { offsetS: 0.5, mismatch: "trim" });
    expect(p.videoStart).toBe(15);
    expect(ids(p.actions)).toEqual(Array.from({ length: 15 }, (_, i) => i));
  });

  it("errors on a real mismatch, naming both lengths and the fix", () => {
    try {
      pairFramesWithActions(60, log(45));
      throw new Error("no error");
    } catch (e) {
      expect(isGamedreamError(e) && e.code).toBe("ACTION_LENGTH_MISMATCH");
      expect((e as Error).message).toMatch(/45 entries.*60 frames.*trim, pad-repeat or pad-none/);
    }
    expect(() => pairFramesWithActions(60, log(80))).toThrow(/20 entr/);
  });

  it("tolerates one frame of rounding by holding the last action", () => {
    const p = pairFramesWithActions(60, log(59));
    expect(p.padded).toBe(1);
    expect(ids(p.actions).slice(-2)).toEqual([58, 58]);
  });

  it("applies trim and both pad policies", () => {
    const trim = pairFramesWithActions(60, log(45), { mismatch: "trim" });
    expect(trim.actions).toHaveLength(45);
    expect(trim.droppedFrames).toBe(15);
    const rep = pairFramesWithActions(60, log(45), { mismatch: "pad-repeat" });
    expect(rep.actions).toHaveLength(60);
    expect(ids(rep.actions).slice(44)).toEqual(Array(16).fill(44));
    const none = pairFramesWithActions(60, log(45), { mismatch: "pad-none" });
    expect(none.actions[59]).toEqual(NO_ACTION);
    expect(none.padded).toBe(15);
    const longer = pairFramesWithActions(30, log(50), { mismatch: "trim" });
    expect(longer.actions).toHaveLength(30);
    expect(longer.unusedEntries).toBe(20);
  });
});
