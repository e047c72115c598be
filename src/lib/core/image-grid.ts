/**
 * A grid of frames as one RGB picture, for figures (the reports page's rollout and action strips):
 * each 256x256 RGBA frame becomes a half-size tile (2x2 box filter), tiles sit on a white
 * background with a gap between them. Plain typed arrays: encode the result with png.node.ts in
 * Node or draw it on a canvas in a page.
 */
import { FRAME_SIZE, type RgbaImage } from "./frames.js";

export const TILE_SIZE = FRAME_SIZE / 2;

export interface RgbImage {
  /** `[height, width, 3]` bytes, row-major. */
  data: Uint8Array;
  width: number;
  height: number;
}

/** RGBA `[256, 256, 4]` -> RGB tile `[128, 128, 3]` written into `out` at column `x0`, row `y0`. */
function putTile(rgba: ArrayLike<number>, out: Uint8Array, outWidth: number, x0: number, y0: number): void {
  for (let y = 0; y < TILE_SIZE; y++) {
    for (let x = 0; x < TILE_SIZE; x++) {
      for (let c = 0; c < 3; c++) {
        const at = (yy: number, xx: number) => rgba[((2 * y + yy) * FRAME_SIZE + 2 * x + xx) * 4 + c];
        out[((y0 + y) * outWidth + x0 + x) * 3 + c] = (at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1) + 2) >> 2;
      }
    }
  }
}

/** `rows[r][c]` (256x256 frames; null leaves the cell white) as one picture with `gap` px between tiles. */
export function imageGrid(rows: readonly (readonly (RgbaImage | null)[])[], gap = 4): RgbImage {
  const columns = Math.max(...rows.map((r) => r.length));
  const width = columns * TILE_SIZE + (columns - 1) * gap;
  const height = rows.length * TILE_SIZE + (rows.length - 1) * gap;
  const data = new Uint8Array(width * height * 3).fill(255);
  rows.forEach((row, r) =>
    row.forEach((frame, c) => {
      if (frame) putTile(frame.data, data, width, c * (TILE_SIZE + gap), r * (TILE_SIZE + gap));
    }),
  );
  return { data, width, height };
}
