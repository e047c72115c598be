/**
 * Video ingestion off the main thread. The worker decodes and resizes (mediabunny + WebCodecs,
 * both available in workers) and posts 256x256 RGB batches as transferable bytes; the client on
 * the page turns them into tensors, so tfjs stays with the page's backend. At most
 * `MAX_IN_FLIGHT` batches wait on the page: the worker pauses until the client takes them.
 *
 * Where a worker cannot run the job (no Worker, no WebCodecs in workers) the client falls back to
 * the page's own `ingest.browser.ts`, which can also use the <video> fallback.
 *
 * The worker's entry calls `serveIngestWorker(self)` (src/workers/ingest.ts, bundled for the
 * site); the page creates that worker and passes it to the client below.
 */
import { GamedreamError } from "../core/index.js";
import { videoErrors } from "./errors.js";
import { rgbBatchToTensor, type FrameBatch, type IngestProgress, type RgbBatch, type VideoInfo } from "./ingest.js";
import { extractRgbBatches, probeVideo, type BrowserIngestOptions } from "./ingest.browser.js";
import type { Fit } from "./resize.js";
import type { VideoLimits } from "./validate.js";

const MAX_IN_FLIGHT = 2;

/** Plain-data options that cross postMessage. */
interface JobOptions {
  fit?: Fit;
  batchSize?: number;
  limits?: Partial<VideoLimits>;
}

type ToWorker = { type: "start"; file: Blob; options: JobOptions } | { type: "taken" } | { type: "cancel" };
type FromWorker =
  | { type: "info"; info: VideoInfo }
  | { type: "progress"; progress: IngestProgress }
  | { type: "batch"; batch: RgbBatch }
  | { type: "done" }
  | {
      type: "error";
      error: { code: string; type: string; message: string; recoverable: boolean; details?: Record<string, unknown> };
    };

/** Worker side: call once in the worker's entry module. */
export function serveIngestWorker(scope: {
  postMessage(m: FromWorker, transfer?: Transferable[]): void;
  addEventListener(t: "message", l: (e: MessageEvent<ToWorker>) => void): void;
}): void {
  let abort = new AbortController();
  let inFlight = 0;
  let wake: (() => void) | null = null;
  scope.addEventListener("message", (e) => {
    const msg = e.data;
    if (msg.type === "cancel") abort.abort();
    if (msg.type === "taken") inFlight--;
    if (msg.type === "cancel" || msg.type === "taken") {
      wake?.();
      wake = null;
    }
    if (msg.type !== "start") return;
    abort = new AbortController();
    inFlight = 0;
    void (async () => {
      try {
        if (typeof VideoDecoder === "undefined")
          throw videoErrors.decoderMissing("WebCodecs is not available in this worker.");
        const options: BrowserIngestOptions = { ...msg.options, decoder: "webcodecs", signal: abort.signal };
        scope.postMessage({ type: "info", info: await probeVideo(msg.file, options) });
        options.onProgress = (progress) => scope.postMessage({ type: "progress", progress });
        for await (const batch of extractRgbBatches(msg.file, options)) {
          while (inFlight >= MAX_IN_FLIGHT && !abort.signal.aborted) await new Promise<void>((r) => (wake = r));
          if (abort.signal.aborted) throw videoErrors.cancelled("video");
          inFlight++;
          const rgb =
            batch.rgb.byteOffset === 0 && batch.rgb.byteLength === batch.rgb.buffer.byteLength
              ? batch.rgb
              : batch.rgb.slice();
          scope.postMessage({ type: "batch", batch: { ...batch, rgb } }, [rgb.buffer]);
        }
        scope.postMessage({ type: "done" });
      } catch (err) {
        const ge =
          err instanceof GamedreamError
            ? err
            : videoErrors.corrupt("video", err instanceof Error ? err.message : String(err), err);
        scope.postMessage({ type: "error", error: ge.toJSON() });
      }
    })();
  });
}

export interface WorkerIngestOptions extends BrowserIngestOptions {
  /** A worker whose entry calls `serveIngestWorker(self)`; without one, or where it cannot decode, the page decodes. */
  worker?: Worker | null;
  onInfo?: (info: VideoInfo) => void;
}

/** Page side: the same batches as `extractRgbBatches`, decoded in `options.worker` when it can. */
export async function* extractRgbBatchesInWorker(
  file: Blob,
  options: WorkerIngestOptions = {},
): AsyncGenerator<RgbBatch> {
  const worker = options.worker;
  if (!worker) {
    options.onInfo?.(await probeVideo(file, options));
    yield* extractRgbBatches(file, options);
    return;
  }
  const queue: FromWorker[] = [];
  let wake: (() => void) | null = null;
  const onMessage = (e: MessageEvent<FromWorker>): void => {
    queue.push(e.data);
    wake?.();
    wake = null;
  };
  const onError = (e: ErrorEvent): void =>
    onMessage({
      data: {
        type: "error",
        error: {
          code: "VIDEO_DECODER_MISSING",
          type: "video",
          message: e.message || "the worker failed to start",
          recoverable: false,
        },
      },
    } as MessageEvent<FromWorker>);
  const onAbort = (): void => worker.postMessage({ type: "cancel" } satisfies ToWorker);
  worker.addEventListener("message", onMessage);
  worker.addEventListener("error", onError);
  options.signal?.addEventListener("abort", onAbort);
  const { fit, batchSize, limits } = options;
  worker.postMessage({ type: "start", file, options: { fit, batchSize, limits } } satisfies ToWorker);
  let started = false;
  let finished = false;
  try {
    for (;;) {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r));
      const msg = queue.shift() as FromWorker;
      if (msg.type === "info") options.onInfo?.(msg.info);
      else if (msg.type === "progress") options.onProgress?.(msg.progress);
      else if (msg.type === "batch") {
        started = true;
        worker.postMessage({ type: "taken" } satisfies ToWorker);
        yield msg.batch;
      } else if (msg.type === "done") {
        finished = true;
        return;
      } else {
        finished = true;
        // No decoder in the worker, before any frame: the page decodes instead (it has the <video> fallback).
        if (msg.error.code === "VIDEO_DECODER_MISSING" && !started) {
          yield* extractRgbBatchesInWorker(file, { ...options, worker: null });
          return;
        }
        if (msg.error.code === "VIDEO_CANCELLED" || options.signal?.aborted)
          throw videoErrors.cancelled(file instanceof File ? file.name : "video");
        const { code, type, message, recoverable, details } = msg.error;
        throw new GamedreamError(code, type as "video", message, { recoverable, details });
      }
    }
  } finally {
    worker.removeEventListener("message", onMessage);
    worker.removeEventListener("error", onError);
    options.signal?.removeEventListener("abort", onAbort);
    // The consumer stopped early (break, throw): stop the worker's job too.
    if (!finished) worker.postMessage({ type: "cancel" } satisfies ToWorker);
  }
}

/** Page side, as tensors: `[b, 256, 256, 3]` float32 in [-1, 1]; dispose each batch. */
export async function* ingestVideoInWorker(file: Blob, options: WorkerIngestOptions = {}): AsyncGenerator<FrameBatch> {
  for await (const b of extractRgbBatchesInWorker(file, options))
    yield { frames: rgbBatchToTensor(b), count: b.count, startIndex: b.startIndex };
}
