/**
 * Live play, host-independent: the built-in game (the "real" side) and the world model (the
 * "dream" side) stepped in lockstep by the same actions. A Web Worker (src/workers/generate.ts)
 * runs it for the play page; tests run it in Node.
 *
 * Starting points. The dream starts from the built-in game at a level (`gameSeed`), or from the
 * first frames of stored data (`startFrames`: e.g. an uploaded video's), where there is no game
 * to play beside it: `step` then returns `real: null` and only the dream moves.
 *
 * Per `step(action)`: the game applies the action and renders the next real frame; the world model
 * generates the next dream frame from its window of past latents; both come back as RGBA bytes
 * (transferable) with timings. The dream starts from the real game's current frames (`start`,
 * `resync`), so the two sides begin identical and drift apart only where the model errs.
 *
 * Losing the device. Everything needed to go on lives on the host, not in the backend: the
 * weights (copied out once at creation), the latents of the world model's window with the actions
 * that produced them (one small readback per frame), the game's state and the action log.
 * `snapshot()` gathers them as plain, transferable data; `PlaySession.restore(snapshot)` builds
 * new models from it on whatever backend is active and goes on from the kept latents. After a GPU
 * context loss the play page starts a fresh worker (a fresh TensorFlow.js, whose WebGL caches
 * cannot hold objects of the lost context) and restores the snapshot there.
 */
import * as tf from "@tensorflow/tfjs";
import { NO_ACTION, cloneAction, type Action } from "../actions/index.js";
import type { ScheduleConfig } from "../diffusion/index.js";
import {
  createDiT,
  type DiT,
  type DiTConfig,
  type PresetName,
  type SamplingDefaults,
  createVAE,
  vaeLatentShape,
  type VAE,
  type VAEConfig,
} from "../models/index.js";
import { GamedreamError, FRAME_SIZE, rgbToRgba, rgbaToUnit, unitToRgba, concatFloat32 } from "../core/index.js";
import { createGame, type Game, type GameState } from "../game/index.js";
import type { StartFrames } from "../data/index.js";
import type { Module } from "../nn/index.js";
import { assignWeights } from "../storage/index.js";
import { createWorldModel, type WorldModel, type WorldModelSettings } from "./world-model.js";

/** Weights kept on the host: name -> shape and values. */
export type HostWeights = Map<string, { shape: number[]; values: Float32Array }>;

/** What the session needs of a loaded model (model-loader's `LoadedModel` fits). */
export interface PlayModel {
  vae: VAE;
  dit: DiT;
  schedule: ScheduleConfig;
  /** Preset whose sampling defaults apply (default "realtime"). */
  preset?: PresetName | null;
  /** Sampling defaults the weights record over the preset's (`LoadedModel.sampling`). */
  sampling?: Partial<SamplingDefaults>;
}

export interface PlaySessionOptions {
  model: PlayModel;
  /** Seed of the built-in game's level (ignored with `startFrames`). */
  gameSeed: number;
  /** Dream from these frames, with no game beside it. */
  startFrames?: StartFrames | null;
  /** Keep a host copy of the weights for `snapshot` (default true; a one-off preview skips it). */
  keepHostWeights?: boolean;
  /** Seed of the world model's noise. */
  seed: number;
  settings?: Partial<WorldModelSettings>;
}

export interface RgbaFrame {
  data: Uint8ClampedArray;
  width: number;
  height: number;
}

export interface PlayTimings {
  /** World model step + decode + readback of the dream frame. */
  dreamMs: number;
  /** The part of `dreamMs` a decode worker spent decoding (src/lib/play/frame-decoder.ts); absent when decoded in place. */
  decodeMs?: number;
  /** Game step + render of the real frame. */
  realMs: number;
  /** The whole `step`. */
  totalMs: number;
}

export interface PlayFrame {
  /** Frames stepped since the last `start`/`reset` (1 for the first step). */
  index: number;
  /** The action held on the previous frame, which produced these two. */
  action: Action;
  /** The built-in game's frame; null when the session dreams from stored frames (no game). */
  real: RgbaFrame | null;
  dream: RgbaFrame;
  timings: PlayTimings;
}

/** A `PlayFrame` whose dream is still a latent (`PlaySession.stepLatent`). */
export interface PlayLatentFrame extends Omit<PlayFrame, "dream"> {
  /** The dream frame's scaled latent, `[h, w, c]` values. */
  latent: Float32Array;
}

/** A latent of the world model's window, on the host. */
export interface KeptLatent {
  values: Float32Array;
  /** The action that produced this frame (NO_ACTION for a start frame with no history). */
  action: Action;
}

/** Everything a session needs to go on elsewhere: plain data (structured-clone and transfer safe). */
export interface PlaySnapshot {
  vae: { config: VAEConfig; weights: HostWeights };
  dit: { config: DiTConfig; weights: HostWeights };
  schedule: ScheduleConfig;
  preset: PresetName | null;
  gameSeed: number;
  startFrames: StartFrames | null;
  seed: number;
  settings: WorldModelSettings;
  /** Null when dreaming from stored frames. */
  game: GameState | null;
  realHistory: { frame: Uint8ClampedArray; action: Action }[];
  window: KeptLatent[];
  log: Action[];
  frames: number;
}

/** Every variable of a module copied to the host (one readback each; done once per model). */
export async function captureHostWeights(module: Module<unknown>): Promise<HostWeights> {
  const out: HostWeights = new Map();
  for (const [name, v] of module.variables())
    out.set(name, { shape: v.shape.slice(), values: (await v.data()) as Float32Array });
  return out;
}

/** A new module of `create(config)` holding `weights` (e.g. a `PlaySnapshot`'s, in another worker). */
export function moduleFromHostWeights<M extends Module<unknown>>(
  create: () => M,
  weights: HostWeights,
  what: string,
): M {
  const module = create();
  const tensors = new Map([...weights].map(([name, w]) => [name, tf.tensor(w.values, w.shape)] as const));
  try {
    assignWeights(module, tensors, what);
  } catch (e) {
    module.dispose();
    throw e;
  } finally {
    tf.dispose([...tensors.values()]);
  }
  return module;
}

export class PlaySession {
  private readonly vae: VAE;
  private readonly dit: DiT;
  private readonly world: WorldModel;
  /** The built-in game, or null when the dream starts from stored frames. */
  private readonly game: Game | null;
  private readonly options: PlaySessionOptions;
  private vaeWeights: HostWeights = new Map();
  private ditWeights: HostWeights = new Map();
  /** The session made its models (`restore`) and frees them. */
  private ownsModels = false;
  /** The real game's last K+1 frames (RGBA) and the actions held on each, for `resync`. */
  private realHistory: { frame: Uint8ClampedArray; action: Action }[] = [];
  private window: KeptLatent[] = [];
  private readonly log: Action[] = [];
  private frames = 0;
  private disposed = false;

  private constructor(options: PlaySessionOptions) {
    this.options = options;
    this.vae = options.model.vae;
    this.dit = options.model.dit;
    this.game = options.startFrames ? null : createGame({ seed: options.gameSeed });
    if (options.startFrames && options.startFrames.frames.length === 0) {
      throw new GamedreamError(
        "PLAY_NO_FRAMES",
        "validation",
        `${options.startFrames.name} holds no frames to start a dream from.`,
        { recoverable: true },
      );
    }
    this.world = this.newWorldModel(options.settings ?? {});
  }

  /** A session started from the game's first frame. The caller still owns `options.model`. */
  static async create(options: PlaySessionOptions): Promise<PlaySession> {
    const session = new PlaySession(options);
    try {
      if (options.keepHostWeights ?? true) {
        session.vaeWeights = await captureHostWeights(session.vae);
        session.ditWeights = await captureHostWeights(session.dit);
      }
      await session.reset();
    } catch (e) {
      session.dispose();
      throw e;
    }
    return session;
  }

  private newWorldModel(settings: Partial<WorldModelSettings>): WorldModel {
    const { schedule, preset, sampling } = this.options.model;
    return createWorldModel({
      vae: this.vae,
      dit: this.dit,
      schedule,
      preset: preset ?? "realtime",
      defaults: sampling,
      seed: this.options.seed,
      ...settings,
    });
  }

  get settings(): Readonly<WorldModelSettings> {
    return this.world.settings;
  }

  get frameIndex(): number {
    return this.frames;
  }

  /** Actions applied since the last `reset`, one per stepped frame. */
  get actionLog(): readonly Action[] {
    return this.log;
  }

  get config(): { vae: VAEConfig; dit: DiTConfig } {
    return { vae: this.vae.config, dit: this.dit.config };
  }

  /** Whether the built-in game plays beside the dream (false when dreaming from stored frames). */
  get hasGame(): boolean {
    return this.game !== null;
  }

  /** The current real frame (a copy): the game's, or the last start frame without a game. */
  realFrame(): RgbaFrame {
    const last = this.realHistory[this.realHistory.length - 1];
    return { data: last.frame.slice(), width: FRAME_SIZE, height: FRAME_SIZE };
  }

  configure(patch: Partial<WorldModelSettings>): void {
    this.checkAlive();
    this.world.configure(patch);
  }

  /** Back to the game's first frame (or the start frames); the dream starts from it and the action log empties. */
  async reset(): Promise<void> {
    this.checkAlive();
    const start = this.options.startFrames;
    if (this.game) {
      const first = this.game.reset();
      this.realHistory = [{ frame: first.data.slice(), action: cloneAction(NO_ACTION) }];
    } else {
      const K = Math.max(1, this.dit.config.contextFrames);
      const from = Math.max(0, start!.frames.length - K);
      this.realHistory = start!.frames
        .slice(from)
        .map((rgb, i) => ({ frame: rgbToRgba(rgb), action: cloneAction(start!.actions[from + i] ?? NO_ACTION) }));
    }
    this.log.length = 0;
    this.frames = 0;
    await this.resync();
  }

  /**
   * Restarts the dream from the real game's last K frames (K = the DiT's context window) and the
   * actions between them: "dream from here". Without a game, from the start frames again.
   */
  async resync(): Promise<void> {
    this.checkAlive();
    const size = this.vae.config.imageSize;
    if (FRAME_SIZE !== size) {
      throw new GamedreamError(
        "PLAY_FRAME_SIZE",
        "model",
        `The VAE takes ${size}x${size} frames but the game and datasets hold ${FRAME_SIZE}x${FRAME_SIZE}.`,
        { recoverable: false },
      );
    }
    const history = this.realHistory.slice(-Math.max(1, this.dit.config.contextFrames));
    const latents = tf.tidy(() => {
      const values = new Float32Array(history.length * size * size * 3);
      history.forEach((h, i) => rgbaToUnit(h.frame, values, i * size * size * 3));
      return this.vae.encodeScaled(tf.tensor4d(values, [history.length, size, size, 3]));
    });
    try {
      const data = (await latents.data()) as Float32Array;
      const per = data.length / history.length;
      // history[i].action was held on frame i, so it produced frame i + 1.
      this.window = history.map((_, i) => ({
        values: data.slice(i * per, (i + 1) * per),
        action: i === 0 ? cloneAction(NO_ACTION) : cloneAction(history[i - 1].action),
      }));
      this.world.startFromLatents(
        latents,
        history.slice(0, -1).map((h) => h.action),
      );
    } finally {
      latents.dispose();
    }
  }

  /** One frame on both sides, produced by holding `action` on the current frame. */
  async step(action: Readonly<Action>): Promise<PlayFrame> {
    const { latent, dream, ...rest } = await this.advance(action, async (held) => {
      const { frame, latent } = this.world.step(held);
      try {
        const [pixels, values] = await Promise.all([frame.data(), latent.data()]);
        return { dream: unitToRgba(pixels as Float32Array), latent: values as Float32Array };
      } finally {
        tf.dispose([frame, latent]);
      }
    });
    return { ...rest, dream: { data: dream!, width: FRAME_SIZE, height: FRAME_SIZE } };
  }

  /**
   * `step` with the dream left undecoded: the new frame's scaled latent, read back (`[h, w, c]`
   * values). For a host that decodes elsewhere (src/lib/play/frame-decoder.ts), e.g. a second worker
   * decoding this frame while this one generates the next; `timings.dreamMs` then covers generation only.
   */
  async stepLatent(action: Readonly<Action>): Promise<PlayLatentFrame> {
    const {
      latent,
      dream: _none,
      ...rest
    } = await this.advance(action, async (held) => {
      const latent = this.world.generate(held);
      try {
        return { dream: null, latent: (await latent.data()) as Float32Array };
      } finally {
        latent.dispose();
      }
    });
    return { ...rest, latent };
  }

  /** The game steps, `dream` makes the world model's frame, then the histories and the log follow. */
  private async advance(
    action: Readonly<Action>,
    dream: (held: Action) => Promise<{ dream: Uint8ClampedArray | null; latent: Float32Array }>,
  ): Promise<Omit<PlayFrame, "dream"> & { dream: Uint8ClampedArray | null; latent: Float32Array }> {
    this.checkAlive();
    const held = cloneAction(action);
    const t0 = now();
    const realData = this.game ? this.game.step(held).data.slice() : null;
    const t1 = now();
    const { dream: dreamData, latent: latentValues } = await dream(held);
    const t2 = now();
    // The action held on the previous real frame is the one that produced this frame.
    if (realData) {
      this.realHistory[this.realHistory.length - 1].action = held;
      this.realHistory.push({ frame: realData, action: cloneAction(NO_ACTION) });
      const keepReal = Math.max(1, this.dit.config.contextFrames);
      if (this.realHistory.length > keepReal) this.realHistory.splice(0, this.realHistory.length - keepReal);
    }
    this.window.push({ values: latentValues, action: held });
    const keep = Math.max(1, this.dit.config.contextFrames);
    if (this.window.length > keep) this.window.splice(0, this.window.length - keep);
    this.log.push(held);
    this.frames++;
    const size = FRAME_SIZE;
    return {
      index: this.frames,
      action: held,
      real: realData ? { data: realData.slice(), width: size, height: size } : null,
      dream: dreamData,
      latent: latentValues,
      timings: { realMs: t1 - t0, dreamMs: t2 - t1, totalMs: t2 - t0 },
    };
  }

  /** The session as plain data (see `PlaySnapshot`); the arrays are shared, not copied. */
  snapshot(): PlaySnapshot {
    this.checkAlive();
    return {
      vae: { config: this.vae.config, weights: this.vaeWeights },
      dit: { config: this.dit.config, weights: this.ditWeights },
      schedule: this.options.model.schedule,
      preset: this.options.model.preset ?? null,
      gameSeed: this.options.gameSeed,
      startFrames: this.options.startFrames ?? null,
      seed: this.options.seed,
      settings: { ...this.world.settings },
      game: this.game ? this.game.state : null,
      realHistory: this.realHistory.map((h) => ({ frame: h.frame, action: cloneAction(h.action) })),
      window: this.window.map((k) => ({ values: k.values, action: cloneAction(k.action) })),
      log: this.log.map(cloneAction),
      frames: this.frames,
    };
  }

  /**
   * A session that goes on where the snapshot left off, on the backend active now: models rebuilt from the kept
   * weights (the session owns and frees them), the game at its kept state, the world model started
   * from the kept latents. The noise stream starts again from the seed.
   */
  static restore(snapshot: PlaySnapshot): PlaySession {
    const vae = moduleFromHostWeights(
      () => createVAE(snapshot.vae.config, 0),
      snapshot.vae.weights,
      "The kept VAE weights",
    );
    let dit: DiT | null = null;
    let session: PlaySession | null = null;
    try {
      dit = moduleFromHostWeights(
        () => createDiT(snapshot.dit.config, 0),
        snapshot.dit.weights,
        "The kept DiT weights",
      );
      session = new PlaySession({
        model: { vae, dit, schedule: snapshot.schedule, preset: snapshot.preset },
        gameSeed: snapshot.gameSeed,
        startFrames: snapshot.startFrames,
        seed: snapshot.seed,
        settings: snapshot.settings,
      });
      session.ownsModels = true;
      session.vaeWeights = snapshot.vae.weights;
      session.ditWeights = snapshot.dit.weights;
      if (session.game && snapshot.game) session.game.setState(snapshot.game);
      session.realHistory = snapshot.realHistory.map((h) => ({ frame: h.frame, action: cloneAction(h.action) }));
      session.window = snapshot.window.map((k) => ({ values: k.values, action: cloneAction(k.action) }));
      session.log.push(...snapshot.log.map(cloneAction));
      session.frames = snapshot.frames;
      const [h, w, c] = vaeLatentShape(snapshot.vae.config);
      const latents = tf.tensor4d(concatFloat32(session.window.map((k) => k.values)), [session.window.length, h, w, c]);
      try {
        // window[i].action produced latent i, i.e. it was held on frame i - 1.
        session.world.startFromLatents(
          latents,
          session.window.slice(1).map((k) => k.action),
        );
      } finally {
        latents.dispose();
      }
      return session;
    } catch (e) {
      if (session) session.dispose();
      else {
        vae.dispose();
        dit?.dispose();
      }
      throw e;
    }
  }

  /** Frees the world model, and the models when `restore` made them (else they are the caller's). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.world.dispose();
    if (this.ownsModels) {
      this.vae.dispose();
      this.dit.dispose();
    }
  }

  private checkAlive(): void {
    if (this.disposed)
      throw new GamedreamError("PLAY_DISPOSED", "model", "This play session has ended; start a new one.", {
        recoverable: false,
      });
  }
}

function now(): number {
  return typeof performance !== "undefined" ? performance.now() : Date.now();
}
