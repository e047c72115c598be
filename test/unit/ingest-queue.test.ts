import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GamedreamError } from "../../src/lib/core/index.js";
import { IngestQueue, ingestAll, type QueueItem } from "../../src/lib/data/index.js";
import { collectRgbFrames } from "../../src/lib/video/node.js";
import { PATTERN_CLIPS, encodePatternClip } from "../fixtures/make-fixtures.js";

type F = { name: string; size: number };
const file = (name: string): F => ({ name, size: 1 });

/** A job whose completion the test controls. */
function controllable() {
  const pending = new Map<string, { resolve: (v: string) => void; reject: (e: unknown) => void }>();
  const started: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const run = (
    f: F,
    ctx: {
      signal: AbortSignal;
      onProgress: (p: { framesDone: number; framesTotal: number; fraction: number }) => void;
    },
  ) =>
    new Promise<string>((resolve, reject) => {
      started.push(f.name);
      running++;
      maxRunning = Math.max(maxRunning, running);
      ctx.onProgress({ framesDone: 1, framesTotal: 4, fraction: 0.25 });
      const done = () => running--;
      ctx.signal.addEventListener("abort", () => {
        done();
        reject(new Error("aborted"));
      });
      pending.set(f.name, { resolve: (v) => (done(), resolve(v)), reject: (e) => (done(), reject(e)) });
    });
  return { run, pending, started, maxRunning: () => maxRunning };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("ingest queue", () => {
  it("runs one at a time by default, in order; a failure does not stop the rest", async () => {
    const job = controllable();
    const snapshots: QueueItem<F, string>[][] = [];
    const queue = new IngestQueue<F, string>({ run: job.run, onChange: (items) => snapshots.push(items) });
    queue.add([file("a"), file("b"), file("c")]);
    await tick();
    expect(job.started).toEqual(["a"]);
    expect(queue.items().map((i) => i.status)).toEqual(["running", "queued", "queued"]);
    expect(queue.items()[0].fraction).toBe(0.25);
    job.pending.get("a")!.reject(new GamedreamError("VIDEO_CORRUPT", "video", "a is not a video"));
    await tick();
    expect(job.started).toEqual(["a", "b"]);
    job.pending.get("b")!.resolve("B");
    await tick();
    job.pending.get("c")!.reject(new Error("boom"));
    const items = await queue.whenIdle();
    expect(items.map((i) => i.status)).toEqual(["failed", "done", "failed"]);
    expect(items[0].error).toEqual({ code: "VIDEO_CORRUPT", message: "a is not a video" });
    expect(items[1]).toMatchObject({ result: "B", fraction: 1 });
    expect(items[2].error?.code).toBe("INTERNAL");
    expect(items[2].error?.message).toMatch(/c could not be ingested: boom/);
    expect(job.maxRunning()).toBe(1);
    // Snapshots are copies: later changes do not rewrite what a listener saw.
    expect(snapshots[0].every((i) => i.status === "queued")).toBe(true);
  });

  it("runs two at a time with concurrency 2", async () => {
    const job = controllable();
    const queue = new IngestQueue<F, string>({ run: job.run, concurrency: 2 });
    queue.add(["a", "b", "c", "d"].map(file));
    await tick();
    expect(job.started).toEqual(["a", "b"]);
    job.pending.get("b")!.resolve("B");
    await tick();
    expect(job.started).toEqual(["a", "b", "c"]);
    for (const n of ["a", "c"]) job.pending.get(n)!.resolve(n.toUpperCase());
    await tick();
    job.pending.get("d")!.resolve("D");
    expect((await queue.whenIdle()).map((i) => i.result)).toEqual(["A", "B", "C", "D"]);
    expect(job.maxRunning()).toBe(2);
  });

  it("cancels a running and a queued file without touching the others", async () => {
    const job = controllable();
    const queue = new IngestQueue<F, string>({ run: job.run });
    const [a, b, c] = queue.add(["a", "b", "c"].map(file));
    await tick();
    queue.cancel(b);
    queue.cancel(a);
    await tick();
    expect(job.started).toEqual(["a", "c"]);
    job.pending.get("c")!.resolve("C");
    const items = await queue.whenIdle();
    expect(items.map((i) => i.status)).toEqual(["cancelled", "cancelled", "done"]);
    expect(items.find((i) => i.id === c)?.result).toBe("C");
  });

  it("rejects a bad concurrency; an empty queue is idle at once", async () => {
    expect(() => new IngestQueue<F, string>({ run: async () => "", concurrency: 0 })).toThrow(/positive integer/);
    expect(await new IngestQueue<F, string>({ run: async () => "" }).whenIdle()).toEqual([]);
  });
});

describe("ingest queue with real videos (Node ingestion, ffmpeg)", () => {
  const dir = mkdtempSync(join(tmpdir(), "gamedream-queue-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("two files together: the bad one fails with a video error, the good one yields every frame", async () => {
    const clip = PATTERN_CLIPS.portrait;
    const good = join(dir, clip.file);
    await encodePatternClip(good, clip);
    const bad = join(dir, "notes.mp4");
    writeFileSync(bad, "not a video at all\n".repeat(50));
    const files = [bad, good].map((path) => ({ name: path, size: statSync(path).size }));
    const progress: number[] = [];
    const items = await ingestAll(files, {
      concurrency: 2,
      run: (f, ctx) =>
        collectRgbFrames(f.name, {
          signal: ctx.signal,
          onProgress: (p) => (ctx.onProgress(p), progress.push(p.fraction)),
        }),
      onChange: () => undefined,
    });
    expect(items[0].status).toBe("failed");
    expect(items[0].error?.code).toMatch(/^VIDEO_/);
    expect(items[1].status).toBe("done");
    expect(items[1].result?.frames.length).toBe(clip.frames);
    expect(progress.at(-1)).toBe(1);
  });
});
