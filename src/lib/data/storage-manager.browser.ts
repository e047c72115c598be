/**
 * What gamedream keeps in this browser and the limits it keeps it to:
 * - checkpoints of training runs in IndexedDB (`gamedream-checkpoints`, ../storage/store-idb.browser.ts),
 * - datasets in IndexedDB, one database per dataset named `gamedream-dataset-<name>`
 *   (./store-idb.browser.ts),
 * - decoded frames in the Cache API (frame-cache.browser.ts: 500 MB, 7 days),
 * - the site itself, cached by the service worker for offline use (`gamedream-site-<version>`).
 * IndexedDB stays under a 2 GB budget by pruning old checkpoints (3 kept per run), asking for
 * persistent storage comes before the first long training run, and "clear everything" removes all
 * of the user's data. Nothing here sends anything anywhere.
 */
import { GamedreamError, isGamedreamError } from "../core/index.js";
import { IndexedDbDatasetStore } from "./store-idb.browser.js";
import { FRAME_CACHE_NAME, FrameCache } from "./frame-cache.browser.js";
import {
  DEFAULT_KEEP_CHECKPOINTS,
  listCheckpoints,
  pruneCheckpoints,
  saveCheckpoint,
  type CheckpointInput,
} from "../storage/index.js";
import { DEFAULT_IDB_NAME, IdbCheckpointStore, type IdbRunSummary } from "../storage/browser.js";

export const IDB_LIMIT_BYTES = 2 * 1024 ** 3;
export const DATASET_DB_PREFIX = "gamedream-dataset-";
export const SITE_CACHE_PREFIX = "gamedream-site-";

/** The database name of dataset `name` (give it to `IndexedDbDatasetStore.open`). */
export function datasetDbName(name: string): string {
  return DATASET_DB_PREFIX + name;
}

export interface DatasetSummaryRow {
  name: string;
  db: string;
  episodes: number;
  frames: number;
  bytes: number;
}

export interface StorageReport {
  /** `navigator.storage.estimate()`: what the browser counts for this site, and its quota. */
  estimate: { usage: number; quota: number } | null;
  /** Whether the browser promised not to evict this site's data under storage pressure. */
  persisted: boolean | null;
  runs: IdbRunSummary[];
  datasets: DatasetSummaryRow[];
  frames: { entries: number; bytes: number };
  /** Cached site versions (offline copies). */
  site: { version: string; files: number }[];
  /** Checkpoints + datasets: what the 2 GB IndexedDB limit counts. */
  idbBytes: number;
}

function hasStorageManager(): boolean {
  return typeof navigator !== "undefined" && navigator.storage !== undefined;
}

export async function storageEstimate(): Promise<{ usage: number; quota: number } | null> {
  if (!hasStorageManager() || !navigator.storage.estimate) return null;
  const { usage = 0, quota = 0 } = await navigator.storage.estimate();
  return { usage, quota };
}

async function datasetNames(): Promise<string[]> {
  // Chromium, Firefox 126+ and Safari list databases; elsewhere datasets cannot be enumerated.
  if (typeof indexedDB.databases !== "function") return [];
  return (await indexedDB.databases()).map((d) => d.name ?? "").filter((n) => n.startsWith(DATASET_DB_PREFIX));
}

/** Sizes from each dataset's manifest, read without opening (so without creating) anything else. */
async function datasetSummaries(): Promise<DatasetSummaryRow[]> {
  const out: DatasetSummaryRow[] = [];
  for (const db of await datasetNames()) {
    const store = await IndexedDbDatasetStore.open(db);
    try {
      const m = await store.readManifest();
      out.push({
        name: db.slice(DATASET_DB_PREFIX.length),
        db,
        episodes: m.totals.episodes,
        frames: m.totals.frames,
        bytes: m.totals.bytes,
      });
    } catch {
      out.push({ name: db.slice(DATASET_DB_PREFIX.length), db, episodes: 0, frames: 0, bytes: 0 });
    } finally {
      store.close();
    }
  }
  return out;
}

/** The datasets stored in this browser (recordings, saved uploads, built datasets), from their manifests. */
export function listDatasets(): Promise<DatasetSummaryRow[]> {
  return datasetSummaries();
}

async function siteVersions(): Promise<{ version: string; files: number }[]> {
  if (typeof caches === "undefined") return [];
  const out: { version: string; files: number }[] = [];
  for (const name of await caches.keys()) {
    if (name.startsWith(SITE_CACHE_PREFIX))
      out.push({
        version: name.slice(SITE_CACHE_PREFIX.length),
        files: (await (await caches.open(name)).keys()).length,
      });
  }
  return out;
}

/** Everything gamedream stores here, with sizes. */
export async function storageReport(): Promise<StorageReport> {
  const [estimate, persisted, runs, datasets, frames, site] = await Promise.all([
    storageEstimate(),
    hasStorageManager() && navigator.storage.persisted ? navigator.storage.persisted() : Promise.resolve(null),
    IdbCheckpointStore.listRuns(),
    datasetSummaries(),
    typeof caches === "undefined"
      ? Promise.resolve({ entries: 0, bytes: 0 })
      : FrameCache.open().then((c) => c.usage()),
    siteVersions(),
  ]);
  const idbBytes = runs.reduce((n, r) => n + r.bytes, 0) + datasets.reduce((n, d) => n + d.bytes, 0);
  return { estimate, persisted, runs, datasets, frames, site, idbBytes };
}

/**
 * Asks the browser to keep this site's data under storage pressure (call before the first long
 * training run: an evicted checkpoint is lost progress). Resolves with the outcome in words; the
 * browser may decide without asking the user.
 */
export async function requestPersistence(): Promise<{ persisted: boolean; message: string }> {
  if (!hasStorageManager() || !navigator.storage.persist) {
    return {
      persisted: false,
      message:
        "This browser cannot make storage persistent; it may delete checkpoints when the disk runs low. Export runs you want to keep.",
    };
  }
  if (await navigator.storage.persisted())
    return {
      persisted: true,
      message: "Storage is already persistent: the browser will not evict checkpoints on its own.",
    };
  const persisted = await navigator.storage.persist();
  return {
    persisted,
    message: persisted
      ? "Storage is now persistent: the browser will not evict checkpoints on its own."
      : "The browser declined persistent storage (browsers grant it to sites you use often or installed). Checkpoints are kept, but may be evicted when the disk runs low; export runs you want to keep.",
  };
}

/** `requestPersistence` once per browser, before the first long training run; later calls only report. */
export async function ensurePersistenceBeforeTraining(): Promise<{
  persisted: boolean;
  message: string;
  asked: boolean;
}> {
  const key = "gamedream:persistence-asked";
  const asked = typeof localStorage !== "undefined" && localStorage.getItem(key) === "1";
  if (asked) {
    const persisted = hasStorageManager() && navigator.storage.persisted ? await navigator.storage.persisted() : false;
    return {
      persisted,
      asked: false,
      message: persisted ? "Storage is persistent." : "Storage is not persistent (asked before).",
    };
  }
  const result = await requestPersistence();
  if (typeof localStorage !== "undefined") localStorage.setItem(key, "1");
  return { ...result, asked: true };
}

export interface LimitsResult {
  /** Checkpoint ids deleted, by run. */
  pruned: Record<string, string[]>;
  frames: { expired: number; evicted: number; bytes: number };
  idbBytes: number;
  /** Set when IndexedDB is still over its limit after pruning (datasets are never deleted automatically). */
  warning: string | null;
}

/**
 * Applies the limits: every run keeps its newest `keep` checkpoints; if IndexedDB is still over
 * `limitBytes`, every run but `activeRun` keeps only its newest; frames are trimmed to 500 MB / 7 days.
 */
export async function enforceStorageLimits(
  options: { keep?: number; limitBytes?: number; activeRun?: string; dbName?: string } = {},
): Promise<LimitsResult> {
  const keep = options.keep ?? DEFAULT_KEEP_CHECKPOINTS;
  const limit = options.limitBytes ?? IDB_LIMIT_BYTES;
  const dbName = options.dbName ?? DEFAULT_IDB_NAME;
  const pruned: Record<string, string[]> = {};
  const prune = async (run: string, k: number): Promise<void> => {
    const store = await IdbCheckpointStore.open(run, dbName);
    try {
      const ids = await pruneCheckpoints(store, k);
      if (ids.length) pruned[run] = [...(pruned[run] ?? []), ...ids];
    } finally {
      store.close();
    }
  };
  const total = async (): Promise<number> =>
    (await IdbCheckpointStore.listRuns(dbName)).reduce((n, r) => n + r.bytes, 0) +
    (await datasetSummaries()).reduce((n, d) => n + d.bytes, 0);

  for (const r of await IdbCheckpointStore.listRuns(dbName)) await prune(r.run, keep);
  if ((await total()) > limit) {
    for (const r of await IdbCheckpointStore.listRuns(dbName)) if (r.run !== options.activeRun) await prune(r.run, 1);
  }
  const idbBytes = await total();
  const frameResult =
    typeof caches === "undefined" ? { expired: [], evicted: [], bytes: 0 } : await (await FrameCache.open()).enforce();
  return {
    pruned,
    frames: { expired: frameResult.expired.length, evicted: frameResult.evicted.length, bytes: frameResult.bytes },
    idbBytes,
    warning:
      idbBytes > limit
        ? `gamedream's IndexedDB data is ${(idbBytes / 1e9).toFixed(2)} GB, over the ${(limit / 1e9).toFixed(1)} GB limit, after pruning checkpoints. Delete a dataset or a run on the storage page.`
        : null,
  };
}

/**
 * What the browser's storage estimate says when a write was refused for quota. Recent Chromium
 * reports a fixed quota (to keep sites from fingerprinting the disk) while it enforces the real
 * one, so an estimate with room to spare must not read as if the error were wrong.
 */
function describeEstimateAtQuotaError(estimate: { usage: number; quota: number }): string {
  const mb = (bytes: number) => (bytes / 1e6).toFixed(0);
  const counted = `The browser counts ${mb(estimate.usage)} MB used of a ${mb(estimate.quota)} MB quota`;
  return estimate.usage < 0.9 * estimate.quota
    ? `${counted}; browsers may report more room than they grant, the real limit follows free disk space.`
    : `${counted}.`;
}

/**
 * Saves a training checkpoint of `run` in IndexedDB and applies the limits (keep 3, 2 GB). A full
 * quota is a `STORAGE_QUOTA` error whose message says what is stored and what to free; earlier
 * checkpoints are untouched (the store writes in one transaction).
 */
export async function saveRunCheckpoint<C, M>(
  run: string,
  input: CheckpointInput<C, M>,
  options: { dbName?: string; keep?: number } = {},
) {
  const store = await IdbCheckpointStore.open(run, options.dbName);
  try {
    const saved = await saveCheckpoint(store, input, { keep: options.keep ?? DEFAULT_KEEP_CHECKPOINTS });
    const limits = await enforceStorageLimits({ activeRun: run, dbName: options.dbName, keep: options.keep });
    return { ...saved, limits };
  } catch (e) {
    if (isGamedreamError(e) && e.code === "STORAGE_QUOTA") {
      const estimate = await storageEstimate();
      const kept = (await listCheckpoints(store)).map((c) => c.id);
      const usage = estimate ? ` ${describeEstimateAtQuotaError(estimate)}` : "";
      throw new GamedreamError(
        "STORAGE_QUOTA",
        "storage",
        `${e.message}${usage} Checkpoints still saved for run "${run}": ${kept.join(", ") || "none"}.`,
        { recoverable: true, details: { ...e.details, run, kept, estimate }, cause: e },
      );
    }
    throw e;
  } finally {
    store.close();
  }
}

/** Deletes one run's checkpoints. */
export async function deleteRun(run: string, dbName?: string): Promise<void> {
  await IdbCheckpointStore.deleteRun(run, dbName);
}

/** Deletes one dataset's database. */
export function deleteDataset(db: string): Promise<void> {
  return deleteDatabase(db);
}

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
    // Another tab holds it open: the deletion completes when it closes; say so rather than hang.
    request.onblocked = () =>
      reject(
        new GamedreamError(
          "STORAGE_BLOCKED",
          "storage",
          `${name} is open in another gamedream tab; close it and try again.`,
          { details: { name } },
        ),
      );
  });
}

/**
 * Deletes all of the user's gamedream data in this browser: every checkpoint, dataset and cached
 * frame, and the persistence reminder. The offline copy of the site stays (it holds no user data);
 * `includeSite` removes it too.
 */
export async function clearEverything(
  options: { includeSite?: boolean } = {},
): Promise<{ databases: string[]; caches: string[] }> {
  const databases = [DEFAULT_IDB_NAME, ...(await datasetNames())];
  for (const name of databases) await deleteDatabase(name);
  const removed: string[] = [];
  if (typeof caches !== "undefined") {
    for (const name of await caches.keys()) {
      if (name === FRAME_CACHE_NAME || (options.includeSite && name.startsWith(SITE_CACHE_PREFIX))) {
        await caches.delete(name);
        removed.push(name);
      }
    }
  }
  if (typeof localStorage !== "undefined") {
    for (const key of Object.keys(localStorage)) if (key.startsWith("gamedream:")) localStorage.removeItem(key);
  }
  return { databases, caches: removed };
}
