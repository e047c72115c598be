/**
 * The page's side of the per-episode table worker (src/workers/episode-table.ts): post the
 * episodes (names, actions, motion; no frames) and get the table rows back. Pages import this
 * module, never episode-table.ts itself, because arquero's table expressions need `Function()`,
 * which the site's Content Security Policy allows only in that worker's script.
 */
import { GamedreamError } from "../core/index.js";
import type { Action } from "../actions/index.js";

/** What the table needs of an episode: no frames, so it is cheap to post to a worker. */
export interface EpisodeTableInput {
  name: string;
  frameCount: number;
  actions: Action[];
  /** `motionSeries(episode)`: length `frameCount`. Absent: motion not measured (null in the table). */
  motion?: ArrayLike<number>;
}

/** One row of the per-episode table. */
export interface EpisodeSummary {
  name: string;
  frames: number;
  actions: number;
  /** Fraction of actions with any movement key held (0 when there are no actions). */
  moving: number;
  /** Mean |yaw| and |pitch| rate over the actions. */
  meanAbsYaw: number;
  meanAbsPitch: number;
  uses: number;
  jumps: number;
  /** Mean frame-to-frame motion over frames 1..T-1, in [0, 1]; null with fewer than 2 frames or no motion given. */
  meanMotion: number | null;
}

export interface EpisodeTableRequest {
  id: number;
  episodes: EpisodeTableInput[];
}

export type EpisodeTableResponse =
  | { id: number; rows: EpisodeSummary[] }
  | { id: number; error: { code: string; message: string } };

/** The smallest part of a Worker this client uses (a real Worker, or a fake in tests). */
export interface EpisodeTableWorker {
  postMessage(message: EpisodeTableRequest): void;
  addEventListener(type: "message" | "error", listener: (event: { data?: unknown; message?: string }) => void): void;
  removeEventListener(type: "message" | "error", listener: (event: { data?: unknown; message?: string }) => void): void;
}

let nextId = 1;

/**
 * Computes the per-episode table in `worker`. Rejects with a GamedreamError (code
 * EPISODE_TABLE_FAILED) when the worker reports an error, cannot start, or has not answered
 * after `timeoutMs`.
 */
export function summarizeEpisodesInWorker(
  worker: EpisodeTableWorker,
  episodes: EpisodeTableInput[],
  { timeoutMs = 30_000 } = {},
): Promise<EpisodeSummary[]> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      cleanup();
      reject(
        new GamedreamError("EPISODE_TABLE_FAILED", "validation", `The per-episode table could not be computed: ${why}`),
      );
    };
    const onMessage = (event: { data?: unknown }) => {
      const data = event.data as EpisodeTableResponse | undefined;
      if (!data || data.id !== id) return;
      if ("error" in data) return fail(data.error.message);
      cleanup();
      resolve(data.rows);
    };
    const onError = (event: { message?: string }) =>
      fail(
        `its worker stopped (${event.message || "the script did not load"}). The server must send that worker's script with the policy in scripts/serve.ts.`,
      );
    const timer = setTimeout(() => fail(`no answer after ${Math.round(timeoutMs / 1000)} s.`), timeoutMs);
    function cleanup() {
      clearTimeout(timer);
      worker.removeEventListener("message", onMessage);
      worker.removeEventListener("error", onError);
    }
    worker.addEventListener("message", onMessage);
    worker.addEventListener("error", onError);
    worker.postMessage({ id, episodes });
  });
}
