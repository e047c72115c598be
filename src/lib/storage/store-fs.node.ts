/**
 * Checkpoints as folders in a run directory (Node): `RUN/checkpoints/step-000100/{meta.json,
 * weights-000.bin, ...}`. A checkpoint is written into a hidden temporary folder, flushed, then
 * renamed into place, so a process killed mid-save leaves the previous checkpoints untouched and
 * never a half-written one under a real name.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import * as path from "node:path";
import type { CheckpointStore, StoredCheckpoint } from "./store.js";

const TEMP = ".tmp-"; // a write in progress (or killed): discarded on open
const REPLACED = ".old-"; // a checkpoint being replaced by a new write with the same id
const DELETED = ".del-"; // a checkpoint being deleted

function uniqueSuffix(): string {
  return `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

function assertPlainName(name: string, what: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new Error(`${what} "${name}" is not a plain file name`);
}

async function writeDurably(file: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(file, "wx");
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flushes a folder's entries (the renames) to disk; some filesystems refuse, which is harmless. */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Not supported here (e.g. some network filesystems); the rename itself is still atomic.
  }
}

export class FsCheckpointStore implements CheckpointStore {
  readonly location: string;

  private constructor(readonly dir: string) {
    this.location = `folder ${dir}`;
  }

  /**
   * Opens `runDir/checkpoints` (creating it) and tidies what a killed process left: unfinished
   * writes are discarded, a checkpoint caught mid-replacement is put back.
   */
  static async open(runDir: string): Promise<FsCheckpointStore> {
    const dir = path.join(runDir, "checkpoints");
    await mkdir(dir, { recursive: true });
    const names = await readdir(dir);
    for (const name of names) {
      if (name.startsWith(TEMP) || name.startsWith(DELETED)) {
        await rm(path.join(dir, name), { recursive: true, force: true });
      } else if (name.startsWith(REPLACED)) {
        const id = name.slice(REPLACED.length).replace(/-\d+-[a-z0-9]+-[a-z0-9]+$/, "");
        if (names.includes(id)) await rm(path.join(dir, name), { recursive: true, force: true });
        else await rename(path.join(dir, name), path.join(dir, id));
      }
    }
    return new FsCheckpointStore(dir);
  }

  async list(): Promise<StoredCheckpoint[]> {
    const entries = await readdir(this.dir, { withFileTypes: true });
    const out: StoredCheckpoint[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
      const files = await readdir(path.join(this.dir, entry.name));
      let bytes = 0;
      for (const f of files) bytes += (await stat(path.join(this.dir, entry.name, f))).size;
      out.push({ id: entry.name, bytes });
    }
    return out;
  }

  async write(id: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
    assertPlainName(id, "checkpoint id");
    for (const name of files.keys()) assertPlainName(name, "file name");
    const target = path.join(this.dir, id);
    const temp = path.join(this.dir, `${TEMP}${id}-${uniqueSuffix()}`);
    const replaced = path.join(this.dir, `${REPLACED}${id}-${uniqueSuffix()}`);
    let movedAside = false;
    try {
      await mkdir(temp);
      for (const [name, bytes] of files) await writeDurably(path.join(temp, name), bytes);
      await syncDir(temp);
      try {
        await rename(target, replaced);
        movedAside = true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      }
      await rename(temp, target);
      await syncDir(this.dir);
    } catch (e) {
      await rm(temp, { recursive: true, force: true });
      if (movedAside) await rename(replaced, target).catch(() => undefined);
      throw e;
    }
    if (movedAside) await rm(replaced, { recursive: true, force: true });
  }

  async read(id: string, file: string): Promise<Uint8Array> {
    assertPlainName(id, "checkpoint id");
    assertPlainName(file, "file name");
    const buf = await readFile(path.join(this.dir, id, file));
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  async remove(id: string): Promise<void> {
    assertPlainName(id, "checkpoint id");
    const doomed = path.join(this.dir, `${DELETED}${id}-${uniqueSuffix()}`);
    try {
      await rename(path.join(this.dir, id), doomed);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      throw e;
    }
    await rm(doomed, { recursive: true, force: true });
  }
}
