/**
 * Several videos at once: a queue that ingests files one after another (or `concurrency` at a
 * time), reports each file's progress and outcome, and keeps going when one fails. Decoding
 * itself is the caller's job function, typically the browser's `collectRgbFrames` or
 * `extractRgbBatchesInWorker` from video/; the queue only schedules, tracks and cancels, so it
 * runs the same in Node (tests) and pages.
 */
import { isGamedreamError } from "../core/index.js";
import type { IngestProgress } from "../video/index.js";

export type QueueStatus = "queued" | "running" | "done" | "failed" | "cancelled";

/** What the queue needs of a file: a `File` qualifies. */
export interface QueueFile {
  name: string;
  size: number;
}

export interface QueueItem<F extends QueueFile, R> {
  id: number;
  file: F;
  status: QueueStatus;
  /** 0..1 of this file. */
  fraction: number;
  framesDone: number;
  framesTotal: number;
  result?: R;
  /** Why it failed, in words, with the error's code (`VIDEO_CORRUPT`, ...). */
  error?: { code: string; message: string };
}

export interface JobContext {
  signal: AbortSignal;
  onProgress(p: IngestProgress): void;
}

export interface IngestQueueOptions<F extends QueueFile, R> {
  /** Ingests one file; reject to mark it failed (the others carry on). */
  run(file: F, context: JobContext): Promise<R>;
  /** Files decoded at the same time (default 1). Decoding is CPU-bound: 2 is the useful most on 2 cores. */
  concurrency?: number;
  /** Called after every change, with a snapshot of every item in the order added. */
  onChange?(items: QueueItem<F, R>[]): void;
}

export class IngestQueue<F extends QueueFile, R> {
  private readonly entries: QueueItem<F, R>[] = [];
  private readonly controllers = new Map<number, AbortController>();
  private readonly concurrency: number;
  private running = 0;
  private nextId = 1;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: IngestQueueOptions<F, R>) {
    const c = options.concurrency ?? 1;
    if (!Number.isInteger(c) || c < 1) throw new Error(`concurrency must be a positive integer, got ${c}`);
    this.concurrency = c;
  }

  /** Queues files (in order) and starts as many as `concurrency` allows; returns their ids. */
  add(files: Iterable<F>): number[] {
    const ids: number[] = [];
    for (const file of files) {
      const item: QueueItem<F, R> = {
        id: this.nextId++,
        file,
        status: "queued",
        fraction: 0,
        framesDone: 0,
        framesTotal: 0,
      };
      this.entries.push(item);
      ids.push(item.id);
    }
    this.changed();
    this.pump();
    return ids;
  }

  /** Snapshots of every item, in the order added. */
  items(): QueueItem<F, R>[] {
    return this.entries.map((e) => ({ ...e, error: e.error && { ...e.error } }));
  }

  /** Cancels a queued or running file; the others are unaffected. */
  cancel(id: number): void {
    const item = this.entries.find((e) => e.id === id);
    if (!item) return;
    if (item.status === "queued") {
      item.status = "cancelled";
      this.changed();
      this.settleIfIdle();
    } else if (item.status === "running") this.controllers.get(id)?.abort();
  }

  cancelAll(): void {
    for (const e of this.entries) this.cancel(e.id);
  }

  /** Resolves with every item once nothing is queued or running. */
  whenIdle(): Promise<QueueItem<F, R>[]> {
    if (this.isIdle()) return Promise.resolve(this.items());
    return new Promise((resolve) => this.idleWaiters.push(() => resolve(this.items())));
  }

  private isIdle(): boolean {
    return this.running === 0 && !this.entries.some((e) => e.status === "queued");
  }

  private changed(): void {
    this.options.onChange?.(this.items());
  }

  private settleIfIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private pump(): void {
    while (this.running < this.concurrency) {
      const item = this.entries.find((e) => e.status === "queued");
      if (!item) break;
      void this.start(item);
    }
    this.settleIfIdle();
  }

  private async start(item: QueueItem<F, R>): Promise<void> {
    this.running++;
    item.status = "running";
    const controller = new AbortController();
    this.controllers.set(item.id, controller);
    this.changed();
    try {
      const result = await this.options.run(item.file, {
        signal: controller.signal,
        onProgress: (p) => {
          item.framesDone = p.framesDone;
          item.framesTotal = p.framesTotal;
          item.fraction = p.fraction;
          this.changed();
        },
      });
      if (controller.signal.aborted) throw new Error("cancelled");
      item.result = result;
      item.status = "done";
      item.fraction = 1;
    } catch (e) {
      if (controller.signal.aborted) item.status = "cancelled";
      else {
        item.status = "failed";
        item.error = isGamedreamError(e)
          ? { code: e.code, message: e.message }
          : {
              code: "INTERNAL",
              message: `${item.file.name} could not be ingested: ${e instanceof Error ? e.message : String(e)}`,
            };
      }
    } finally {
      this.controllers.delete(item.id);
      this.running--;
    }
    this.changed();
    this.pump();
  }
}

/** Ingests `files` with `run` and resolves with every outcome once all have finished or failed. */
export function ingestAll<F extends QueueFile, R>(
  files: Iterable<F>,
  options: IngestQueueOptions<F, R>,
): Promise<QueueItem<F, R>[]> {
  const queue = new IngestQueue(options);
  queue.add(files);
  return queue.whenIdle();
}
