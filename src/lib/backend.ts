/**
 * Backend selection for TensorFlow.js, shared by Node (tests, CLI, data loaders) and the browser
 * (pages, workers).
 *
 * Browser preference: webgpu > webgl > wasm > cpu, except that a GPU backend running on a
 * software rasteriser (SwiftShader, llvmpipe) is demoted below wasm: ../shared/notes/probes.md
 * measured those 4-25x slower than wasm on a CPU-only machine. Node preference: wasm > cpu
 * (tfjs-node cannot be installed here). An override always wins when that backend can start:
 * `?backend=NAME` in the page URL, `GAMEDREAM_BACKEND=NAME` in Node.
 */
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths, setThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { GamedreamError } from "./errors.js";

export type BackendName = "webgpu" | "webgl" | "wasm" | "cpu";
export const BACKEND_NAMES: readonly BackendName[] = ["webgpu", "webgl", "wasm", "cpu"];

export interface BackendAttempt {
  backend: BackendName;
  ok: boolean;
  /** Why it was accepted, skipped or failed, in words. */
  note: string;
  /** Renderer or adapter string where the platform exposes one. */
  device?: string;
  software?: boolean;
}

export interface BackendChoice {
  backend: BackendName;
  host: "node" | "browser" | "worker";
  /** One sentence a person can read: what was chosen and why. */
  reason: string;
  override: BackendName | null;
  threads: number;
  crossOriginIsolated: boolean;
  attempts: BackendAttempt[];
}

export interface InitBackendOptions {
  /** Force a backend (falls back, with a note, when it cannot start). */
  override?: string | null;
  /**
   * Where the wasm binaries live: a folder URL/path ending in `/`, or a map from file name
   * (`tfjs-backend-wasm-simd.wasm`, ...) to URL. Node finds them in node_modules by itself.
   */
  wasmPaths?: string | Record<string, string>;
  /** Candidate order; defaults to the host's preference. */
  candidates?: BackendName[];
}

export function isNode(): boolean {
  return typeof process !== "undefined" && !!process.versions?.node && typeof window === "undefined";
}

function hostKind(): BackendChoice["host"] {
  if (isNode()) return "node";
  return typeof window === "undefined" ? "worker" : "browser";
}

export function parseBackendName(value: string | null | undefined): BackendName | null {
  if (!value) return null;
  const name = value.trim().toLowerCase();
  if ((BACKEND_NAMES as readonly string[]).includes(name)) return name as BackendName;
  throw new GamedreamError(
    "BACKEND_UNKNOWN",
    "backend",
    `Unknown backend "${value}". Choose one of: ${BACKEND_NAMES.join(", ")}.`,
    { recoverable: true },
  );
}

/** The override from the environment: `GAMEDREAM_BACKEND` in Node, `?backend=` in a page. */
export function overrideFromEnvironment(): BackendName | null {
  if (isNode()) return parseBackendName(process.env.GAMEDREAM_BACKEND);
  if (typeof location !== "undefined") return parseBackendName(new URLSearchParams(location.search).get("backend"));
  return null;
}

const SOFTWARE_RENDERER = /swiftshader|llvmpipe|software|softpipe|basic render/i;

/** Renderer string of the WebGL context tfjs would use, when the browser exposes it. */
function webglRenderer(): string | undefined {
  try {
    const canvas =
      typeof OffscreenCanvas !== "undefined" ? new OffscreenCanvas(1, 1) : (document.createElement("canvas") as HTMLCanvasElement);
    const gl = canvas.getContext("webgl2") as WebGL2RenderingContext | null;
    if (!gl) return undefined;
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    const renderer = info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
    gl.getExtension("WEBGL_lose_context")?.loseContext();
    return String(renderer);
  } catch {
    return undefined;
  }
}

async function webgpuAdapter(): Promise<string | undefined> {
  const gpu = (globalThis.navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } } | undefined)?.gpu;
  if (!gpu) return undefined;
  const adapter = (await gpu.requestAdapter()) as
    | { info?: { vendor?: string; architecture?: string; device?: string; description?: string } }
    | null;
  if (!adapter) return undefined;
  const info = adapter.info ?? {};
  return [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ") || "unknown adapter";
}

/** Folder of the wasm binaries inside node_modules (Node only), with a trailing slash. */
async function nodeWasmFolder(): Promise<string> {
  // A computed specifier keeps bundlers for the browser from following this Node-only import.
  const moduleName = "node:module";
  const { createRequire } = (await import(/* @vite-ignore */ moduleName)) as typeof import("node:module");
  const require = createRequire(import.meta.url);
  const pkg = require.resolve("@tensorflow/tfjs-backend-wasm/package.json");
  return pkg.slice(0, pkg.length - "package.json".length) + "dist/";
}

async function ensureRegistered(name: BackendName): Promise<void> {
  if (tf.findBackendFactory(name)) return;
  if (name === "webgpu") {
    // Registered on import; the module is loaded only when a browser asks for it.
    const moduleName = "@tensorflow/tfjs-backend-webgpu";
    await import(/* @vite-ignore */ moduleName);
  }
}

function defaultCandidates(host: BackendChoice["host"]): BackendName[] {
  return host === "node" ? ["wasm", "cpu"] : ["webgpu", "webgl", "wasm", "cpu"];
}

/**
 * Picks, starts and reports a backend. Safe to call more than once: later calls with the same
 * outcome return quickly.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendChoice> {
  const host = hostKind();
  const override = options.override !== undefined ? parseBackendName(options.override) : overrideFromEnvironment();
  const isolated = typeof crossOriginIsolated !== "undefined" && crossOriginIsolated === true;
  const attempts: BackendAttempt[] = [];

  if (options.wasmPaths) setWasmPaths(options.wasmPaths);
  else if (host === "node") setWasmPaths(await nodeWasmFolder());

  let threads = 1;
  if (host !== "node" && isolated) {
    // tfjs caps threads at hardwareConcurrency / 2 on its own; ask for all cores so a worker that
    // runs beside the page's own main thread still gets a pool.
    threads = Math.max(1, (globalThis.navigator?.hardwareConcurrency ?? 2) - 1);
    setThreadsCount(threads);
  }

  let order = options.candidates ?? defaultCandidates(host);
  if (override) order = [override, ...order.filter((b) => b !== override)];

  // Probe GPU backends first so software rasterisers can be demoted below wasm.
  const probed = new Map<BackendName, { device?: string; software: boolean }>();
  if (host !== "node") {
    if (order.includes("webgpu")) {
      const device = await webgpuAdapter().catch(() => undefined);
      if (device !== undefined) probed.set("webgpu", { device, software: SOFTWARE_RENDERER.test(device) });
    }
    if (order.includes("webgl")) {
      const device = webglRenderer();
      if (device !== undefined) probed.set("webgl", { device, software: SOFTWARE_RENDERER.test(device) });
    }
    if (!override) {
      const hardware = order.filter((b) => !probed.get(b)?.software);
      const software = order.filter((b) => probed.get(b)?.software);
      order = [...hardware.filter((b) => b !== "cpu"), ...software, ...hardware.filter((b) => b === "cpu")];
    }
  }

  for (const backend of order) {
    const info = probed.get(backend);
    if ((backend === "webgpu" || backend === "webgl") && host !== "node" && !info) {
      attempts.push({ backend, ok: false, note: `${backend} is not available in this browser` });
      continue;
    }
    if ((backend === "webgpu" || backend === "webgl") && host === "node") {
      attempts.push({ backend, ok: false, note: `${backend} needs a browser` });
      continue;
    }
    try {
      await ensureRegistered(backend);
      const ok = await tf.setBackend(backend);
      if (!ok) throw new Error("setBackend returned false");
      await tf.ready();
      attempts.push({
        backend,
        ok: true,
        note: info?.software ? "runs on a software rasteriser" : "started",
        device: info?.device,
        software: info?.software,
      });
      const reason = describe(backend, host, override, attempts, threads);
      return { backend, host, reason, override, threads: backend === "wasm" ? threads : 1, crossOriginIsolated: isolated, attempts };
    } catch (e) {
      attempts.push({
        backend,
        ok: false,
        note: `failed to start: ${e instanceof Error ? e.message : String(e)}`,
        device: info?.device,
        software: info?.software,
      });
    }
  }
  throw new GamedreamError("BACKEND_NONE", "backend", "No TensorFlow.js backend could start on this device.", {
    recoverable: false,
    details: { attempts },
  });
}

function describe(
  backend: BackendName,
  host: BackendChoice["host"],
  override: BackendName | null,
  attempts: BackendAttempt[],
  threads: number,
): string {
  const chosen = attempts[attempts.length - 1];
  if (override === backend) return `${backend}: chosen by override.`;
  const skipped = attempts.filter((a) => !a.ok).map((a) => `${a.backend} (${a.note})`);
  const demoted = [...attempts]
    .filter((a) => a.software && a.backend !== backend)
    .map((a) => a.backend);
  const parts = [`${backend}: the fastest backend available on this ${host === "node" ? "Node.js process" : "browser"}`];
  if (override && override !== backend) parts.push(`the override ${override} could not start`);
  if (skipped.length) parts.push(`skipped ${skipped.join(", ")}`);
  if (demoted.length) parts.push(`${demoted.join(" and ")} demoted: software rendering`);
  if (chosen.software) parts.push(`only a software GPU was found (${chosen.device})`);
  if (backend === "wasm") parts.push(threads > 1 ? `${threads} wasm threads` : "single-threaded wasm");
  return parts.join("; ") + ".";
}
