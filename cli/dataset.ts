/**
 * Builds a dataset of built-in game episodes played by scripted agents.
 *
 *   npm run dataset -- --episodes 4 --frames 64 --seed 1 --out /tmp/ds \
 *     [--agents random,wall,explorer] [--heldout-fraction 0.25] [--shard-frames 512]
 *
 * Writes DIR/manifest.json and DIR/shard-NNNN.bin (replacing a dataset already there), shows
 * progress on stderr and ends with a one-line summary on stdout. Bad flags exit with status 2
 * and `error[CODE]: message`; other failures with status 1.
 */
import { readdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { AGENT_NAMES } from "../src/lib/game/agents.js";
import { DEFAULT_SHARD_FRAMES, buildDataset, gameEpisodeSources } from "../src/lib/dataset.js";
import { DirectoryDatasetStore } from "../src/lib/dataset.node.js";
import { GamedreamError, formatErrorLine } from "../src/lib/errors.js";
import { createProgress, formatBytes, formatDuration, summaryLine } from "./progress.js";

const USAGE = `usage: npm run dataset -- --episodes N --frames M --seed S --out DIR
         [--agents ${AGENT_NAMES.join(",")}] [--heldout-fraction 0.25] [--shard-frames ${DEFAULT_SHARD_FRAMES}]`;

function badFlag(message: string): GamedreamError {
  return new GamedreamError("CLI_BAD_FLAG", "validation", `${message}\n${USAGE}`);
}

function integer(name: string, value: string | undefined, min: number): number {
  if (value === undefined) throw badFlag(`--${name} is required.`);
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw badFlag(`--${name} must be a whole number >= ${min}, got "${value}".`);
  return n;
}

async function main(argv: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        episodes: { type: "string" },
        frames: { type: "string" },
        seed: { type: "string", default: "0" },
        out: { type: "string" },
        agents: { type: "string", default: AGENT_NAMES.join(",") },
        "heldout-fraction": { type: "string", default: "0.25" },
        "shard-frames": { type: "string", default: String(DEFAULT_SHARD_FRAMES) },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    throw badFlag((e as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const episodes = integer("episodes", values.episodes, 1);
  const frames = integer("frames", values.frames, 1);
  const seed = integer("seed", values.seed, 0);
  const shardFrames = integer("shard-frames", values["shard-frames"], 1);
  if (values.out === undefined || values.out === "") throw badFlag("--out DIR is required.");
  const heldoutFraction = Number(values["heldout-fraction"]);
  if (!(heldoutFraction >= 0 && heldoutFraction <= 1)) throw badFlag(`--heldout-fraction must be between 0 and 1, got "${values["heldout-fraction"]}".`);
  const agents = values.agents.split(",").map((a) => a.trim()).filter((a) => a !== "");
  const unknown = agents.filter((a) => !(AGENT_NAMES as readonly string[]).includes(a));
  if (agents.length === 0 || unknown.length > 0) throw badFlag(`--agents must list agents from ${AGENT_NAMES.join(", ")}; unknown: ${unknown.join(", ") || "(none given)"}.`);

  const out = resolve(values.out);
  // Replace a previous dataset in DIR: only our own file names are removed.
  const old = await readdir(out).catch(() => [] as string[]);
  await Promise.all(old.filter((f) => /^shard-\d+\.bin$/.test(f) || f === "manifest.json").map((f) => rm(join(out, f))));

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

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(formatErrorLine(e));
  process.exitCode = e instanceof GamedreamError && e.code === "CLI_BAD_FLAG" ? 2 : 1;
});
