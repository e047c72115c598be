import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import {
  ACTION_DIM,
  INTERACTIONS,
  KEYMAP,
  NO_ACTION,
  actionFromGamepad,
  actionFromKeyboard,
  actionFromTouch,
  actionsToCsv,
  actionsToJson,
  combineActions,
  describeAction,
  decodeAction,
  decodeActions,
  encodeAction,
  encodeActions,
  padActions,
  parseActionLog,
  parseActionsCsv,
  parseActionsJson,
  validateAction,
  validateActions,
  type Action,
} from "../../src/lib/actions/index.js";
import { GamedreamError } from "../../src/lib/core/index.js";

const ok: Action = { movement: [1, 0, 0, 1], camera: [0.25, -0.5], interaction: 1 };

function caught(fn: () => unknown): GamedreamError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GamedreamError);
    return e as GamedreamError;
  }
  throw new Error("expected a GamedreamError");
}

describe("action validation", () => {
  const cases: [string, unknown, string, RegExp][] = [
    ["NaN camera", { ...ok, camera: [Number.NaN, 0] }, "ACTION_INVALID_CAMERA", /camera\[0\] \(yaw\).*NaN/],
    [
      "camera out of range",
      { ...ok, camera: [0, 1.5] },
      "ACTION_INVALID_CAMERA",
      /camera\[1\] \(pitch\).*1\.5 is out of range/,
    ],
    ["camera wrong length", { ...ok, camera: [0] }, "ACTION_INVALID_CAMERA", /"camera".*2 values.*got 1 values/],
    ["movement wrong length", { ...ok, movement: [1, 0, 0] }, "ACTION_INVALID_MOVEMENT", /"movement".*4 values.*got 3/],
    [
      "movement not binary",
      { ...ok, movement: [1, 0, 0.5, 0] },
      "ACTION_INVALID_MOVEMENT",
      /movement\[2\] \(left\).*0 or 1.*0\.5/,
    ],
    [
      "movement NaN",
      { ...ok, movement: [Number.NaN, 0, 0, 0] },
      "ACTION_INVALID_MOVEMENT",
      /movement\[0\] \(forward\).*NaN/,
    ],
    [
      "unknown interaction id",
      { ...ok, interaction: 7 },
      "ACTION_UNKNOWN_INTERACTION",
      /"interaction".*unknown interaction 7/,
    ],
    ["unknown interaction name", { ...ok, interaction: "fly" }, "ACTION_UNKNOWN_INTERACTION", /"fly"/],
    ["not an object", 42, "ACTION_NOT_OBJECT", /expected an object/],
  ];
  for (const [name, value, code, pattern] of cases) {
    it(`rejects ${name} with ${code}, naming the field and frame`, () => {
      const e = caught(() => validateActions([ok, ok, ok, value]));
      expect(e.code).toBe(code);
      expect(e.type).toBe("action");
      expect(e.message).toMatch(/^Action at frame 3/);
      expect(e.message).toMatch(pattern);
      expect(e.details?.frame).toBe(3);
    });
  }

  it("accepts valid actions, interaction names and booleans, and returns clean copies", () => {
    const a = validateAction({ movement: [true, false, 0, 1], camera: [-1, 1], interaction: "jump" });
    expect(a).toEqual({ movement: [1, 0, 0, 1], camera: [-1, 1], interaction: 2 });
    const b = validateAction(ok);
    expect(b).toEqual(ok);
    expect(b).not.toBe(ok);
  });

  it("reports missing and duplicate frames in logs", () => {
    const row = (frame: number) => ({ frame, ...ok });
    const dup = caught(() => parseActionsJson(JSON.stringify([row(0), row(1), row(1)])));
    expect(dup.code).toBe("ACTION_DUPLICATE_FRAME");
    expect(dup.message).toMatch(/frame 1.*"frame".*more than once/);
    const gap = caught(() => parseActionsJson(JSON.stringify([row(0), row(1), row(3)])));
    expect(gap.code).toBe("ACTION_MISSING_FRAME");
    expect(gap.message).toMatch(/frame 2.*missing/);
    const csvGap = caught(() =>
      parseActionsCsv("frame,forward,back,left,right,yaw,pitch,interaction\n1,1,0,0,0,0,0,0\n"),
    );
    expect(csvGap.code).toBe("ACTION_MISSING_FRAME");
    expect(csvGap.message).toMatch(/frame 0/);
    const bad = caught(() =>
      parseActionsCsv("frame,forward,back,left,right,yaw,pitch,interaction\n0,1,0,0,0,abc,0,0\n"),
    );
    expect(bad.code).toBe("ACTION_INVALID_CAMERA");
    expect(bad.message).toMatch(/frame 0.*camera\[0\]/);
    expect(caught(() => parseActionsCsv("frame,forward\n0,1\n")).code).toBe("ACTION_LOG_PARSE");
    expect(caught(() => parseActionsJson("{not json")).code).toBe("ACTION_LOG_PARSE");
    expect(caught(() => parseActionsJson("[]")).code).toBe("ACTION_EMPTY_LOG");
  });
});

describe("action encoding", () => {
  it("encodes multi-hot movement, clamped camera and one-hot interaction, and decodes back", () => {
    expect(ACTION_DIM).toBe(9);
    expect(Array.from(encodeAction(ok))).toEqual([1, 0, 0, 1, 0.25, -0.5, 0, 1, 0]);
    expect(Array.from(encodeAction(NO_ACTION))).toEqual([0, 0, 0, 0, 0, 0, 1, 0, 0]);
    expect(Array.from(encodeAction({ movement: [0, 1, 0, 0], camera: [3, Number.NaN], interaction: 2 }))).toEqual([
      0, 1, 0, 0, 1, 0, 0, 0, 1,
    ]);
    expect(decodeAction(encodeAction(ok))).toEqual(ok);
  });

  it("encodes a list to a [T, ACTION_DIM] tensor without leaking", () => {
    const list = [ok, NO_ACTION, { movement: [0, 0, 1, 0], camera: [-0.75, 0.125], interaction: 2 } as Action];
    const before = tf.memory().numTensors;
    const t = encodeActions(list);
    expect(t.shape).toEqual([3, ACTION_DIM]);
    expect(decodeActions(t)).toEqual(list.map((a) => ({ ...a })));
    t.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("padding and truncation", () => {
  const a: Action = { movement: [1, 0, 0, 0], camera: [0.5, 0], interaction: 0 };
  const b: Action = { movement: [0, 0, 1, 0], camera: [0, -0.5], interaction: 2 };
  it("truncates to the first T actions", () => {
    expect(padActions([a, b, a], 2)).toEqual([a, b]);
  });
  it("repeat-last holds the last action", () => {
    expect(padActions([a, b], 4, { mode: "repeat-last" })).toEqual([a, b, b, b]);
  });
  it("no-action pads with NO_ACTION", () => {
    expect(padActions([a, b], 4, { mode: "no-action" })).toEqual([a, b, NO_ACTION, NO_ACTION]);
  });
  it("pads an empty list with NO_ACTION and returns copies", () => {
    const out = padActions([], 2);
    expect(out).toEqual([NO_ACTION, NO_ACTION]);
    out[0].movement[0] = 1;
    expect(NO_ACTION.movement[0]).toBe(0);
    expect(() => padActions([a], -1)).toThrow(GamedreamError);
  });
});

describe("action logs", () => {
  const list: Action[] = [
    { movement: [1, 0, 0, 0], camera: [0.015625, -1], interaction: 0 },
    { movement: [0, 1, 1, 0], camera: [-0.5, 0.75], interaction: 1 },
    { movement: [0, 0, 0, 1], camera: [1, 0], interaction: 2 },
  ];
  it("round-trips JSON", () => {
    expect(parseActionsJson(actionsToJson(list))).toEqual(list);
    expect(parseActionsJson(JSON.stringify(list))).toEqual(list);
    const shuffled = JSON.stringify([2, 0, 1].map((f) => ({ frame: f, ...list[f] })));
    expect(parseActionsJson(shuffled)).toEqual(list);
  });
  it("round-trips CSV, with header columns in any order and interaction names", () => {
    const csv = actionsToCsv(list);
    expect(csv.split("\n")[0]).toBe("frame,forward,back,left,right,yaw,pitch,interaction");
    expect(parseActionsCsv(csv)).toEqual(list);
    const reordered =
      "interaction,frame,yaw,pitch,forward,back,left,right\r\njump,1,1,0,0,0,0,1\r\nnone,0,0,0,1,0,0,0\r\n";
    expect(parseActionsCsv(reordered)).toEqual([
      { movement: [1, 0, 0, 0], camera: [0, 0], interaction: 0 },
      { movement: [0, 0, 0, 1], camera: [1, 0], interaction: 2 },
    ]);
  });
  it("guesses the format from the name or the content", () => {
    expect(parseActionLog(actionsToCsv(list), "log.csv")).toEqual(list);
    expect(parseActionLog(actionsToJson(list))).toEqual(list);
    expect(parseActionLog(actionsToCsv(list))).toEqual(list);
  });
});

describe("input devices", () => {
  it("KEYMAP gives every key one meaning", () => {
    const keys = Object.values(KEYMAP).flat();
    expect(new Set(keys).size).toBe(keys.length);
  });
  it("maps keyboard and mouse", () => {
    expect(actionFromKeyboard(["KeyW", "KeyD", "KeyL", "KeyI"])).toEqual({
      movement: [1, 0, 0, 1],
      camera: [1, 1],
      interaction: 0,
    });
    expect(actionFromKeyboard(["ArrowUp", "ArrowDown", "KeyA", "Space"])).toEqual({
      movement: [0, 0, 1, 0],
      camera: [0, 0],
      interaction: INTERACTIONS.indexOf("jump"),
    });
    expect(actionFromKeyboard(new Set(["KeyE", "Space"])).interaction).toBe(INTERACTIONS.indexOf("use"));
    expect(actionFromKeyboard(["Enter"]).interaction).toBe(1);
    expect(actionFromKeyboard([], { mouseDelta: [12, 48] }).camera).toEqual([0.5, -1]);
    expect(actionFromKeyboard([])).toEqual(NO_ACTION);
  });
  it("maps a gamepad with dead zones", () => {
    const a = actionFromGamepad({ axes: [0.9, -0.9, 0.1, -0.6], buttons: [1, 0, 0, 0] });
    expect(a.movement).toEqual([1, 0, 0, 1]);
    expect(a.camera[0]).toBe(0);
    expect(a.camera[1]).toBeCloseTo(0.5, 6);
    expect(a.interaction).toBe(2);
    expect(actionFromGamepad({ axes: [], buttons: [1, 0, 1] }).interaction).toBe(1);
    expect(actionFromGamepad({ axes: [Number.NaN, 0, 0, 0], buttons: [] })).toEqual(NO_ACTION);
  });
  it("maps touch sticks and buttons", () => {
    expect(actionFromTouch({ move: [-0.5, 0.6], look: [0.25, -0.5], use: false, jump: true })).toEqual({
      movement: [0, 1, 1, 0],
      camera: [0.25, 0.5],
      interaction: 2,
    });
    expect(actionFromTouch({ move: [0.1, -0.2], look: [0, 0], use: true, jump: true })).toEqual({
      movement: [0, 0, 0, 0],
      camera: [0, 0],
      interaction: 1,
    });
  });
});

describe("several devices and actions in words", () => {
  it("combines devices: movement ORs, camera adds and clamps, first interaction wins", () => {
    const a = combineActions([
      { movement: [1, 0, 0, 0], camera: [0.75, 0], interaction: 0 },
      { movement: [0, 0, 1, 0], camera: [0.5, -0.25], interaction: 2 },
      { movement: [0, 0, 0, 0], camera: [0, 0], interaction: 1 },
    ]);
    expect(a).toEqual({ movement: [1, 0, 1, 0], camera: [1, -0.25], interaction: 2 });
    expect(combineActions([])).toEqual({ movement: [0, 0, 0, 0], camera: [0, 0], interaction: 0 });
    // The result is a fresh action, not the frozen NO_ACTION.
    expect(Object.isFrozen(combineActions([]))).toBe(false);
  });

  it("describes an action: keys, then camera, then interaction; none when nothing is held", () => {
    expect(describeAction(NO_ACTION)).toBe("none");
    expect(describeAction({ movement: [1, 0, 0, 0], camera: [0, 0], interaction: 0 })).toBe("forward");
    expect(describeAction({ movement: [0, 0, 0, 1], camera: [0, 0], interaction: 0 })).toBe("right");
    expect(describeAction({ movement: [1, 0, 0, 0], camera: [0.3, 0], interaction: 0 })).toBe("forward + turn right");
    expect(describeAction({ movement: [0, 0, 0, 0], camera: [-1, 0], interaction: 0 })).toBe("turn left");
    expect(describeAction({ movement: [0, 1, 1, 0], camera: [0, 1], interaction: 1 })).toBe(
      "back + left + look up + use",
    );
    expect(describeAction({ movement: [0, 0, 0, 0], camera: [1, 0], interaction: 2 })).toBe("turn right + jump");
    // Half-pressed keys are not held; an unknown interaction id is named by its number.
    expect(describeAction({ movement: [0.4, 0, 0, 0], camera: [0, -0.5], interaction: 7 })).toBe(
      "look down + interaction 7",
    );
  });

  it("with rates, says how fast the camera turns", () => {
    expect(describeAction({ movement: [1, 0, 0, 0], camera: [-0.5, 0.125], interaction: 0 }, { rates: true })).toBe(
      "forward + turn left 0.5 + look up 0.13",
    );
    expect(describeAction(NO_ACTION, { rates: true })).toBe("none");
  });
});
