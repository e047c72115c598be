/** Checkpoints in memory: for tests and for runs that should leave nothing behind. */
import type { CheckpointStore, StoredCheckpoint } from "./store.js";

export class MemoryCheckpointStore implements CheckpointStore {
  readonly location = "memory";
  private readonly checkpoints = new Map<string, Map<string, Uint8Array>>();

  async list(): Promise<StoredCheckpoint[]> {
    return [...this.checkpoints].map(([id, files]) => ({
      id,
      bytes: [...files.values()].reduce((n, f) => n + f.byteLength, 0),
    }));
  }

  async write(id: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
    // Copies, so later changes to the caller's buffers (or to what read() returned) cannot leak in.
    this.checkpoints.set(id, new Map([...files].map(([name, bytes]) => [name, bytes.slice()])));
  }

  async read(id: string, file: string): Promise<Uint8Array> {
    const bytes = this.checkpoints.get(id)?.get(file);
    if (!bytes) throw new Error(`checkpoint ${id} has no file ${file}`);
    return bytes.slice();
  }

  async remove(id: string): Promise<void> {
    this.checkpoints.delete(id);
  }
}
