/**
 * The summary of a stored dataset (`npm run dataset -- --summary DIR`): totals, one row per
 * episode (its manifest entry joined with the per-episode table of episode-table.ts), action
 * histograms (./stats.ts, the same bins as the data page) and per-frame motion. It reads
 * every frame once, one episode at a time; pass `motion: false` to read only the actions.
 *
 * Node and data loaders only: the per-episode table uses arquero, which pages may not load
 * (it needs `Function()`; see episode-table.ts).
 */
import { actionHistograms, motionSeries, type ActionHistograms } from "./stats.js";
import type { DatasetManifest, DatasetReader, Split } from "./dataset.js";
import type { EpisodeSummary } from "./episode-table-client.js";
import { summarizeEpisodes } from "./episode-table.worker.js";

export interface DatasetSummary {
  format: string;
  version: number;
  frames: number;
  episodes: number;
  bytes: number;
  frameSize: [number, number];
  splits: DatasetManifest["split"];
  /** One row per episode: where it is stored and what it holds. */
  episodeTable: (EpisodeSummary & {
    id: string;
    seed: number;
    source: string;
    agent: string | null;
    split: Split;
    shard: string;
  })[];
  histograms: ActionHistograms;
  /** Mean absolute change from the previous frame, in [0, 1] (first frames omitted); empty without motion. */
  motion: { episode: string; frame: number; motion: number }[];
}

export async function summarizeDataset(
  reader: DatasetReader,
  options: { motion?: boolean } = {},
): Promise<DatasetSummary> {
  const m = reader.manifest;
  const withMotion = options.motion ?? true;
  const actions = [];
  const inputs = [];
  const motion: DatasetSummary["motion"] = [];
  for (const e of m.episodes) {
    const episodeActions = await reader.readEpisodeActions(e.id);
    actions.push(episodeActions);
    let series: Float64Array | undefined;
    if (withMotion) {
      series = motionSeries({
        name: e.id,
        frames: await reader.readFrames(e.id),
        frameCount: e.frameCount,
        actions: episodeActions,
      });
      for (let t = 1; t < series.length; t++) motion.push({ episode: e.id, frame: t, motion: series[t] });
    }
    inputs.push({ name: e.id, frameCount: e.frameCount, actions: episodeActions, motion: series });
  }
  const rows = summarizeEpisodes(inputs);
  return {
    format: m.format,
    version: m.version,
    frames: m.totals.frames,
    episodes: m.totals.episodes,
    bytes: m.totals.bytes,
    frameSize: [m.frame.width, m.frame.height],
    splits: m.split,
    episodeTable: m.episodes.map((e, i) => ({
      id: e.id,
      seed: e.seed,
      source: e.source,
      agent: e.agent ?? null,
      split: e.split,
      shard: e.shard,
      ...rows[i],
    })),
    histograms: actionHistograms(actions),
    motion,
  };
}
