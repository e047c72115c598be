import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NO_ACTION, type Action } from "../../src/lib/actions/index.js";
import { createDiT, type DiT, createVAE, type VAE } from "../../src/lib/models/index.js";
import {
  captureHostWeights,
  DecodeWorkerClient,
  type DecodeWorkerLike,
  type FromDecodeWorker,
  LatentDecoder,
  PlaySession,
  type PlayModel,
  type ToDecodeWorker,
} from "../../src/lib/play/index.js";
import { perturbWeights, tinyDiTConfig, tinyVAEConfig } from "../helpers/tiny-models.js";

const VAE_TINY = tinyVAEConfig({
  imageSize: 256,
  encoder: { stem: 32, channels: [8], blocks: [0] },
  decoder: { channels: [8], blocks: [0], head: 32 },
});
const DIT_TINY = tinyDiTConfig({ latentHeight: 8, latentWidth: 8, latentChannels: 4 });
const SCHEDULE = { kind: "cosine" as const, T: 1000, zeroTerminalSnr: true };
const TURN: Action = { ...NO_ACTION, camera: [0.5, 0] };

describe("decoding dream frames apart from generating them", () => {
  let vae: VAE;
  let dit: DiT;
  let model: PlayModel;

  beforeAll(() => {
    vae = createVAE(VAE_TINY, 1);
    dit = createDiT(DIT_TINY, 2);
    perturbWeights(vae, 3);
    perturbWeights(dit, 4);
    model = { vae, dit, schedule: SCHEDULE };
  });

  afterAll(() => {
    vae.dispose();
    dit.dispose();
  });

  it("stepLatent + a decoder built from host weights give the frames step gives, and the same session state", async () => {
    const whole = await PlaySession.create({ model, gameSeed: 5, seed: 9 });
    const split = await PlaySession.create({ model, gameSeed: 5, seed: 9 });
    // The decoder's own VAE, as a decode worker builds it from the session's snapshot.
    const decoder = LatentDecoder.fromHostWeights(VAE_TINY, split.snapshot().vae.weights);
    let before = 0;
    try {
      for (let t = 0; t < 8; t++) {
        // Once the context window is full, a frame leaves nothing behind.
        if (t === 5) before = tf.memory().numTensors;
        const a = await whole.step(TURN);
        const b = await split.stepLatent(TURN);
        expect(b.index).toBe(a.index);
        expect(b.real!.data).toEqual(a.real!.data);
        const dream = await decoder.decode(b.latent.slice());
        expect(dream.length).toBe(256 * 256 * 4);
        expect(Buffer.from(dream).equals(Buffer.from(a.dream.data))).toBe(true);
      }
      // The latent stepLatent returns is the one the session keeps for snapshots.
      expect(split.snapshot().window.map((k) => Array.from(k.values))).toEqual(
        whole.snapshot().window.map((k) => Array.from(k.values)),
      );
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      decoder.dispose();
      whole.dispose();
      split.dispose();
    }
  });

  it("refuses a latent of the wrong size", async () => {
    const decoder = LatentDecoder.of(vae);
    await expect(decoder.decode(new Float32Array(5))).rejects.toMatchObject({ code: "DECODER_INPUT" });
    decoder.dispose();
  });

  it("a decode worker client answers frames in order and fails every frame once the worker fails", async () => {
    const weights = await captureHostWeights(vae);
    const listeners: ((event: { data?: unknown; message?: string }) => void)[] = [];
    const sent: ToDecodeWorker[] = [];
    let terminated = false;
    const fake: DecodeWorkerLike = {
      postMessage: (message) => void sent.push(message),
      addEventListener: (type, listener) => {
        if (type === "message") listeners.push(listener);
      },
      terminate: () => void (terminated = true),
    };
    const reply = (msg: FromDecodeWorker) => listeners.forEach((l) => l({ data: msg }));
    const client = DecodeWorkerClient.open(fake, { wasmPaths: {}, threads: 1 });
    // The backend starts before the model is there; the VAE follows.
    expect(sent.map((m) => m.type)).toEqual(["init"]);
    const loading = client.load({ config: VAE_TINY, weights });
    expect(sent.map((m) => m.type)).toEqual(["init", "vae"]);
    reply({ type: "ready", backend: "wasm" });
    await expect(loading).resolves.toBe("wasm");
    const first = client.decode(1, new Float32Array(4));
    const second = client.decode(2, new Float32Array(4));
    expect(client.inFlight).toBe(2);
    reply({ type: "decoded", index: 1, decodeMs: 3, dream: new Uint8ClampedArray(4) });
    await expect(first).resolves.toMatchObject({ index: 1, decodeMs: 3 });
    // An answer for the wrong frame is an error, not a silent mix-up.
    reply({ type: "decoded", index: 7, decodeMs: 3, dream: new Uint8ClampedArray(4) });
    await expect(second).rejects.toMatchObject({ code: "DECODER_FAILED" });
    const third = client.decode(3, new Float32Array(4));
    reply({ type: "error", error: { code: "X", type: "internal", message: "boom", recoverable: false } as never });
    await expect(third).rejects.toMatchObject({ code: "X" });
    await expect(client.decode(4, new Float32Array(4))).rejects.toMatchObject({ code: "X" });
    client.dispose();
    expect(terminated).toBe(true);
  });

  it("a decode worker that fails to start rejects the load", async () => {
    let listener: ((event: { data?: unknown; message?: string }) => void) | null = null;
    const fake: DecodeWorkerLike = {
      postMessage: () => {},
      addEventListener: (type, l) => {
        if (type === "error") listener = l;
      },
      terminate: () => {},
    };
    const client = DecodeWorkerClient.open(fake, { wasmPaths: {}, threads: 1 });
    const loading = client.load({ config: VAE_TINY, weights: new Map() });
    listener!({ message: "404" });
    await expect(loading).rejects.toMatchObject({ code: "DECODER_FAILED" });
    await expect(client.load({ config: VAE_TINY, weights: new Map() })).rejects.toMatchObject({
      code: "DECODER_FAILED",
    });
  });
});
