/**
 * Procedural frames with structure a VAE must learn (smooth gradients, hard edges, flat colours,
 * thin lines), seeded, for VAE tests and measurements until the built-in game supplies real data.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/lib/core/index.js";

function randomColour(rng: Rng): [number, number, number] {
  return [rng.uniform(-0.9, 0.9), rng.uniform(-0.9, 0.9), rng.uniform(-0.9, 0.9)];
}

/** Pixels of one frame, [size*size*3] in [-1,1]: a linear gradient, 3-6 rectangles, 1-3 circles, a line. */
export function drawSyntheticFrame(rng: Rng, size = 256): Float32Array {
  const out = new Float32Array(size * size * 3);
  const [a, b] = [randomColour(rng), randomColour(rng)];
  const angle = rng.uniform(0, 2 * Math.PI);
  const [dx, dy] = [Math.cos(angle), Math.sin(angle)];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const t = 0.5 + 0.5 * ((x / size - 0.5) * dx + (y / size - 0.5) * dy) * 1.4;
      for (let c = 0; c < 3; c++) out[(y * size + x) * 3 + c] = a[c] + (b[c] - a[c]) * t;
    }
  }
  const paint = (
    inside: (x: number, y: number) => boolean,
    colour: number[],
    x0: number,
    y0: number,
    x1: number,
    y1: number,
  ) => {
    for (let y = Math.max(0, y0); y < Math.min(size, y1); y++) {
      for (let x = Math.max(0, x0); x < Math.min(size, x1); x++) {
        if (inside(x, y)) for (let c = 0; c < 3; c++) out[(y * size + x) * 3 + c] = colour[c];
      }
    }
  };
  for (let i = 3 + rng.int(4); i > 0; i--) {
    const w = 16 + rng.int(size / 2);
    const h = 16 + rng.int(size / 2);
    const x0 = rng.int(size - w);
    const y0 = rng.int(size - h);
    paint(() => true, randomColour(rng), x0, y0, x0 + w, y0 + h);
  }
  for (let i = 1 + rng.int(3); i > 0; i--) {
    const r = 8 + rng.int(size / 6);
    const cx = rng.int(size);
    const cy = rng.int(size);
    paint((x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r, randomColour(rng), cx - r, cy - r, cx + r + 1, cy + r + 1);
  }
  const horizontal = rng.next() < 0.5;
  const at = rng.int(size - 4);
  const line = randomColour(rng);
  if (horizontal) paint(() => true, line, 0, at, size, at + 2 + rng.int(3));
  else paint(() => true, line, at, 0, at + 2 + rng.int(3), size);
  return out;
}

/** n frames [n,size,size,3] in [-1,1], deterministic for a seed. */
export function syntheticFrames(n: number, seed: number, size = 256): tf.Tensor4D {
  const rng = new Rng(seed);
  const data = new Float32Array(n * size * size * 3);
  for (let i = 0; i < n; i++) data.set(drawSyntheticFrame(rng, size), i * size * size * 3);
  return tf.tensor4d(data, [n, size, size, 3]);
}
