/**
 * Checkpoints in IndexedDB (browser pages and workers), one database shared by all runs:
 * `checkpoints` holds one record per checkpoint, `files` its bytes keyed by [run, id, file]. A
 * checkpoint is written in one transaction, so a reload or a full quota mid-save commits nothing
 * and earlier checkpoints stay as they were.
 */
import { openDB, type DBSchema, type IDBPDatabase } from "idb";
import type { CheckpointStore, StoredCheckpoint } from "./store.js";

export const DEFAULT_IDB_NAME = "gamedream-checkpoints";

interface CheckpointRecord {
  run: string;
  id: string;
  bytes: number;
  files: string[];
  /** Milliseconds since the epoch, when the write committed. */
  savedAt: number;
}

interface CheckpointDb extends DBSchema {
  checkpoints: { key: [string, string]; value: CheckpointRecord };
  files: { key: [string, string, string]; value: Uint8Array };
}

export interface IdbRunSummary {
  run: string;
  checkpoints: number;
  bytes: number;
}

async function openCheckpointDb(dbName: string): Promise<IDBPDatabase<CheckpointDb>> {
  return openDB<CheckpointDb>(dbName, 1, {
    upgrade(db) {
      db.createObjectStore("checkpoints");
      db.createObjectStore("files");
    },
  });
}

/** Keys [run, ...] from [run] up to, excluding, anything past run (an array sorts after every string). */
function runRange(run: string): IDBKeyRange {
  return IDBKeyRange.bound([run], [run, []]);
}

function checkpointRange(run: string, id: string): IDBKeyRange {
  return IDBKeyRange.bound([run, id], [run, id, []]);
}

/** A compact copy when `bytes` is a view into a larger buffer: structured clone stores whole buffers. */
function compact(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

export class IdbCheckpointStore implements CheckpointStore {
  readonly location: string;

  private constructor(
    private readonly db: IDBPDatabase<CheckpointDb>,
    readonly run: string,
  ) {
    this.location = `IndexedDB ${db.name}, run "${run}"`;
  }

  /** The store of one run (a name the caller chooses, e.g. the run's id). */
  static async open(run: string, dbName: string = DEFAULT_IDB_NAME): Promise<IdbCheckpointStore> {
    return new IdbCheckpointStore(await openCheckpointDb(dbName), run);
  }

  /** Every run with checkpoints, with their sizes (for a storage page). */
  static async listRuns(dbName: string = DEFAULT_IDB_NAME): Promise<IdbRunSummary[]> {
    const db = await openCheckpointDb(dbName);
    try {
      const runs = new Map<string, IdbRunSummary>();
      for (const record of await db.getAll("checkpoints")) {
        const summary = runs.get(record.run) ?? { run: record.run, checkpoints: 0, bytes: 0 };
        summary.checkpoints += 1;
        summary.bytes += record.bytes;
        runs.set(record.run, summary);
      }
      return [...runs.values()];
    } finally {
      db.close();
    }
  }

  /** Deletes every checkpoint of `run` in one transaction. */
  static async deleteRun(run: string, dbName: string = DEFAULT_IDB_NAME): Promise<void> {
    const db = await openCheckpointDb(dbName);
    try {
      const tx = db.transaction(["checkpoints", "files"], "readwrite");
      await Promise.all([
        tx.objectStore("checkpoints").delete(runRange(run)),
        tx.objectStore("files").delete(runRange(run)),
        tx.done,
      ]);
    } finally {
      db.close();
    }
  }

  async list(): Promise<StoredCheckpoint[]> {
    const records = await this.db.getAll("checkpoints", runRange(this.run));
    return records.map((r) => ({ id: r.id, bytes: r.bytes }));
  }

  async write(id: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
    const tx = this.db.transaction(["checkpoints", "files"], "readwrite");
    const pending: Promise<unknown>[] = [tx.done];
    try {
      const fileStore = tx.objectStore("files");
      let bytes = 0;
      pending.push(fileStore.delete(checkpointRange(this.run, id)));
      for (const [name, data] of files) {
        bytes += data.byteLength;
        pending.push(fileStore.put(compact(data), [this.run, id, name]));
      }
      const record: CheckpointRecord = { run: this.run, id, bytes, files: [...files.keys()], savedAt: Date.now() };
      pending.push(tx.objectStore("checkpoints").put(record, [this.run, id]));
      await Promise.all(pending);
    } catch (e) {
      // Every queued request now fails with AbortError; the first error is the one that matters.
      for (const p of pending) p.catch(() => undefined);
      try {
        tx.abort(); // roll back whatever was queued, so the store keeps its previous state exactly
      } catch {
        // Already aborted by the failure itself.
      }
      // A failed request aborts the transaction; its error (e.g. QuotaExceededError) says why.
      throw tx.error ?? e;
    }
  }

  async read(id: string, file: string): Promise<Uint8Array> {
    const bytes = await this.db.get("files", [this.run, id, file]);
    if (!bytes) throw new Error(`checkpoint ${id} has no file ${file} in ${this.location}`);
    return bytes;
  }

  async remove(id: string): Promise<void> {
    const tx = this.db.transaction(["checkpoints", "files"], "readwrite");
    await Promise.all([
      tx.objectStore("checkpoints").delete([this.run, id]),
      tx.objectStore("files").delete(checkpointRange(this.run, id)),
      tx.done,
    ]);
  }

  close(): void {
    this.db.close();
  }
}
