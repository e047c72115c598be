/**
 * Backend selection for TensorFlow.js, shared by Node (tests, CLI, data loaders) and the browser
 * (pages, workers).
 *
 * Browser preference: webgpu > webgl > wasm > cpu, except that a GPU backend running on a
 * software rasteriser (SwiftShader, llvmpipe) is demoted below wasm: those measured 4-25x slower
 * than wasm on a CPU-only machine (docs/performance-notes.md). Node preference: wasm > cpu
 * (tfjs-node cannot be installed here). An override always wins when that backend can start:
 * `?backend=NAME` in the page URL, `GAMEDREAM_BACKEND=NAME` in Node.
 */
import * as tf from "@tensorflow/tfjs";
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

/**
 * The parts of `@tensorflow/tfjs-backend-wasm` this module calls. Pages and workers pass the
 * module in (the browser loads a bundle made by scripts/prepare-site.ts, because the package's
 * own browser entry imports Node built-ins); Node imports the package by itself.
 */
export interface WasmBackendModule {
  setWasmPaths(prefixOrFileMap: string | Record<string, string>, usePlatformFetch?: boolean): void;
  setThreadsCount?(count: number): void;
}

export interface InitBackendOptions {
  /** Force a backend (falls back, with a note, when it cannot start). */
  override?: string | null;
  /**
   * Where the wasm binaries live: a folder URL/path ending in `/`, or a map from file name
   * (`tfjs-backend-wasm-simd.wasm`, ...) to URL. Node finds them in node_modules by itself.
   */
  wasmPaths?: string | Record<string, string>;
  /** The wasm backend module (required in browsers and workers; Node imports it itself). */
  wasm?: WasmBackendModule;
  /** Loads and registers the WebGPU backend (browsers only), e.g. `() => import("@tensorflow/tfjs-backend-webgpu")`. */
  loadWebgpu?: () => Promise<unknown>;
  /** Candidate order; defaults to the host's preference. */
  candidates?: BackendName[];
  /**
   * wasm threads in a browser or worker (cross-origin isolated pages only); defaults to
   * `defaultWasmThreads` for the host. Node's wasm build has no threads.
   */
  threads?: number;
}

/**
 * How many wasm threads a browser host asks for by default: every logical core in a worker (the
 * page's main thread only paints what the worker sends, so it needs no core of its own), one fewer
 * on a page's main thread (it keeps one for the page). tfjs alone would take half the cores.
 */
export function defaultWasmThreads(host: "browser" | "worker", cores: number): number {
  return Math.max(1, host === "worker" ? cores : cores - 1);
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
      typeof OffscreenCanvas !== "undefined"
        ? new OffscreenCanvas(1, 1)
        : (document.createElement("canvas") as HTMLCanvasElement);
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
  const adapter = (await gpu.requestAdapter()) as {
    info?: { vendor?: string; architecture?: string; device?: string; description?: string };
  } | null;
  if (!adapter) return undefined;
  const info = adapter.info ?? {};
  return [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ") || "unknown adapter";
}

/** Folder of the wasm binaries inside node_modules (Node only), with a trailing slash. */
async function nodeWasmFolder(): Promise<string> {
  // A specifier computed at run time keeps bundlers (Framework, esbuild for workers) from
  // following this Node-only import.
  const moduleName = ["node", "module"].join(":");
  const { createRequire } = (await import(/* @vite-ignore */ moduleName)) as typeof import("node:module");
  const require = createRequire(import.meta.url);
  const pkg = require.resolve("@tensorflow/tfjs-backend-wasm/package.json");
  return pkg.slice(0, pkg.length - "package.json".length) + "dist/";
}

let wasmConfigured = false;

/** The wasm backend package, imported in Node through a run-time specifier bundlers don't follow. */
async function nodeWasmModule(): Promise<WasmBackendModule> {
  const moduleName = ["@tensorflow", "tfjs-backend-wasm"].join("/");
  return (await import(/* @vite-ignore */ moduleName)) as WasmBackendModule;
}

async function ensureRegistered(name: BackendName, options: InitBackendOptions): Promise<void> {
  if (tf.findBackendFactory(name)) return;
  // The WebGPU backend registers itself on import; it is loaded only when a browser tries it.
  if (name === "webgpu" && options.loadWebgpu) await options.loadWebgpu();
  if (!tf.findBackendFactory(name)) throw new Error(`the ${name} backend is not loaded on this page`);
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

  const wasm = options.wasm ?? (host === "node" ? await nodeWasmModule() : undefined);
  // tfjs refuses new wasm paths once the wasm backend has started; configure it once per realm.
  if (wasm && !wasmConfigured) {
    wasmConfigured = true;
    if (options.wasmPaths) wasm.setWasmPaths(options.wasmPaths);
    else if (host === "node") wasm.setWasmPaths(await nodeWasmFolder());
  }

  let threads = 1;
  if (host !== "node" && isolated) {
    if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1))
      throw new GamedreamError(
        "BACKEND_BAD_THREADS",
        "backend",
        `wasm threads must be a whole number of at least 1, got ${options.threads}.`,
      );
    threads = options.threads ?? defaultWasmThreads(host, globalThis.navigator?.hardwareConcurrency ?? 2);
    wasm?.setThreadsCount?.(threads);
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
      await ensureRegistered(backend, options);
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
      const demoted = [...probed]
        .filter(([name, p]) => p.software && name !== backend)
        .map(([name, p]) => `${name} (${p.device})`);
      const reason = describe(backend, host, override, attempts, threads, demoted);
      return {
        backend,
        host,
        reason,
        override,
        threads: backend === "wasm" ? threads : 1,
        crossOriginIsolated: isolated,
        attempts,
      };
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
  demoted: string[],
): string {
  const chosen = attempts[attempts.length - 1];
  if (override === backend) return `${backend}: chosen by override.`;
  const skipped = attempts.filter((a) => !a.ok).map((a) => `${a.backend} (${a.note})`);
  const parts = [
    `${backend}: the fastest backend available on this ${host === "node" ? "Node.js process" : "browser"}`,
  ];
  if (override && override !== backend) parts.push(`the override ${override} could not start`);
  if (skipped.length) parts.push(`skipped ${skipped.join(", ")}`);
  if (demoted.length)
    parts.push(`${demoted.join(" and ")} ranked below wasm: software rendering is slower than wasm on a CPU`);
  if (chosen.software) parts.push(`only a software GPU was found (${chosen.device})`);
  if (backend === "wasm") parts.push(threads > 1 ? `${threads} wasm threads` : "single-threaded wasm");
  return parts.join("; ") + ".";
}

/**
 * Whether the wasm backend runs single-threaded here, and why, in words (the device page shows
 * it). Browsers give wasm threads (SharedArrayBuffer) only to cross-origin isolated pages, and
 * `initBackend` asks for `defaultWasmThreads`: every core in a worker, one fewer on a page.
 */
export function wasmThreadsReport(
  choice: Pick<BackendChoice, "backend" | "host" | "threads" | "crossOriginIsolated">,
  cores: number | null,
): { singleThreaded: boolean; cause: "not-wasm" | "node" | "not-isolated" | "few-cores" | null; text: string } {
  if (choice.backend !== "wasm") {
    return {
      singleThreaded: false,
      cause: "not-wasm",
      text: `The ${choice.backend} backend is in use; wasm threads do not apply to it.`,
    };
  }
  if (choice.host === "node")
    return {
      singleThreaded: true,
      cause: "node",
      text: "wasm runs single-threaded in Node (tfjs builds it without threads there).",
    };
  if (choice.threads > 1) {
    return {
      singleThreaded: false,
      cause: null,
      text: `wasm runs on ${choice.threads} threads: the page is cross-origin isolated and this device reports ${cores ?? "several"} logical cores.`,
    };
  }
  if (!choice.crossOriginIsolated) {
    return {
      singleThreaded: true,
      cause: "not-isolated",
      text: `wasm runs single-threaded: this page is not cross-origin isolated, and browsers give wasm threads only to isolated pages${cores !== null && cores > 2 ? `, so ${cores - 2} of this device's ${cores} logical cores sit idle` : ""}.`,
    };
  }
  return {
    singleThreaded: true,
    cause: "few-cores",
    text: `wasm runs single-threaded although the page is cross-origin isolated: this device reports ${cores ?? "too few"} logical cores and one is kept for the page itself (a worker, such as the Play page's, takes them all).`,
  };
}
