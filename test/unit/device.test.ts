import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import {
  MAX_BATCH_SIZE,
  batchSizeAfterMemoryError,
  chooseDeviceSettings,
  estimatePlayFps,
  estimateTrainingBytes,
  isOutOfMemoryError,
  memoryBudget,
  probeDevice,
  type DeviceFacts,
} from "../../src/lib/bench/index.js";
import { isGamedreamError } from "../../src/lib/core/index.js";

const GB = 1024 ** 3;

function facts(over: Partial<DeviceFacts> = {}): DeviceFacts {
  return {
    backend: "wasm",
    softwareGpu: false,
    deviceMemoryGb: 8,
    jsHeapLimitBytes: null,
    cores: 2,
    matmulGflops: 19,
    ...over,
  };
}

describe("device policy", () => {
  it("training memory grows with the batch and the preset", () => {
    const r1 = estimateTrainingBytes("realtime", 1, 5);
    const r8 = estimateTrainingBytes("realtime", 8, 5);
    expect(r8).toBeGreaterThan(r1);
    // The fixed part (weights + grads + Adam) does not scale with the batch.
    expect(r8 - r1).toBeCloseTo(7 * (estimateTrainingBytes("realtime", 2, 5) - r1), -3);
    expect(estimateTrainingBytes("small", 1, 5)).toBeGreaterThan(r1);
    expect(estimateTrainingBytes("base", 1, 9)).toBeGreaterThan(estimateTrainingBytes("small", 1, 5));
  });

  it("a 2-core wasm CPU gets realtime; a fast GPU gets a bigger preset", () => {
    const cpu = chooseDeviceSettings(facts());
    expect(cpu.preset).toBe("realtime");
    expect(cpu.playFps).toBeGreaterThan(10);
    const gpu = chooseDeviceSettings(facts({ backend: "webgpu", matmulGflops: 20_000, deviceMemoryGb: 8 }));
    expect(gpu.preset).not.toBe("realtime");
    expect(estimatePlayFps(gpu.preset, 20_000)).toBeGreaterThanOrEqual(10);
    expect(gpu.reasons.join(" ")).toMatch(/GFLOP\/s/);
  });

  it("a fast device with little memory stays on a preset that fits", () => {
    const tight = chooseDeviceSettings(facts({ backend: "webgpu", matmulGflops: 1e6, deviceMemoryGb: 0.5 }));
    expect(estimateTrainingBytes(tight.preset, 1, tight.clipFrames)).toBeLessThanOrEqual(tight.memoryBudgetBytes);
    const roomy = chooseDeviceSettings(facts({ backend: "webgpu", matmulGflops: 1e6, deviceMemoryGb: 8 }));
    expect(roomy.preset).toBe("base");
    expect(tight.preset).not.toBe("base");
  });

  it("picks the largest power-of-two batch within the budget", () => {
    for (const memory of [0.5, 1, 2, 4, 8]) {
      const c = chooseDeviceSettings(facts({ deviceMemoryGb: memory }));
      expect(Math.log2(c.batchSize) % 1).toBe(0);
      expect(c.batchSize).toBeLessThanOrEqual(MAX_BATCH_SIZE);
      expect(c.trainingBytes).toBeLessThanOrEqual(c.memoryBudgetBytes);
      if (c.batchSize < MAX_BATCH_SIZE)
        expect(estimateTrainingBytes(c.preset, c.batchSize * 2, c.clipFrames)).toBeGreaterThan(c.memoryBudgetBytes);
    }
    expect(chooseDeviceSettings(facts({ deviceMemoryGb: 8 })).batchSize).toBeGreaterThan(
      chooseDeviceSettings(facts({ deviceMemoryGb: 0.5 })).batchSize,
    );
  });

  it("wasm is capped at 2 GiB; unknown memory is assumed and said so", () => {
    expect(memoryBudget(facts({ deviceMemoryGb: 64 })).bytes).toBe(2 * GB);
    expect(memoryBudget(facts({ deviceMemoryGb: 64, backend: "webgpu" })).bytes).toBe(16 * GB);
    expect(memoryBudget(facts({ deviceMemoryGb: null })).reason).toMatch(/assumed/);
  });

  it("overrides win and are reported; a bad batch is a typed error", () => {
    const c = chooseDeviceSettings(facts(), { preset: "small", batchSize: 3, backend: "cpu" });
    expect([c.preset, c.batchSize, c.backend]).toEqual(["small", 3, "cpu"]);
    expect(c.overridden.sort()).toEqual(["backend", "batchSize", "preset"]);
    expect(c.reasons.filter((r) => r.includes("chosen by you"))).toHaveLength(3);
    expect(() => chooseDeviceSettings(facts(), { batchSize: 0.5 })).toThrow(/whole number/);
    expect(() => chooseDeviceSettings(facts(), { preset: "huge" as never })).toThrow(/Unknown model preset/);
  });

  it("no calibration: realtime, with the reason", () => {
    const c = chooseDeviceSettings(facts({ matmulGflops: null }));
    expect(c.preset).toBe("realtime");
    expect(c.playFps).toBeNull();
    expect(c.reasons[1]).toMatch(/no calibration/);
  });

  it("probeDevice measures a positive throughput on the current backend", async () => {
    const f = await probeDevice({ backend: tf.getBackend() as "wasm", attempts: [] });
    expect(f.matmulGflops).toBeGreaterThan(0);
    expect(f.deviceMemoryGb).toBeNull(); // Node reports none
  });
});

describe("memory-short policy", () => {
  it("recognises the ways backends run out of memory, and nothing else", () => {
    expect(isOutOfMemoryError(new RangeError("Array buffer allocation failed"))).toBe(true);
    expect(isOutOfMemoryError(new Error("Aborted(Cannot enlarge memory arrays to size 2147549184 bytes (OOM))"))).toBe(
      true,
    );
    expect(isOutOfMemoryError(Object.assign(new Error("x"), { name: "GPUOutOfMemoryError" }))).toBe(true);
    expect(
      isOutOfMemoryError(
        new Error("wrap", { cause: new Error("WebAssembly.Memory.grow(): Maximum memory size exceeded") }),
      ),
    ).toBe(true);
    expect(isOutOfMemoryError(new Error("Shapes [2,3] and [4,5] must match"))).toBe(false);
    expect(isOutOfMemoryError(new TypeError("x is undefined"))).toBe(false);
  });

  it("halves the batch down to the minimum, then stops with a typed error", () => {
    const oom = new RangeError("Array buffer allocation failed");
    const sizes: number[] = [];
    let batch = 12;
    for (;;) {
      const d = batchSizeAfterMemoryError(oom, batch);
      expect(d).not.toBeNull();
      if (!d!.retry) {
        expect(isGamedreamError(d!.error)).toBe(true);
        expect(d!.error.code).toBe("TRAINING_OUT_OF_MEMORY");
        break;
      }
      expect(d!.message).toMatch(new RegExp(`batch size ${d!.batchSize}`));
      batch = d!.batchSize;
      sizes.push(batch);
    }
    expect(sizes).toEqual([6, 3, 1]);
    expect(batchSizeAfterMemoryError(new Error("NaN loss"), 8)).toBeNull();
    expect(batchSizeAfterMemoryError(oom, 4, 4)).toMatchObject({ retry: false });
  });
});
