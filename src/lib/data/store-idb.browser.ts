/**
 * Datasets in IndexedDB (browsers and workers), one database per dataset: object store
 * `shards` (file name -> bytes) and `meta` (`manifest` -> manifest). IndexedDB reads whole
 * values, so the reader's range reads are served from the last few shards kept in memory.
 * Checksums use WebCrypto.
 */
import { openDB, type DBSchema, type IDBPDatabase } from "idb";
import {
  bufferedShardWriter,
  datasetNotFound,
  sha256Hex,
  shardNotFound,
  type DatasetManifest,
  type DatasetStore,
  type ShardWriter,
} from "./dataset.js";
import { GamedreamError } from "../core/index.js";

interface DatasetDb extends DBSchema {
  shards: { key: string; value: Uint8Array };
  meta: { key: string; value: DatasetManifest };
}

/** Shards kept in memory for range reads (a shard is up to ~100 MB). */
const CACHED_SHARDS = 2;

export class IndexedDbDatasetStore implements DatasetStore {
  readonly description: string;
  private readonly cache = new Map<string, Uint8Array>();

  private constructor(
    readonly name: string,
    private readonly db: IDBPDatabase<DatasetDb>,
  ) {
    this.description = `IndexedDB ${name}`;
  }

  /** Opens (or creates) the database `name`. */
  static async open(name: string): Promise<IndexedDbDatasetStore> {
    try {
      const db = await openDB<DatasetDb>(name, 1, {
        upgrade(d) {
          d.createObjectStore("shards");
          d.createObjectStore("meta");
        },
      });
      return new IndexedDbDatasetStore(name, db);
    } catch (e) {
      throw new GamedreamError(
        "STORAGE_UNAVAILABLE",
        "storage",
        `IndexedDB is not available here (${(e as Error).message}); private windows and some embedded views block it.`,
        { cause: e },
      );
    }
  }

  async createShard(file: string): Promise<ShardWriter> {
    return bufferedShardWriter(async (all) => {
      try {
        await this.db.put("shards", all, file);
      } catch (e) {
        throw new GamedreamError(
          "STORAGE_QUOTA",
          "storage",
          `Could not store shard "${file}" (${(all.length / 1e6).toFixed(1)} MB) in ${this.description}: ${(e as Error).message}. Free space or build a smaller dataset.`,
          { cause: e },
        );
      }
      this.cache.delete(file);
    });
  }

  private async shard(file: string): Promise<Uint8Array> {
    let bytes = this.cache.get(file);
    if (bytes === undefined) {
      bytes = await this.db.get("shards", file);
      if (bytes === undefined) throw shardNotFound(file, this.description);
      this.cache.set(file, bytes);
      while (this.cache.size > CACHED_SHARDS) this.cache.delete(this.cache.keys().next().value as string);
    } else {
      // Most recently used goes last.
      this.cache.delete(file);
      this.cache.set(file, bytes);
    }
    return bytes;
  }

  async readShardRange(file: string, offset: number, length: number): Promise<Uint8Array> {
    const bytes = await this.shard(file);
    if (offset + length > bytes.length) {
      throw new GamedreamError(
        "DATASET_CORRUPT",
        "dataset",
        `Shard "${file}" in ${this.description} has ${bytes.length} bytes; asked for ${length} at ${offset}.`,
        { recoverable: false },
      );
    }
    return bytes.subarray(offset, offset + length);
  }

  async hashShard(file: string): Promise<string> {
    return sha256Hex(await this.shard(file));
  }

  async writeManifest(manifest: DatasetManifest): Promise<void> {
    await this.db.put("meta", manifest, "manifest");
  }

  async readManifest(): Promise<DatasetManifest> {
    const m = await this.db.get("meta", "manifest");
    if (m === undefined) throw datasetNotFound(this.description);
    return m;
  }

  /** Deletes every shard and the manifest (to rebuild). */
  async clear(): Promise<void> {
    await this.db.clear("shards");
    await this.db.clear("meta");
    this.cache.clear();
  }

  close(): void {
    this.db.close();
  }
}
