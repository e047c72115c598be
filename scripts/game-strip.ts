/**
 * Writes docs/game-strip.png, the strip of built-in game frames shown in the README: an
 * explorer agent plays a fixed seed and every Nth frame goes into one row. The PNG is encoded
 * here with node:zlib (filter 0 rows, deflate), so no image dependency is needed.
 *
 *   npx tsx scripts/game-strip.ts [--seed 3] [--frames 6] [--every 24] [--out docs/game-strip.png]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { deflateSync } from "node:zlib";
import { createAgent } from "../src/lib/game/agents.js";
import { createGame, type Frame } from "../src/lib/game/game.js";

const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, "ascii");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}

/** RGB bytes `[height, width, 3]` -> PNG file bytes (8-bit truecolour). */
function encodePng(rgb: Uint8Array, width: number, height: number): Buffer {
  const raw = Buffer.alloc(height * (width * 3 + 1));
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0;
    raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (width * 3 + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, RGB, deflate, no filter method, no interlace
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw, { level: 9 })), chunk("IEND", new Uint8Array(0))]);
}

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
console.log(`wrote ${values.out}: ${width}x${height}, ${count} frames (seed ${seed}, every ${every}th), ${(png.length / 1024).toFixed(1)} KiB`);
