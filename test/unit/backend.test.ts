import { describe, expect, it, afterEach } from "vitest";
import * as tf from "@tensorflow/tfjs";
import {
  defaultWasmThreads,
  initBackend,
  parseBackendName,
  wasmThreadsReport,
  GamedreamError,
} from "../../src/lib/core/index.js";

describe("backend (Node)", () => {
  const saved = process.env.GAMEDREAM_BACKEND;
  afterEach(async () => {
    if (saved === undefined) delete process.env.GAMEDREAM_BACKEND;
    else process.env.GAMEDREAM_BACKEND = saved;
    await initBackend({ override: null });
  });

  it("prefers wasm in Node and says why", async () => {
    delete process.env.GAMEDREAM_BACKEND;
    const choice = await initBackend();
    expect(choice.backend).toBe("wasm");
    expect(tf.getBackend()).toBe("wasm");
    expect(choice.host).toBe("node");
    expect(choice.reason).toMatch(/wasm/);
    const y = tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync());
    expect(Array.from(y)).toEqual([3, 3, 3, 3]);
  });

  it("honours GAMEDREAM_BACKEND", async () => {
    process.env.GAMEDREAM_BACKEND = "cpu";
    const choice = await initBackend();
    expect(choice.backend).toBe("cpu");
    expect(choice.override).toBe("cpu");
    expect(tf.getBackend()).toBe("cpu");
  });

  it("falls back with a note when the override cannot start in Node", async () => {
    const choice = await initBackend({ override: "webgl" });
    expect(choice.backend).toBe("wasm");
    expect(choice.attempts[0]).toMatchObject({ backend: "webgl", ok: false });
    expect(choice.reason).toMatch(/override webgl could not start/);
  });

  it("rejects an unknown backend name with a typed error", () => {
    expect(() => parseBackendName("cuda")).toThrow(GamedreamError);
    try {
      parseBackendName("cuda");
    } catch (e) {
      expect((e as GamedreamError).code).toBe("BACKEND_UNKNOWN");
    }
  });

  it("says when wasm runs single-threaded and why", () => {
    const browser = { backend: "wasm" as const, host: "browser" as const };
    expect(wasmThreadsReport({ ...browser, threads: 1, crossOriginIsolated: false }, 8)).toMatchObject({
      singleThreaded: true,
      cause: "not-isolated",
    });
    expect(wasmThreadsReport({ ...browser, threads: 1, crossOriginIsolated: false }, 8).text).toMatch(
      /not cross-origin isolated.*6 of this device's 8 logical cores sit idle/,
    );
    expect(wasmThreadsReport({ ...browser, threads: 1, crossOriginIsolated: true }, 2)).toMatchObject({
      singleThreaded: true,
      cause: "few-cores",
    });
    expect(wasmThreadsReport({ ...browser, threads: 7, crossOriginIsolated: true }, 8)).toMatchObject({
      singleThreaded: false,
      cause: null,
      text: expect.stringMatching(/7 threads/),
    });
    expect(
      wasmThreadsReport({ backend: "webgl", host: "browser", threads: 1, crossOriginIsolated: false }, 8).cause,
    ).toBe("not-wasm");
  });

  it("gives a worker every core and a page's main thread one fewer", () => {
    expect(defaultWasmThreads("worker", 2)).toBe(2);
    expect(defaultWasmThreads("browser", 2)).toBe(1);
    expect(defaultWasmThreads("browser", 8)).toBe(7);
    expect(defaultWasmThreads("browser", 1)).toBe(1);
    expect(defaultWasmThreads("worker", 1)).toBe(1);
  });
});
