/**
 * Data loader for the data exploration page: builds a small built-in game dataset in memory
 * (deterministic: 4 episodes x 64 frames, seed 1, one per agent kind round-robin) and prints its
 * summary as JSON: totals, per-episode rows, action histograms (movement keys, camera yaw/pitch
 * bins, interactions) and per-frame motion. Run alone: `npx tsx src/data/dataset-summary.json.ts`.
 */
import { DatasetReader, MemoryDatasetStore, buildDataset, gameEpisodeSources, summarizeDataset } from "../lib/dataset.js";

const config = { seed: 1, episodes: 4, frames: 64, agents: ["random", "wall", "explorer"] };
const store = new MemoryDatasetStore();
await buildDataset(store, gameEpisodeSources(config), { heldoutFraction: 0.25, splitSeed: config.seed, createdWith: { tool: "src/data/dataset-summary.json.ts", ...config } });
const summary = await summarizeDataset(await DatasetReader.open(store));
process.stdout.write(JSON.stringify({ config, ...summary }));
