/**
 * Decoding dream frames apart from generating them. A dream frame is a DiT sampling pass plus a
 * context pass (src/lib/play/world-model.ts `generate`), then a VAE decode and a readback to RGBA
 * bytes. The decode needs nothing but the new latent, so on a CPU backend a second worker can decode
 * frame t on the second core while the play worker already generates frame t+1: the
 * frame rate is then set by the slower of the two stages, not by their sum.
 *
 * - `LatentDecoder`: scaled latent values -> RGBA bytes, on whatever backend is active.
 * - The decode worker's messages (`ToDecodeWorker`, `FromDecodeWorker`; src/workers/decode.ts).
 * - `DecodeWorkerClient`: the play worker's side of it: answers come back in order, one per frame.
 */
import * as tf from "@tensorflow/tfjs";
import { GamedreamError, unitToRgba } from "../core/index.js";
import type { PlayErrorJson } from "./client.js";
import { createVAE, vaeLatentShape, type VAE, type VAEConfig } from "../models/index.js";
import { moduleFromHostWeights, type HostWeights } from "./session.js";

/** Decodes scaled latents (what `WorldModel.generate` makes) to RGBA frames. */
export class LatentDecoder {
  private constructor(
    private readonly vae: VAE,
    private readonly owned: boolean,
  ) {}

  /** Decodes with `vae` (the caller still owns it). */
  static of(vae: VAE): LatentDecoder {
    return new LatentDecoder(vae, false);
  }

  /** Decodes with a VAE built from host weights (a `PlaySnapshot`'s); `dispose` frees it. */
  static fromHostWeights(config: VAEConfig, weights: HostWeights): LatentDecoder {
    return new LatentDecoder(
      moduleFromHostWeights(() => createVAE(config, 0), weights, "The VAE weights sent to the decoder"),
      true,
    );
  }

  get config(): VAEConfig {
    return this.vae.config;
  }

  /** `latent`: one scaled latent, `[h, w, c]` values -> `[S, S, 4]` RGBA bytes (into `out` when given). */
  async decode(latent: Float32Array, out?: Uint8ClampedArray): Promise<Uint8ClampedArray> {
    const [h, w, c] = vaeLatentShape(this.vae.config);
    if (latent.length !== h * w * c)
      throw new GamedreamError(
        "DECODER_INPUT",
        "validation",
        `The decoder takes latents of ${h}x${w}x${c} = ${h * w * c} values, got ${latent.length}.`,
      );
    const frame = tf.tidy(() => this.vae.decodeScaled(tf.tensor4d(latent, [1, h, w, c])));
    try {
      return unitToRgba((await frame.data()) as Float32Array, out);
    } finally {
      frame.dispose();
    }
  }

  dispose(): void {
    if (this.owned) this.vae.dispose();
  }
}

export type ToDecodeWorker =
  /** Sent first, as soon as the worker exists: its backend starts while the play worker loads the model. */
  | {
      type: "init";
      wasmPaths: Record<string, string>;
      /** wasm threads for the decoder (1: the play worker keeps the other core). */
      threads: number;
    }
  /** The VAE to decode with; the worker answers `ready` once it has decoded a first frame. */
  | { type: "vae"; vae: { config: VAEConfig; weights: HostWeights } }
  | { type: "decode"; index: number; latent: Float32Array };

export type FromDecodeWorker =
  | { type: "ready"; backend: string }
  /** `dream`: the frame's RGBA bytes (the play worker draws them with the real frame of the same step). */
  | { type: "decoded"; index: number; decodeMs: number; dream: Uint8ClampedArray }
  | { type: "error"; error: PlayErrorJson };

/** The part of a Worker the client uses (a module Worker, or a fake in tests). */
export interface DecodeWorkerLike {
  postMessage(message: ToDecodeWorker, transfer?: Transferable[]): void;
  addEventListener(type: "message" | "error", listener: (event: { data?: unknown; message?: string }) => void): void;
  terminate(): void;
}

export interface DecodedFrame {
  index: number;
  decodeMs: number;
  /** `[S, S, 4]` RGBA bytes. */
  dream: Uint8ClampedArray;
}

function workerError(message: string): GamedreamError {
  return new GamedreamError("DECODER_FAILED", "internal", message, { recoverable: false });
}

/**
 * The play worker's side of a decode worker. `decode` posts a latent and resolves when that frame
 * is decoded (and drawn); frames are answered in the order they were sent. A failure of the worker
 * rejects every frame in flight and every later one.
 */
export class DecodeWorkerClient {
  private readonly waiting: { index: number; resolve(frame: DecodedFrame): void; reject(e: Error): void }[] = [];
  private failure: GamedreamError | null = null;

  private loading: { resolve(backend: string): void; reject(e: Error): void } | null = null;

  private constructor(private readonly worker: DecodeWorkerLike) {
    worker.addEventListener("message", (event) => {
      const msg = event.data as FromDecodeWorker;
      if (msg.type === "ready") {
        this.loading?.resolve(msg.backend);
        this.loading = null;
      } else if (msg.type === "error") {
        this.fail(
          new GamedreamError(msg.error.code, msg.error.type, msg.error.message, { recoverable: msg.error.recoverable }),
        );
      } else this.answer(msg);
    });
    worker.addEventListener("error", (event) =>
      this.fail(workerError(`The decode worker failed: ${event.message || "it could not start"}.`)),
    );
  }

  /** Starts the worker's backend at once, so its script and wasm load while the caller loads its model. */
  static open(
    worker: DecodeWorkerLike,
    backend: Omit<Extract<ToDecodeWorker, { type: "init" }>, "type">,
  ): DecodeWorkerClient {
    const client = new DecodeWorkerClient(worker);
    worker.postMessage({ type: "init", ...backend });
    return client;
  }

  /** Sends the VAE; resolves with the worker's backend once it can decode, rejects if it fails first. */
  load(vae: Extract<ToDecodeWorker, { type: "vae" }>["vae"]): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.loading = { resolve, reject };
      this.worker.postMessage({ type: "vae", vae });
    });
  }

  /** Frames sent and not yet answered. */
  get inFlight(): number {
    return this.waiting.length;
  }

  /** Decodes frame `index` from its latent values; the array is transferred (detached here). */
  decode(index: number, latent: Float32Array): Promise<DecodedFrame> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ index, resolve, reject });
      this.worker.postMessage({ type: "decode", index, latent }, [latent.buffer]);
    });
  }

  dispose(): void {
    this.fail(workerError("The decode worker was stopped."));
    this.worker.terminate();
  }

  private answer(msg: Extract<FromDecodeWorker, { type: "decoded" }>): void {
    const next = this.waiting.shift();
    if (!next) return;
    if (next.index !== msg.index) {
      next.reject(workerError(`The decode worker answered frame ${msg.index} where frame ${next.index} was due.`));
      return;
    }
    next.resolve({ index: msg.index, decodeMs: msg.decodeMs, dream: msg.dream });
  }

  private fail(error: GamedreamError): void {
    this.failure ??= error;
    this.loading?.reject(error);
    this.loading = null;
    for (const w of this.waiting.splice(0)) w.reject(error);
  }
}
