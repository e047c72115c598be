/**
 * What the play page can offer from this browser's storage: stored training runs (with their
 * kind, checkpoints and the VAE a DiT learned on; ./model-choice.ts `describePlayableRun`, read from
 * checkpoint descriptions only, no weights) and stored datasets to start a dream from.
 */
import { describePlayableRun, type PlayableRun } from "./model-choice.js";
import { IdbCheckpointStore } from "../storage/browser.js";

export type { PlayableRun };
export { listDatasets } from "../data/browser.js";

/** Every stored run that has a checkpoint, by name; a run whose newest description is unreadable is left out. */
export async function listPlayableRuns(): Promise<PlayableRun[]> {
  const out: PlayableRun[] = [];
  for (const { run } of await IdbCheckpointStore.listRuns()) {
    const store = await IdbCheckpointStore.open(run);
    try {
      const described = await describePlayableRun(run, store);
      if (described) out.push(described);
    } catch {
      // Damaged: the storage page lists it for deletion; there is nothing here to play.
    } finally {
      store.close();
    }
  }
  return out.sort((a, b) => a.run.localeCompare(b.run));
}
