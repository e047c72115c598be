// Datasets are verified like checkpoints in the browser too: a dataset stored in IndexedDB whose
// shard was damaged after it was written stops a Training-page run before anything trains, with
// DATASET_CORRUPT naming the shard and the fix, and no checkpoint of that run is written.
import { MemoryDatasetStore, buildDataset, gameEpisodeSources } from "../../src/lib/data/index.js";
import { e2e, fillInput, settled } from "./harness.js";

const NAME = "damaged-e2e";
const RUN = "corrupt-e2e";

e2e(
  "training page: a stored dataset with a damaged shard stops the run (DATASET_CORRUPT), nothing written to the run",
  async (t) => {
    // A real dataset (the library's own writer), then four bytes in the middle of its shard overwritten.
    const store = new MemoryDatasetStore();
    const manifest = await buildDataset(store, gameEpisodeSources({ seed: 5, episodes: 1, frames: 8 }), {
      heldoutFraction: 0,
    });
    const file = manifest.shards[0].file;
    const bytes = store.shards.get(file)!.slice();
    bytes.set([0xde, 0xad, 0xbe, 0xef], bytes.length >> 1);

    const context = await t.newContext({ serviceWorkers: "block" });
    const first = await t.open("pages/train.html", { context });
    await settled(first, 120_000);
    // Stored as the Play and Data pages store datasets: database gamedream-dataset-NAME, shards + manifest.
    await first.evaluate(
      async ({ db, manifest, file, base64 }) => {
        const shard = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        const open = indexedDB.open(db, 1);
        open.onupgradeneeded = () => {
          open.result.createObjectStore("shards");
          open.result.createObjectStore("meta");
        };
        const handle = await new Promise<IDBDatabase>((resolve, reject) => {
          open.onsuccess = () => resolve(open.result);
          open.onerror = () => reject(open.error);
        });
        await new Promise<void>((resolve, reject) => {
          const tx = handle.transaction(["shards", "meta"], "readwrite");
          tx.objectStore("shards").put(shard, file);
          tx.objectStore("meta").put(manifest, "manifest");
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(tx.error);
        });
        handle.close();
      },
      { db: `gamedream-dataset-${NAME}`, manifest, file, base64: Buffer.from(bytes).toString("base64") },
    );
    await first.close();

    const page = await t.open(`pages/train.html?data=${NAME}`, { context });
    await settled(page, 120_000);
    await fillInput(page, "Run name", RUN);
    await page.click("#train-start");
    await page.waitForFunction(
      () =>
        !document.querySelector<HTMLElement>("#train-error")?.hidden &&
        (document.querySelector("#train-error")?.textContent ?? "") !== "",
      undefined,
      { timeout: 120_000 },
    );
    const shown = (await page.locator("#train-error").textContent()) ?? "";
    if (
      !shown.includes("error[DATASET_CORRUPT]: ") ||
      !shown.includes(`Shard "${file}"`) ||
      !/is damaged/.test(shown) ||
      !/delete it on the Storage page and record it again/.test(shown)
    ) {
      throw new Error(`the Training page says: ${shown}`);
    }
    t.log(`the Training page says: ${shown}`);

    // Nothing was written to the run: no checkpoint record of it in IndexedDB.
    const written = await page.evaluate(async (run) => {
      const open = indexedDB.open("gamedream-checkpoints");
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      if (!db.objectStoreNames.contains("checkpoints")) return 0;
      const keys = await new Promise<IDBValidKey[]>((resolve, reject) => {
        const r = db.transaction("checkpoints").objectStore("checkpoints").getAllKeys();
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      db.close();
      return keys.filter((k) => Array.isArray(k) && k[0] === run).length;
    }, RUN);
    if (written !== 0) throw new Error(`the run "${RUN}" has ${written} checkpoint(s) after refusing its data`);
  },
  { timeoutMs: 300_000 },
);
