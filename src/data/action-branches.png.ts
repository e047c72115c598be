/**
 * Data loader for the reports page: does the shipped world model (weights/realtime, checksums
 * verified) turn when told to? For four held-out game states (level seeds from report.json), one
 * row each: real turn left | real turn right | dream turn left | dream turn right, the two dreams
 * from the same context and the same noise (src/lib/play/branches.ts). 128 px tiles.
 *
 * Without loadable weights it writes a 1x1 PNG, which the page reads as "no shipped run yet" (the
 * reason goes to stderr). `GAMEDREAM_WEIGHTS` points it at another folder. Run alone:
 * `npx tsx src/data/action-branches.png.ts > branches.png`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { initBackend, type RgbaImage, imageGrid } from "../lib/core/index.js";
import { loadModelFromWeights } from "../lib/models/index.js";
import { encodePng, figureOrPlaceholder } from "../lib/core/node.js";
import { readFileBytes } from "../lib/storage/node.js";
import { createWorldModel, gameBranches } from "../lib/play/index.js";

const dir = process.env.GAMEDREAM_WEIGHTS || "weights/realtime";

function heldoutEpisodes(): { seed: number; agent: string }[] {
  try {
    const dataset = JSON.parse(readFileSync(join(dir, "report.json"), "utf8"))?.dataset;
    const agents: string[] = Array.isArray(dataset?.agents) && dataset.agents.length ? dataset.agents : ["explorer"];
    const seeds: unknown[] = Array.isArray(dataset?.heldoutSeeds) ? dataset.heldoutSeeds : [];
    const valid = seeds.filter((s): s is number => Number.isInteger(s)).slice(0, 4);
    return (valid.length ? valid : [1, 2, 3, 4]).map((seed, i) => ({ seed, agent: agents[i % agents.length] }));
  } catch {
    return [1, 2, 3, 4].map((seed) => ({ seed, agent: "explorer" }));
  }
}

async function figure(): Promise<Buffer> {
  await initBackend();
  const model = await loadModelFromWeights(dir, { readFile: readFileBytes });
  const rows: RgbaImage[][] = [];
  try {
    const states = gameBranches({
      episodes: heldoutEpisodes(),
      statesPerEpisode: 1,
      contextFrames: model.dit.config.contextFrames,
      firstFrame: 40,
      factors: ["yaw"],
    });
    for (const [i, state] of states.entries()) {
      const world = createWorldModel({
        vae: model.vae,
        dit: model.dit,
        schedule: model.schedule,
        preset: model.preset ?? "realtime",
        defaults: model.sampling,
        seed: i,
      });
      try {
        const pair = state.pairs[0];
        world.start(state.context, state.held);
        const left = await world.stepRgba(pair.a);
        world.reset();
        const right = await world.stepRgba(pair.b);
        rows.push([pair.realA, pair.realB, left, right]);
      } finally {
        world.dispose();
      }
    }
  } finally {
    model.dispose();
  }
  const grid = imageGrid(rows);
  return encodePng(grid.data, grid.width, grid.height);
}

process.stdout.write(await figureOrPlaceholder("action-branches", dir, figure));
