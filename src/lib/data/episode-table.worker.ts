/**
 * The per-episode table of the data exploration page, computed with arquero: one row per time
 * step of every episode (what was pressed, how far the camera turned, how much the picture
 * changed), grouped by episode and rolled up into one summary row each.
 *
 * Arquero compiles table expressions with `Function()`, which the site's Content Security Policy
 * refuses on pages; in the browser this module runs in src/workers/episode-table.ts, whose script
 * alone is served with `'unsafe-eval'` (scripts/serve.ts). Node has no such policy.
 *
 * Alignment as in ./stats.ts: `actions[t]` is the action taken while frame t was on screen;
 * `motion[t]` is the change from frame t - 1 to frame t (`motion[0]` is not a change and is
 * ignored). An upload may have frames without actions or actions without frames, so counts and
 * means use only the steps that have them.
 */
import { op, table, type ColumnTable } from "arquero";
import { INTERACTIONS, type Action } from "../actions/index.js";
import { GamedreamError } from "../core/index.js";
import type { EpisodeSummary, EpisodeTableInput } from "./episode-table-client.js";

const USE = INTERACTIONS.indexOf("use");
const JUMP = INTERACTIONS.indexOf("jump");

/**
 * One row per time step of every episode, as arquero columns. A step past the last action has
 * null action columns; a step past the last frame (or step 0) has a null motion.
 */
export function stepTable(episodes: EpisodeTableInput[]): ColumnTable {
  const columns = {
    order: [] as number[],
    episode: [] as string[],
    hasFrame: [] as number[],
    hasAction: [] as number[],
    moving: [] as (number | null)[],
    absYaw: [] as (number | null)[],
    absPitch: [] as (number | null)[],
    use: [] as (number | null)[],
    jump: [] as (number | null)[],
    motion: [] as (number | null)[],
  };
  episodes.forEach((e, order) => {
    const motion = e.motion;
    if (motion && motion.length !== e.frameCount) {
      throw new GamedreamError(
        "DATA_MISMATCH",
        "validation",
        `Episode "${e.name}" has ${e.frameCount} frames but ${motion.length} motion values.`,
        {
          recoverable: false,
        },
      );
    }
    const steps = Math.max(e.frameCount, e.actions.length);
    for (let t = 0; t < steps; t++) {
      const a: Action | undefined = e.actions[t];
      columns.order.push(order);
      columns.episode.push(e.name);
      columns.hasFrame.push(t < e.frameCount ? 1 : 0);
      columns.hasAction.push(a ? 1 : 0);
      columns.moving.push(a ? (a.movement.some((m) => m > 0.5) ? 1 : 0) : null);
      columns.absYaw.push(a ? Math.abs(a.camera[0]) : null);
      columns.absPitch.push(a ? Math.abs(a.camera[1]) : null);
      columns.use.push(a ? (a.interaction === USE ? 1 : 0) : null);
      columns.jump.push(a ? (a.interaction === JUMP ? 1 : 0) : null);
      columns.motion.push(motion && t > 0 && t < e.frameCount ? motion[t] : null);
    }
  });
  return table(columns);
}

/**
 * The per-episode table: `stepTable` grouped by episode and rolled up, in the episodes' order.
 * Means skip nulls (arquero's `op.mean`), so steps without an action or a frame do not count.
 */
export function episodeTable(steps: ColumnTable): ColumnTable {
  return steps
    .groupby("episode")
    .rollup({
      order: op.min("order"),
      frames: op.sum("hasFrame"),
      actions: op.sum("hasAction"),
      moving: (d: Record<string, number>) => op.mean(d.moving),
      meanAbsYaw: (d: Record<string, number>) => op.mean(d.absYaw),
      meanAbsPitch: (d: Record<string, number>) => op.mean(d.absPitch),
      uses: op.sum("use"),
      jumps: op.sum("jump"),
      meanMotion: (d: Record<string, number>) => op.mean(d.motion),
    })
    .orderby("order")
    .select("episode", "frames", "actions", "moving", "meanAbsYaw", "meanAbsPitch", "uses", "jumps", "meanMotion");
}

/** Plain rows of `episodeTable`, with the empty cases spelled out (what the worker posts). */
export function summarizeEpisodes(episodes: EpisodeTableInput[]): EpisodeSummary[] {
  if (!episodes.length) return [];
  return episodeTable(stepTable(episodes))
    .objects()
    .map((row) => {
      const r = row as Record<string, unknown>;
      // A mean over no values comes back NaN or null: 0 for action means, null for motion.
      const num = (v: unknown, fallback: number | null) => (typeof v === "number" && Number.isFinite(v) ? v : fallback);
      return {
        name: String(r.episode),
        frames: num(r.frames, 0) as number,
        actions: num(r.actions, 0) as number,
        moving: num(r.moving, 0) as number,
        meanAbsYaw: num(r.meanAbsYaw, 0) as number,
        meanAbsPitch: num(r.meanAbsPitch, 0) as number,
        uses: num(r.uses, 0) as number,
        jumps: num(r.jumps, 0) as number,
        meanMotion: num(r.meanMotion, null),
      };
    });
}
