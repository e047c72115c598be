/**
 * Data loader for the reports page: a rollout strip of the shipped world model (weights/realtime,
 * checksums verified): the built-in game on a held-out level seed (the first one of report.json,
 * else 1) gives K context frames, then the model dreams FRAMES frames from the same actions the
 * scripted agent takes in the real game. Top row: the real game every STRIDE frames; bottom row:
 * the model's frames at the same indices; 128 px each. Deterministic (seeded sampler).
 *
 * Without loadable weights it still succeeds and writes a 1x1 PNG, which the page reads as "no
 * shipped run yet" (the reason goes to stderr: missing files, or weights an older architecture made).
 * `GAMEDREAM_WEIGHTS` points it at another folder. Run alone:
 * `npx tsx src/data/rollout-strip.png.ts > strip.png`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { initBackend, FRAME_SIZE, imageGrid, type RgbaImage } from "../lib/core/index.js";
import { createAgent, createGame } from "../lib/game/index.js";
import { loadModelFromWeights } from "../lib/models/index.js";
import { encodePng, figureOrPlaceholder } from "../lib/core/node.js";
import { readFileBytes } from "../lib/storage/node.js";
import { createWorldModel } from "../lib/play/index.js";
import type { Action } from "../lib/actions/index.js";

const FRAMES = 64;
const STRIDE = 8;

const dir = process.env.GAMEDREAM_WEIGHTS || "weights/realtime";

function heldoutSeed(): number {
  try {
    const seeds = JSON.parse(readFileSync(join(dir, "report.json"), "utf8"))?.dataset?.heldoutSeeds;
    return Array.isArray(seeds) && Number.isInteger(seeds[0]) ? seeds[0] : 1;
  } catch {
    return 1;
  }
}

async function strip(): Promise<Buffer> {
  await initBackend();
  const model = await loadModelFromWeights(dir, { readFile: readFileBytes });
  const seed = heldoutSeed();
  const game = createGame({ seed });
  const agent = createAgent("explorer", seed);
  const world = createWorldModel({
    vae: model.vae,
    dit: model.dit,
    schedule: model.schedule,
    preset: model.preset ?? "realtime",
    defaults: model.sampling,
    seed: 0,
  });
  const real: RgbaImage[] = [];
  const dreams: RgbaImage[] = [];
  const rgba = new Uint8ClampedArray(FRAME_SIZE * FRAME_SIZE * 4);
  try {
    // Context: K real frames and the inputs held on them (the convention of worldmodel.ts).
    game.render(rgba);
    const context: RgbaImage[] = [];
    const held: Action[] = [];
    for (let i = 0; i < Math.max(1, model.dit.config.contextFrames); i++) {
      context.push({ data: rgba.slice(), width: FRAME_SIZE, height: FRAME_SIZE });
      const action = agent.act(game);
      held.push(action);
      game.step(action, rgba);
    }
    world.start(context, held);
    let action = held.at(-1)!;
    for (let n = 0; n < FRAMES; n++) {
      const dream = await world.stepRgba(action);
      if (n % STRIDE === STRIDE - 1) {
        real.push({ data: rgba.slice(), width: FRAME_SIZE, height: FRAME_SIZE });
        dreams.push(dream);
      }
      action = agent.act(game);
      game.step(action, rgba);
    }
  } finally {
    world.dispose();
    model.dispose();
  }
  const grid = imageGrid([real, dreams]);
  return encodePng(grid.data, grid.width, grid.height);
}

process.stdout.write(await figureOrPlaceholder("rollout-strip", dir, strip));
