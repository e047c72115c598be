// Video ingestion in Chromium: the ffmpeg fixtures are uploaded through a file input
// (setInputFiles) into a test page that loads the browser module (ingest.browser.ts, bundled
// here with esbuild and served on the site's origin through a route), then decoded with
// mediabunny + WebCodecs, in a Web Worker, and with the <video> fallback. The burned-in frame
// indices prove the right frames come out, in order, at 30 fps; bad files must give typed errors.
import { build } from "esbuild";
import type { BrowserContext, Page } from "playwright-core";
import { e2e, type TestContext } from "./harness.js";
import { makeFixtures, PATTERN_CLIPS, type Fixtures } from "../fixtures/make-fixtures.js";
import { collectRgbFrames } from "../../src/lib/video/node.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the test page's hooks (lib modules, tfjs) are untyped here
type VideoHooks = any;
const PREFIX = "__video-test";

async function bundle(contents: string): Promise<string> {
  const out = await build({
    stdin: { contents, resolveDir: process.cwd(), loader: "ts" },
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
    logLevel: "silent",
    // tfjs' Node-only branches are never taken in a page.
    external: ["node:*", "fs", "path", "crypto", "worker_threads", "perf_hooks", "os", "util"],
  });
  return out.outputFiles[0].text;
}

let shared: Promise<{ page: string; worker: string; fixtures: Fixtures }> | null = null;
function prepare(): Promise<{ page: string; worker: string; fixtures: Fixtures }> {
  shared ??= (async () => {
    const [page, worker, fixtures] = await Promise.all([
      bundle(`
        import * as tf from "@tensorflow/tfjs";
        import * as ingest from "./src/lib/video/ingest.browser.ts";
        import { extractRgbBatchesInWorker } from "./src/lib/video/worker.browser.ts";
        import { readPattern } from "./test/fixtures/pattern.ts";
        window.__video = { tf, ...ingest, extractRgbBatchesInWorker, readPattern };
      `),
      bundle(`import "./src/workers/ingest.ts";`),
      makeFixtures(),
    ]);
    process.on("exit", () => fixtures.cleanup());
    return { page, worker, fixtures };
  })();
  return shared;
}

/** A page on the site's origin with the module loaded and every fixture in `#files`. */
async function openTestPage(t: TestContext): Promise<Page> {
  const { page: pageJs, worker: workerJs, fixtures } = await prepare();
  const context: BrowserContext = await t.newContext();
  const html = `<!doctype html><html lang="en"><head><title>video ingest test</title></head><body>
    <label>Videos <input id="files" type="file" multiple></label>
    <script type="module" src="/${PREFIX}/page.js"></script></body></html>`;
  await context.route(`${t.baseUrl}/${PREFIX}/**`, (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path.endsWith("/index.html")) return route.fulfill({ contentType: "text/html", body: html });
    if (path.endsWith("/page.js")) return route.fulfill({ contentType: "text/javascript", body: pageJs });
    if (path.endsWith("/worker.js")) return route.fulfill({ contentType: "text/javascript", body: workerJs });
    return route.fulfill({ status: 404, body: "" });
  });
  const page = await t.open(`${PREFIX}/index.html`, { context });
  await page.waitForFunction(() => "__video" in window);
  const names = [
    ...Object.values(PATTERN_CLIPS).map((c) => c.file),
    "fake-text.mp4",
    "fake-png.mp4",
    "empty.mp4",
    "4k.mp4",
    "hevc.mp4",
    "mpeg4.mp4",
    "audio-only.mp4",
    "audio-only.webm",
    "truncated.mp4",
    "truncated-noindex.mp4",
    "truncated.webm",
    "clip.mkv",
  ];
  await page.setInputFiles(
    "#files",
    names.map((n) => fixtures.path(n)),
  );
  return page;
}

/** Source index each 30 fps output frame must show (see resample.ts). */
const expectedIndices = (fps: number, frames: number): number[] =>
  Array.from({ length: Math.round((frames / fps) * 30) }, (_, i) =>
    Math.min(frames - 1, Math.floor(((i + 0.5) / 30) * fps + 1e-9)),
  );

function assertEqual(name: string, got: unknown, want: unknown): void {
  if (JSON.stringify(got) !== JSON.stringify(want))
    throw new Error(`${name}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

/** In the page: decode one uploaded file and read the pattern of every frame. */
async function decodeInPage(
  page: Page,
  file: string,
  srcW: number,
  srcH: number,
  mode: "main" | "worker" | "video-element",
): Promise<{ indices: (number | null)[]; swatchesOk: boolean; ms: number }> {
  return page.evaluate(
    async ({ file, srcW, srcH, mode }) => {
      const v = (window as unknown as { __video: VideoHooks }).__video;
      const input = document.querySelector<HTMLInputElement>("#files")!;
      const f = Array.from(input.files!).find((x) => x.name === file)!;
      const t0 = performance.now();
      let batches: AsyncIterable<{ rgb: Uint8Array; count: number }>;
      if (mode === "worker") {
        const code = await (await fetch("/__video-test/worker.js")).text();
        const worker = new Worker(URL.createObjectURL(new Blob([code], { type: "text/javascript" })), {
          type: "module",
        });
        batches = v.extractRgbBatchesInWorker(f, { worker, batchSize: 8 });
      } else
        batches = v.extractRgbBatches(f, {
          batchSize: 8,
          decoder: mode === "video-element" ? "video-element" : "webcodecs",
        });
      const indices: (number | null)[] = [];
      let swatchesOk = true;
      for await (const b of batches) {
        for (let i = 0; i < b.count; i++) {
          const d = v.readPattern(b.rgb.subarray(i * 196608, (i + 1) * 196608), srcW, srcH, "letterbox");
          indices.push(d.index);
          swatchesOk &&= d.swatchesOk;
        }
      }
      return { indices, swatchesOk, ms: performance.now() - t0 };
    },
    { file, srcW, srcH, mode },
  );
}

e2e("video ingestion: every fixture's frames come out right at 30 fps (WebCodecs, main thread)", async (t) => {
  const page = await openTestPage(t);
  for (const clip of Object.values(PATTERN_CLIPS)) {
    const got = await decodeInPage(page, clip.file, clip.width, clip.height, "main");
    assertEqual(clip.file, got.indices, expectedIndices(clip.fps, clip.frames));
    if (!got.swatchesOk) throw new Error(`${clip.file}: colour swatches wrong (channel order?)`);
    t.log(`${clip.file}: ${got.indices.length} frames, ${(got.ms / got.indices.length).toFixed(1)} ms/frame`);
  }
  const bench = await page.evaluate(async () => {
    const v = (window as unknown as { __video: VideoHooks }).__video;
    await v.tf.ready(); // a backend start still in flight would leave "cpu" uninitialised (webapp.e2e.ts)
    await v.tf.setBackend("cpu");
    const f = Array.from(document.querySelector<HTMLInputElement>("#files")!.files!).find((x) =>
      x.name.startsWith("h264-640x360"),
    )!;
    const before = v.tf.memory().numTensors;
    let shapeOk = true;
    let rangeOk = true;
    for await (const b of v.ingestVideo(f, { batchSize: 16 })) {
      shapeOk &&= JSON.stringify(b.frames.shape) === JSON.stringify([b.count, 256, 256, 3]);
      const [lo, hi] = v.tf.tidy(() => [b.frames.min().dataSync()[0], b.frames.max().dataSync()[0]]);
      rangeOk &&= lo === -1 && hi === 1;
      b.frames.dispose();
    }
    const timing = await v.measureIngestMsPerFrame(f);
    return { shapeOk, rangeOk, leaked: v.tf.memory().numTensors - before, timing };
  });
  if (!bench.shapeOk || !bench.rangeOk || bench.leaked !== 0)
    throw new Error(`tensors wrong: ${JSON.stringify(bench)}`);
  t.log(
    `Chromium ingest 640x360 H.264 -> 256x256 tensors: ${bench.timing.msPerFrame.toFixed(1)} ms/frame over ${bench.timing.frames} frames`,
  );
});

e2e("video ingestion: bad files get typed errors, nothing crashes", async (t) => {
  const page = await openTestPage(t);
  const cases: [string, string][] = [
    ["fake-text.mp4", "VIDEO_NOT_VIDEO"],
    ["fake-png.mp4", "VIDEO_NOT_VIDEO"],
    ["empty.mp4", "VIDEO_EMPTY"],
    ["4k.mp4", "VIDEO_RESOLUTION_TOO_HIGH"],
    ["hevc.mp4", "VIDEO_UNSUPPORTED_CODEC"],
    ["mpeg4.mp4", "VIDEO_UNSUPPORTED_CODEC"],
    ["audio-only.mp4", "VIDEO_NO_VIDEO_TRACK"],
    ["audio-only.webm", "VIDEO_NO_VIDEO_TRACK"],
    ["truncated.mp4", "VIDEO_TRUNCATED"],
    ["truncated-noindex.mp4", "VIDEO_CORRUPT"],
    ["truncated.webm", "VIDEO_TRUNCATED"],
    ["clip.mkv", "VIDEO_UNSUPPORTED_CONTAINER"],
    ["(101 MB blob)", "VIDEO_TOO_LARGE"],
  ];
  const got = await page.evaluate(
    async (names) => {
      const v = (window as unknown as { __video: VideoHooks }).__video;
      const files = Array.from(document.querySelector<HTMLInputElement>("#files")!.files!);
      const out: Record<string, { code: string; type: string; message: string }> = {};
      for (const name of names) {
        const source =
          name === "(101 MB blob)"
            ? new File(
                [
                  await files.find((f) => f.name.startsWith("h264-320x180"))!.arrayBuffer(),
                  new ArrayBuffer(101 * 1024 * 1024),
                ],
                "big.mp4",
              )
            : files.find((f) => f.name === name)!;
        try {
          for await (const b of v.extractRgbBatches(source, { decoder: "webcodecs" })) void b;
          out[name] = { code: "OK", type: "", message: "" };
        } catch (e) {
          const err = e as { code?: string; type?: string; message: string };
          out[name] = { code: err.code ?? `untyped: ${err.message}`, type: err.type ?? "", message: err.message };
        }
      }
      return out;
    },
    cases.map(([n]) => n),
  );
  for (const [name, code] of cases) {
    if (got[name].code !== code || got[name].type !== "video")
      throw new Error(`${name}: want ${code}, got ${JSON.stringify(got[name])}`);
  }
  t.log(
    Object.entries(got)
      .map(([n, e]) => `${n} -> ${e.code}`)
      .join("; "),
  );

  // One truncation policy: every whole frame of a cut WebM is decoded here as in Node (ffmpeg),
  // and the same rule refuses it with the same count and the same words.
  const { fixtures } = await prepare();
  const node = await collectRgbFrames(fixtures.path("truncated.webm")).then(
    () => null,
    (e: { message: string }) => e,
  );
  const counts = node?.message.match(/only (\d+) of its (\d+) frames/);
  if (!counts || Number(counts[1]) === 0)
    throw new Error(`Node read the truncated WebM as: ${node?.message ?? "whole"}`);
  if (got["truncated.webm"].message !== node!.message)
    throw new Error(`truncated.webm: Chromium says "${got["truncated.webm"].message}", Node says "${node!.message}"`);
  t.log(`truncated.webm in both hosts: ${node!.message}`);
});

e2e("video ingestion in a Web Worker, cancellable; the <video> fallback", async (t) => {
  const page = await openTestPage(t);
  const odd = PATTERN_CLIPS.vp9odd;
  const inWorker = await decodeInPage(page, odd.file, odd.width, odd.height, "worker");
  assertEqual(`${odd.file} in a worker`, inWorker.indices, expectedIndices(odd.fps, odd.frames));

  const cancelled = await page.evaluate(async () => {
    const v = (window as unknown as { __video: VideoHooks }).__video;
    const f = Array.from(document.querySelector<HTMLInputElement>("#files")!.files!).find((x) =>
      x.name.startsWith("h264-640x360"),
    )!;
    const code = await (await fetch("/__video-test/worker.js")).text();
    const worker = new Worker(URL.createObjectURL(new Blob([code], { type: "text/javascript" })), { type: "module" });
    const ac = new AbortController();
    let seen = 0;
    try {
      for await (const b of v.extractRgbBatchesInWorker(f, { worker, batchSize: 4, signal: ac.signal })) {
        seen += b.count;
        if (seen >= 8) ac.abort();
      }
      return { code: "finished", seen };
    } catch (e) {
      return { code: (e as { code?: string }).code, seen };
    }
  });
  if (cancelled.code !== "VIDEO_CANCELLED" || cancelled.seen >= 60)
    throw new Error(`cancel: ${JSON.stringify(cancelled)}`);

  // <video> seeking may land on a neighbouring frame (docs/performance-notes.md): the count must be exact, indices within one frame.
  const clip = PATTERN_CLIPS.h264;
  const fallback = await decodeInPage(page, clip.file, clip.width, clip.height, "video-element");
  const want = expectedIndices(clip.fps, clip.frames);
  if (fallback.indices.length !== want.length)
    throw new Error(`fallback gave ${fallback.indices.length} frames, want ${want.length}`);
  const off = fallback.indices.filter((v, i) => v === null || Math.abs(v - want[i]) > 1).length;
  if (off > 0) throw new Error(`fallback: ${off} frames off by more than one: ${JSON.stringify(fallback.indices)}`);
  t.log(
    `<video> fallback: ${(fallback.ms / want.length).toFixed(1)} ms/frame, ${fallback.indices.filter((v, i) => v !== want[i]).length} of ${want.length} frames one off`,
  );
});
