// Starts TensorFlow.js for a page: the wasm backend is the bundle made by scripts/prepare-site.ts,
// its binaries come from the site itself, and src/lib/core/backend.ts chooses and explains the backend.
import { FileAttachment } from "observablehq:stdlib";
import * as wasm from "../vendor/tfjs-backend-wasm.js";
import { initBackend } from "../lib/core/index.js";

export const wasmPaths = {
  "tfjs-backend-wasm.wasm": FileAttachment("../assets/tfjs-wasm/tfjs-backend-wasm.wasm").href,
  "tfjs-backend-wasm-simd.wasm": FileAttachment("../assets/tfjs-wasm/tfjs-backend-wasm-simd.wasm").href,
  "tfjs-backend-wasm-threaded-simd.wasm": FileAttachment("../assets/tfjs-wasm/tfjs-backend-wasm-threaded-simd.wasm")
    .href,
};

let started;
/** The backend choice for this page (started once per page; later calls return the same promise). */
export function startBackend(options = {}) {
  started ??= initBackend({ wasm, wasmPaths, loadWebgpu: () => import("@tensorflow/tfjs-backend-webgpu"), ...options });
  return started;
}
