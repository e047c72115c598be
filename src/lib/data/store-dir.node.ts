/**
 * Datasets in a directory (Node): `DIR/manifest.json` and `DIR/shard-NNNN.bin`. Shards are
 * streamed to disk while hashed (node:crypto), and read back by byte range through cached file
 * handles, so a reader never loads a whole shard.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rename, writeFile, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { GamedreamError } from "../core/index.js";
import {
  datasetNotFound,
  shardNotFound,
  type DatasetManifest,
  type DatasetStore,
  type ShardWriter,
} from "./dataset.js";

export class DirectoryDatasetStore implements DatasetStore {
  readonly description: string;
  private readonly handles = new Map<string, Promise<FileHandle>>();

  constructor(readonly dir: string) {
    this.description = `directory ${dir}`;
  }

  async createShard(file: string): Promise<ShardWriter> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, file);
    await this.forget(file);
    const fh = await open(path, "w").catch((e: unknown) => {
      throw new GamedreamError("DATASET_WRITE_FAILED", "storage", `Cannot create ${path}: ${(e as Error).message}.`, {
        cause: e,
      });
    });
    const hash = createHash("sha256");
    let bytes = 0;
    return {
      write: async (chunk) => {
        let done = 0;
        while (done < chunk.length) done += (await fh.write(chunk, done, chunk.length - done)).bytesWritten;
        hash.update(chunk);
        bytes += chunk.length;
      },
      close: async () => {
        await fh.close();
        return { bytes, sha256: hash.digest("hex") };
      },
    };
  }

  private handle(file: string): Promise<FileHandle> {
    let h = this.handles.get(file);
    if (h === undefined) {
      h = open(join(this.dir, file), "r").catch((e: unknown) => {
        this.handles.delete(file);
        throw (e as NodeJS.ErrnoException).code === "ENOENT" ? shardNotFound(file, this.description) : e;
      });
      this.handles.set(file, h);
    }
    return h;
  }

  private async forget(file: string): Promise<void> {
    const h = this.handles.get(file);
    this.handles.delete(file);
    if (h !== undefined) await (await h.catch(() => null))?.close();
  }

  async readShardRange(file: string, offset: number, length: number): Promise<Uint8Array> {
    const fh = await this.handle(file);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(out, done, length - done, offset + done);
      if (bytesRead === 0) {
        throw new GamedreamError(
          "DATASET_CORRUPT",
          "dataset",
          `Shard "${file}" in ${this.description} ends at byte ${offset + done}, before the ${length} bytes asked for at ${offset}; it was truncated.`,
          { recoverable: false },
        );
      }
      done += bytesRead;
    }
    return out;
  }

  async hashShard(file: string): Promise<string> {
    const hash = createHash("sha256");
    try {
      for await (const chunk of createReadStream(join(this.dir, file))) hash.update(chunk as Buffer);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw shardNotFound(file, this.description);
      throw e;
    }
    return hash.digest("hex");
  }

  /** Written to a temporary name and renamed, so a crash never leaves half a manifest. */
  async writeManifest(manifest: DatasetManifest): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, "manifest.json");
    await writeFile(`${path}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(`${path}.tmp`, path);
  }

  async readManifest(): Promise<DatasetManifest> {
    let text: string;
    try {
      text = await readFile(join(this.dir, "manifest.json"), "utf8");
    } catch (e) {
      throw datasetNotFound(this.description, e);
    }
    try {
      return JSON.parse(text) as DatasetManifest;
    } catch (e) {
      throw new GamedreamError(
        "DATASET_CORRUPT",
        "dataset",
        `${join(this.dir, "manifest.json")} is not valid JSON: ${(e as Error).message}.`,
        { recoverable: false, cause: e },
      );
    }
  }

  /** Closes cached read handles (call when done reading). */
  async close(): Promise<void> {
    await Promise.all([...this.handles.keys()].map((f) => this.forget(f)));
  }
}
