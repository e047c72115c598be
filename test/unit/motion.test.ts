import { describe, expect, it } from "vitest";
import { NO_ACTION } from "../../src/lib/actions/index.js";
import { FRAME_SIZE, type RgbaImage, horizontalShift } from "../../src/lib/core/index.js";
import { createGame } from "../../src/lib/game/index.js";

function frame(data: Uint8ClampedArray): RgbaImage {
  return { data: data.slice(), width: FRAME_SIZE, height: FRAME_SIZE };
}

describe("horizontal shift of the view", () => {
  it("finds a known shift of a picture", () => {
    const game = createGame({ seed: 4 });
    const a = frame(game.render().data);
    const shifted = new Uint8ClampedArray(a.data.length);
    const s = 9;
    for (let y = 0; y < FRAME_SIZE; y++)
      for (let x = 0; x < FRAME_SIZE; x++)
        for (let c = 0; c < 4; c++)
          shifted[(y * FRAME_SIZE + x) * 4 + c] = a.data[(y * FRAME_SIZE + Math.max(0, x - s)) * 4 + c];
    expect(horizontalShift(a, { ...a, data: shifted })).toBe(s);
  });

  it("in the real game, turning left moves the view right and turning right moves it left", () => {
    for (const seed of [2, 5, 8]) {
      const turn = (yaw: number) => {
        const game = createGame({ seed });
        let previous = frame(game.render().data);
        let total = 0;
        for (let i = 0; i < 10; i++) {
          const next = frame(game.step({ ...NO_ACTION, camera: [yaw, 0] }).data);
          total += horizontalShift(previous, next);
          previous = next;
        }
        return total;
      };
      expect(turn(-1)).toBeGreaterThan(40);
      expect(turn(1)).toBeLessThan(-40);
    }
  });
});
