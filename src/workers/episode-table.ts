// Worker entry: the per-episode table with arquero (src/lib/data/episode-table.ts), off the page and
// under its own Content Security Policy: arquero compiles table expressions with `Function()`,
// and this script alone is served with 'unsafe-eval' (scripts/serve.ts EVAL_ALLOWED_SCRIPTS).
// Bundled to src/assets/workers/episode-table.js by scripts/prepare-site.ts.
import type { EpisodeTableRequest, EpisodeTableResponse } from "../lib/data/index.js";
import { summarizeEpisodes } from "../lib/data/worker.js";

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<EpisodeTableRequest>) => void) | null;
  postMessage(m: EpisodeTableResponse): void;
};

scope.onmessage = (event) => {
  const { id, episodes } = event.data;
  try {
    scope.postMessage({ id, rows: summarizeEpisodes(episodes) });
  } catch (error) {
    const e = error as { code?: string; name?: string; message?: string };
    const message =
      e.name === "EvalError"
        ? "this server's Content Security Policy refuses the evaluation arquero needs in the table worker (see scripts/serve.ts)."
        : (e.message ?? String(error));
    scope.postMessage({ id, error: { code: e.code ?? e.name ?? "ERROR", message } });
  }
};
