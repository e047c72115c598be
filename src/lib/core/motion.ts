/**
 * How far the picture moved sideways between two frames, for checking that a turn in the dream
 * turns the view: the horizontal shift (in pixels) that best aligns the column profiles of two
 * frames. A turn to the left moves the scene to the right (positive shift), a turn to the right
 * to the left (negative). Plain typed arrays: runs in Node and in pages.
 */
import type { RgbaImage } from "./frames.js";

/** Mean luminance of each column over the middle rows (`rows` of the height), zero-mean. */
export function columnProfile(image: RgbaImage, rows = 0.5): Float32Array {
  const { data, width, height } = image;
  const top = Math.floor((height * (1 - rows)) / 2);
  const bottom = height - top;
  const profile = new Float32Array(width);
  for (let y = top; y < bottom; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      profile[x] += 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
    }
  }
  let mean = 0;
  for (let x = 0; x < width; x++) mean += profile[x] /= bottom - top;
  mean /= width;
  for (let x = 0; x < width; x++) profile[x] -= mean;
  return profile;
}

/**
 * The shift s in [-maxShift, maxShift] for which `after[x] ~ before[x - s]`, by the smallest mean
 * squared difference of the column profiles over their overlap.
 */
export function horizontalShift(before: RgbaImage, after: RgbaImage, maxShift = 48): number {
  const a = columnProfile(before);
  const b = columnProfile(after);
  const width = a.length;
  let best = 0;
  let bestError = Infinity;
  for (let s = -maxShift; s <= maxShift; s++) {
    let error = 0;
    let n = 0;
    for (let x = Math.max(0, s); x < Math.min(width, width + s); x++) {
      const d = b[x] - a[x - s];
      error += d * d;
      n++;
    }
    error /= n;
    if (error < bestError) {
      bestError = error;
      best = s;
    }
  }
  return best;
}
