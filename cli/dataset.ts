/**
 * Builds a dataset of built-in game episodes played by scripted agents.
 *
 *   npm run dataset -- --episodes 4 --frames 64 --seed 1 --out /tmp/ds \
 *     [--agents random,wall,explorer] [--heldout-fraction 0.25] [--shard-frames 512]
 *
 * Writes DIR/manifest.json and DIR/shard-NNNN.bin (replacing a dataset already there), shows
 * progress on stderr and ends with a one-line summary on stdout. Bad flags exit with status 2
 * and `error[CODE]: message`; other failures with status 1.
 *
 *   npm run dataset -- --summary /tmp/ds [--no-motion]
 *
 * prints the summary of a stored dataset as JSON on stdout (src/lib/data/summary.ts): totals,
 * one row per episode, action histograms and per-frame motion (--no-motion reads only actions).
 */
import { readdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { AGENT_NAMES } from "../src/lib/game/index.js";
import { DEFAULT_SHARD_FRAMES, DatasetReader, buildDataset, gameEpisodeSources } from "../src/lib/data/index.js";
import { summarizeDataset } from "../src/lib/data/node.js";
import { DirectoryDatasetStore } from "../src/lib/data/node.js";
import { badFlag, parseFlags, runCli } from "./args.js";
import { createProgress, formatBytes, formatDuration, summaryLine } from "./progress.js";

const USAGE = `usage: npm run dataset -- --episodes N --frames M --seed S --out DIR
         [--agents ${AGENT_NAMES.join(",")}] [--heldout-fraction 0.25] [--shard-frames ${DEFAULT_SHARD_FRAMES}]
       npm run dataset -- --summary DIR [--no-motion]`;

async function summary(argv: string[]): Promise<void> {
  const values = parseFlags(
    argv,
    { summary: { type: "string", required: true }, "no-motion": { type: "boolean" } },
    USAGE,
  );
  if (!values) return;
  const reader = await DatasetReader.open(new DirectoryDatasetStore(resolve(values.summary)));
  console.log(JSON.stringify(await summarizeDataset(reader, { motion: !values["no-motion"] }), null, 2));
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes("--summary")) return summary(argv);
  const values = parseFlags(
    argv,
    {
      episodes: { type: "int", min: 1, required: true },
      frames: { type: "int", min: 1, required: true },
      seed: { type: "int", min: 0, default: 0 },
      out: { type: "string", required: true },
      agents: { type: "string", default: AGENT_NAMES.join(",") },
      "heldout-fraction": { type: "number", min: 0, max: 1, default: 0.25 },
      "shard-frames": { type: "int", min: 1, default: DEFAULT_SHARD_FRAMES },
    },
    USAGE,
  );
  if (!values) return;
  const { episodes, frames, seed } = values;
  const shardFrames = values["shard-frames"];
  const heldoutFraction = values["heldout-fraction"];
  const agents = values.agents
    .split(",")
    .map((a) => a.trim())
    .filter((a) => a !== "");
  const unknown = agents.filter((a) => !(AGENT_NAMES as readonly string[]).includes(a));
  if (agents.length === 0 || unknown.length > 0)
    throw badFlag(
      `--agents must list agents from ${AGENT_NAMES.join(", ")}; unknown: ${unknown.join(", ") || "(none given)"}.`,
      USAGE,
    );

  const out = resolve(values.out);
  // Replace a previous dataset in DIR: only our own file names are removed.
  const old = await readdir(out).catch(() => [] as string[]);
  await Promise.all(
    old.filter((f) => /^shard-\d+\.bin$/.test(f) || f === "manifest.json").map((f) => rm(join(out, f))),
  );

  const store = new DirectoryDatasetStore(out);
  const started = performance.now();
  const bar = createProgress({ total: episodes * frames, label: "frames" });
  const manifest = await buildDataset(store, gameEpisodeSources({ seed, episodes, frames, agents }), {
    heldoutFraction,
    splitSeed: seed,
    shardFrames,
    createdWith: { tool: "cli/dataset.ts", episodes, frames, seed, agents, heldoutFraction, shardFrames },
    onProgress: (p) => bar.update(p.framesDone, `episode ${p.episode + 1}/${p.episodes}`),
  });
  bar.done();
  const seconds = (performance.now() - started) / 1000;
  console.log(
    summaryLine("dataset", {
      out,
      episodes: manifest.totals.episodes,
      train: manifest.split.train.episodes,
      heldout: manifest.split.heldout.episodes,
      frames: manifest.totals.frames,
      shards: manifest.shards.length,
      size: formatBytes(manifest.totals.bytes),
      time: formatDuration(seconds),
      fps: Math.round(manifest.totals.frames / seconds),
    }),
  );
}

runCli(() => main(process.argv.slice(2)));
