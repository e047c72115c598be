import { describe, expect, it, afterEach } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { initBackend, parseBackendName } from "../../src/lib/backend.js";
import { GamedreamError } from "../../src/lib/errors.js";

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
});
