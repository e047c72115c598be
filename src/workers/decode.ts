// Worker entry: decodes dream frames for the play worker (src/workers/generate.ts), which
// starts it on a CPU backend so that frame t is decoded on one core while frame t+1 is generated on
// the other (src/lib/play/frame-decoder.ts says why). Messages: ToDecodeWorker / FromDecodeWorker.
// Bundled to src/assets/workers/decode.js by scripts/prepare-site.ts.
import * as tf from "@tensorflow/tfjs";
import * as wasm from "@tensorflow/tfjs-backend-wasm";
import { GamedreamError, initBackend, isGamedreamError } from "../lib/core/index.js";
import { vaeLatentShape } from "../lib/models/index.js";
import { LatentDecoder, type FromDecodeWorker, type ToDecodeWorker } from "../lib/play/index.js";

const scope = self as unknown as {
  postMessage(message: FromDecodeWorker, transfer: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent<ToDecodeWorker>) => void): void;
};
const post = (message: FromDecodeWorker, transfer: Transferable[] = []) => scope.postMessage(message, transfer);

let decoder: LatentDecoder | null = null;
/** Frames decode one at a time, in the order they came. */
let queue: Promise<void> = Promise.resolve();

function fail(e: unknown): void {
  const error = isGamedreamError(e)
    ? (e as GamedreamError)
    : new GamedreamError("DECODER_FAILED", "internal", e instanceof Error ? e.message : String(e), {
        recoverable: false,
      });
  post({ type: "error", error: error.toJSON() });
}

let backend: Promise<string> | null = null;

async function load(vae: Extract<ToDecodeWorker, { type: "vae" }>["vae"]): Promise<void> {
  const name = await backend!;
  decoder = LatentDecoder.fromHostWeights(vae.config, vae.weights);
  // The first decode compiles kernels and grows the heap: pay for it before the first frame.
  const [h, w, c] = vaeLatentShape(vae.config);
  await decoder.decode(new Float32Array(h * w * c));
  post({ type: "ready", backend: name });
}

async function decode(msg: Extract<ToDecodeWorker, { type: "decode" }>): Promise<void> {
  const started = performance.now();
  const dream = await decoder!.decode(msg.latent);
  post({ type: "decoded", index: msg.index, decodeMs: performance.now() - started, dream }, [dream.buffer]);
}

scope.addEventListener("message", (event: MessageEvent<ToDecodeWorker>) => {
  const msg = event.data;
  if (msg.type === "init") {
    // tfjs' non-threaded SIMD build: one thread is all this worker uses, and the threaded build
    // would still start pthread workers (from blob: URLs that a page leaving mid-start aborts).
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    const starting = initBackend({ wasm, wasmPaths: msg.wasmPaths, override: "wasm", threads: msg.threads });
    backend = starting.then((choice) => choice.backend);
    starting.catch(fail);
  } else if (msg.type === "vae") queue = queue.then(() => load(msg.vae)).catch(fail);
  else queue = queue.then(() => decode(msg)).catch(fail);
});
