/**
 * Where checkpoints live. A store only moves bytes: a checkpoint is a set of named files written
 * all at once; the checkpoint format, checksums and policies live in ./checkpoints.ts, the same for
 * every store (files in Node, IndexedDB in the browser, memory in tests).
 */

export interface StoredCheckpoint {
  id: string;
  /** Total bytes of the checkpoint's files. */
  bytes: number;
}

export interface CheckpointStore {
  /** Where checkpoints go, in words, for messages ("folder runs/a/checkpoints"). */
  readonly location: string;
  /** Checkpoints whose write completed, in any order. A write cut short never shows up here. */
  list(): Promise<StoredCheckpoint[]>;
  /**
   * Writes every file of checkpoint `id` atomically: afterwards all of them are visible, or
   * (on error or a killed process) none, and a previous checkpoint with the same id is unchanged.
   */
  write(id: string, files: ReadonlyMap<string, Uint8Array>): Promise<void>;
  /** One file of a listed checkpoint; rejects when it is missing. */
  read(id: string, file: string): Promise<Uint8Array>;
  /** Deletes a checkpoint; no error when it is already gone. */
  remove(id: string): Promise<void>;
}

/** True for "disk or quota full" from any host: IndexedDB's QuotaExceededError, Node's ENOSPC/EDQUOT. */
export function isQuotaError(e: unknown): boolean {
  for (let err = e, depth = 0; typeof err === "object" && err !== null && depth < 4; depth++) {
    const { name, code } = err as { name?: unknown; code?: unknown };
    if (name === "QuotaExceededError" || code === "ENOSPC" || code === "EDQUOT") return true;
    err = (err as { cause?: unknown }).cause;
  }
  return false;
}
