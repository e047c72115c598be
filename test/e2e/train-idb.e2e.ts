// Training in a real Chromium page with checkpoints in IndexedDB: the page is reloaded mid-run,
// resumes from its newest checkpoint, finishes, and its loss curve matches an uninterrupted run
// of the same seed; pruning kept the newest 3 checkpoints.
import { e2e, waitFor } from "./harness.js";

interface TrainIdbState {
  state: string;
  step: number;
  checkpoints: number[];
  stored: number[];
  resumedFrom: number | null;
  history: number[] | null;
  error: string | null;
}

e2e("training: IndexedDB checkpoints survive a reload and the run resumes exactly", async (t) => {
  const steps = 200;
  const page = await t.open(`pages/tests/train-idb.html?run=e2e-${Date.now()}&steps=${steps}`);
  const before = (await waitFor(page, () => {
    const s = (window as unknown as { __trainIdb?: { checkpoints: number[]; error: string | null } }).__trainIdb;
    return s && (s.error || s.checkpoints.length >= 2) ? s : null;
  })) as TrainIdbState;
  if (before.error) throw new Error(`training failed before the reload: ${before.error}`);
  const seen = Math.max(...before.checkpoints);
  if (seen >= steps) throw new Error("the run finished before it could be interrupted");
  t.log(`reloading at step ${before.step}, newest checkpoint seen: ${seen}`);
  await page.reload({ waitUntil: "load" });

  const after = (await waitFor(
    page,
    () => {
      const s = (window as unknown as { __trainIdb?: { state: string; error: string | null } }).__trainIdb;
      return s && (s.error || s.state === "done") ? s : null;
    },
    120_000,
  )) as TrainIdbState;
  if (after.error) throw new Error(`training failed after the reload: ${after.error}`);
  if (
    after.resumedFrom === null ||
    after.resumedFrom < seen ||
    after.resumedFrom % 10 !== 0 ||
    after.resumedFrom >= steps
  ) {
    throw new Error(`expected a resume from a checkpoint at or after step ${seen}, got ${after.resumedFrom}`);
  }
  if (JSON.stringify(after.stored) !== JSON.stringify([steps - 20, steps - 10, steps]))
    throw new Error(`IndexedDB holds checkpoints ${after.stored}, expected the newest 3`);
  t.log(`resumed from step ${after.resumedFrom}`);

  const reference = await t.open(`pages/tests/train-idb.html?run=reference&mode=reference&steps=${steps}`);
  const ref = (await waitFor(
    reference,
    () => {
      const s = (window as unknown as { __trainIdb?: { state: string; error: string | null } }).__trainIdb;
      return s && (s.error || s.state === "done") ? s : null;
    },
    120_000,
  )) as TrainIdbState;
  if (ref.error) throw new Error(`reference run failed: ${ref.error}`);
  const a = after.history!;
  const b = ref.history!;
  if (a.length !== steps || b.length !== steps)
    throw new Error(`loss curves have ${a.length} and ${b.length} points, expected ${steps}`);
  const worst = Math.max(...a.map((x, i) => Math.abs(x - b[i]) / Math.max(1, Math.abs(b[i]))));
  if (!(worst <= 1e-5)) throw new Error(`the resumed loss curve differs from the uninterrupted one by up to ${worst}`);
});
