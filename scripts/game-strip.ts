/**
 * Writes docs/game-strip.png, the strip of built-in game frames shown in the README: an
 * explorer agent plays a fixed seed and every Nth frame goes into one row. The PNG is encoded
 * by src/lib/core/png.node.ts, so no image dependency is needed.
 *
 *   npx tsx scripts/game-strip.ts [--seed 3] [--frames 6] [--every 24] [--out docs/game-strip.png]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { createAgent, createGame, type Frame } from "../src/lib/game/index.js";
import { encodePng } from "../src/lib/core/node.js";

/** Frames side by side with a `gap`-pixel dark seam, as one RGB image. */
function tile(frames: Frame[], gap: number): { rgb: Uint8Array; width: number; height: number } {
  const { width: w, height: h } = frames[0];
  const width = frames.length * w + (frames.length - 1) * gap;
  const rgb = new Uint8Array(width * h * 3).fill(24);
  frames.forEach((f, i) => {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const s = (y * w + x) * 4;
        const d = (y * width + i * (w + gap) + x) * 3;
        rgb[d] = f.data[s];
        rgb[d + 1] = f.data[s + 1];
        rgb[d + 2] = f.data[s + 2];
      }
    }
  });
  return { rgb, width, height: h };
}

const { values } = parseArgs({
  options: {
    seed: { type: "string", default: "3" },
    frames: { type: "string", default: "6" },
    every: { type: "string", default: "24" },
    out: { type: "string", default: "docs/game-strip.png" },
  },
});
const seed = Number(values.seed);
const count = Number(values.frames);
const every = Number(values.every);
const game = createGame({ seed });
const agent = createAgent("explorer", seed);
const picked: Frame[] = [game.reset()];
for (let t = 1; picked.length < count; t++) {
  const frame = game.step(agent.act(game));
  if (t % every === 0) picked.push(frame);
}
const { rgb, width, height } = tile(picked, 4);
const png = encodePng(rgb, width, height);
mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(values.out, png);
console.log(
  `wrote ${values.out}: ${width}x${height}, ${count} frames (seed ${seed}, every ${every}th), ${(png.length / 1024).toFixed(1)} KiB`,
);
