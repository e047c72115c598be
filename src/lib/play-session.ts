/**
 * Live play, host-independent: the built-in game (the "real" side) and the world model (the
 * "dream" side) stepped in lockstep by the same actions. A Web Worker (src/workers/generate.ts)
 * runs it for the play page; tests run it in Node.
 *
 * Per `step(action)`: the game applies the action and renders the next real frame; the world model
 * generates the next dream frame from its window of past latents; both come back as RGBA bytes
 * (transferable) with timings. The dream starts from the real game's current frames (`start`,
 * `resync`), so the two sides begin identical and drift apart only where the model errs.
 *
 * Losing the device. Everything needed to rebuild the dream lives on the host, not in the backend:
 * the weights (copied out once at creation) and the latents of the world model's window plus the
 * actions that produced them (one small readback per frame). After a GPU context loss the worker
 * starts a backend again and calls `rebuild()`: new models from the kept weights, a world model
 * that goes on from the kept latents.
 */
import * as tf from "@tensorflow/tfjs";
import { NO_ACTION, cloneAction, type Action } from "./actions.js";
import type { ScheduleConfig } from "./diffusion/index.js";
import { createDiT, type DiT, type DiTConfig } from "./dit.js";
import { GamedreamError } from "./errors.js";
import { rgbaToUnit, unitToRgba } from "./frames.js";
import { createGame, type Game } from "./game/game.js";
import type { Module } from "./nn/module.js";
import type { PresetName } from "./presets.js";
import { assignWeights } from "./storage.js";
import { createVAE, vaeLatentShape, type VAE, type VAEConfig } from "./vae.js";
import { createWorldModel, type WorldModel, type WorldModelSettings } from "./worldmodel.js";

/** Weights kept on the host: name -> shape and values. */
export type HostWeights = Map<string, { shape: number[]; values: Float32Array }>;

/** What the session needs of a loaded model (model-loader's `LoadedModel` fits). */
export interface PlayModel {
  vae: VAE;
  dit: DiT;
  schedule: ScheduleConfig;
  /** Preset whose sampling defaults apply (default "realtime"). */
  preset?: PresetName | null;
}

export interface PlaySessionOptions {
  model: PlayModel;
  /** Seed of the built-in game's level. */
  gameSeed: number;
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
  real: RgbaFrame;
  dream: RgbaFrame;
  timings: PlayTimings;
}

/** A latent of the world model's window, on the host. */
interface KeptLatent {
  values: Float32Array;
  /** The action that produced this frame (NO_ACTION for a start frame with no history). */
  action: Action;
}

/** Every variable of a module copied to the host (one readback each; done once per model). */
export async function captureHostWeights(module: Module<unknown>): Promise<HostWeights> {
  const out: HostWeights = new Map();
  for (const [name, v] of module.variables()) out.set(name, { shape: v.shape.slice(), values: (await v.data()) as Float32Array });
  return out;
}

/** A new module of `create(config)` holding `weights`. */
function restoreModule<M extends Module<unknown>>(create: () => M, weights: HostWeights, what: string): M {
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

/**
 * Merges actions from several devices held at once (keyboard, gamepad, touch pad): a movement key
 * is pressed when any device presses it, camera rates add and clamp to [-1, 1], the first device
 * with an interaction wins.
 */
export function combineActions(actions: readonly Readonly<Action>[]): Action {
  const out = cloneAction(NO_ACTION);
  for (const a of actions) {
    for (let i = 0; i < 4; i++) out.movement[i] = out.movement[i] || (a.movement[i] > 0.5 ? 1 : 0);
    for (let i = 0; i < 2; i++) out.camera[i] = Math.max(-1, Math.min(1, out.camera[i] + a.camera[i]));
    if (out.interaction === 0) out.interaction = a.interaction;
  }
  return out;
}

export class PlaySession {
  private vae: VAE;
  private dit: DiT;
  private world: WorldModel;
  private readonly game: Game;
  private readonly options: PlaySessionOptions;
  private settingsNow: WorldModelSettings;
  private vaeWeights: HostWeights | null = null;
  private ditWeights: HostWeights | null = null;
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
    this.game = createGame({ seed: options.gameSeed });
    this.world = this.newWorldModel(options.settings ?? {});
    this.settingsNow = { ...this.world.settings };
  }

  /** A session started from the game's first frame. The caller still owns `options.model`. */
  static async create(options: PlaySessionOptions): Promise<PlaySession> {
    const session = new PlaySession(options);
    try {
      session.vaeWeights = await captureHostWeights(session.vae);
      session.ditWeights = await captureHostWeights(session.dit);
      await session.reset();
    } catch (e) {
      session.dispose();
      throw e;
    }
    return session;
  }

  private newWorldModel(settings: Partial<WorldModelSettings>): WorldModel {
    const { schedule, preset } = this.options.model;
    return createWorldModel({ vae: this.vae, dit: this.dit, schedule, preset: preset ?? "realtime", seed: this.options.seed, ...settings });
  }

  get settings(): Readonly<WorldModelSettings> {
    return this.settingsNow;
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

  /** The current real frame (a copy). */
  realFrame(): RgbaFrame {
    const last = this.realHistory[this.realHistory.length - 1];
    return { data: last.frame.slice(), width: this.game.width, height: this.game.height };
  }

  configure(patch: Partial<WorldModelSettings>): void {
    this.checkAlive();
    this.world.configure(patch);
    this.settingsNow = { ...this.world.settings };
  }

  /** Back to the game's first frame; the dream starts from it and the action log empties. */
  async reset(): Promise<void> {
    this.checkAlive();
    const first = this.game.reset();
    this.realHistory = [{ frame: first.data.slice(), action: cloneAction(NO_ACTION) }];
    this.log.length = 0;
    this.frames = 0;
    await this.resync();
  }

  /**
   * Restarts the dream from the real game's last K frames (K = the DiT's context window) and the
   * actions between them: "dream from here".
   */
  async resync(): Promise<void> {
    this.checkAlive();
    const size = this.vae.config.imageSize;
    if (this.game.width !== size) {
      throw new GamedreamError("PLAY_FRAME_SIZE", "model", `The VAE takes ${size}x${size} frames but the game renders ${this.game.width}x${this.game.height}.`, { recoverable: false });
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
      this.window = history.map((_, i) => ({ values: data.slice(i * per, (i + 1) * per), action: i === 0 ? cloneAction(NO_ACTION) : cloneAction(history[i - 1].action) }));
      this.world.startFromLatents(latents, history.slice(0, -1).map((h) => h.action));
    } finally {
      latents.dispose();
    }
  }

  /** One frame on both sides, produced by holding `action` on the current frame. */
  async step(action: Readonly<Action>): Promise<PlayFrame> {
    this.checkAlive();
    const held = cloneAction(action);
    const t0 = now();
    const real = this.game.step(held);
    const realData = real.data.slice();
    const t1 = now();
    const { frame, latent } = this.world.step(held);
    let dreamData: Uint8ClampedArray;
    let latentValues: Float32Array;
    try {
      const [pixels, values] = await Promise.all([frame.data(), latent.data()]);
      dreamData = unitToRgba(pixels as Float32Array);
      latentValues = values as Float32Array;
    } finally {
      tf.dispose([frame, latent]);
    }
    const t2 = now();
    // The action held on the previous real frame is the one that produced this frame.
    this.realHistory[this.realHistory.length - 1].action = held;
    this.realHistory.push({ frame: realData, action: cloneAction(NO_ACTION) });
    const keepReal = Math.max(1, this.dit.config.contextFrames);
    if (this.realHistory.length > keepReal) this.realHistory.splice(0, this.realHistory.length - keepReal);
    this.window.push({ values: latentValues, action: held });
    const keep = Math.max(1, this.dit.config.contextFrames);
    if (this.window.length > keep) this.window.splice(0, this.window.length - keep);
    this.log.push(held);
    this.frames++;
    const size = this.game.width;
    return {
      index: this.frames,
      action: held,
      real: { data: realData.slice(), width: size, height: size },
      dream: { data: dreamData, width: size, height: size },
      timings: { realMs: t1 - t0, dreamMs: t2 - t1, totalMs: t2 - t0 },
    };
  }

  /**
   * Drops the world model (and models an earlier `rebuild` made) without touching the old device
   * beyond `dispose`, which is harmless on a lost context, then builds the models from the kept
   * weights on the backend now active and goes on from the kept latents. Call after a backend
   * started again; the caller frees the models it passed in.
   */
  rebuild(): void {
    this.checkAlive();
    if (!this.vaeWeights || !this.ditWeights) throw new GamedreamError("PLAY_NOT_READY", "model", "The session has no kept weights to rebuild from.", { recoverable: false });
    const vaeConfig = this.vae.config;
    const ditConfig = this.dit.config;
    const owned = [this.vae, this.dit].filter((m) => m !== this.options.model.vae && m !== this.options.model.dit);
    for (const release of [() => this.world.dispose(), ...owned.map((m) => () => m.dispose())]) {
      try {
        release();
      } catch {
        // The old backend may already be gone; its memory went with it.
      }
    }
    this.vae = restoreModule(() => createVAE(vaeConfig, 0), this.vaeWeights, "The kept VAE weights");
    this.dit = restoreModule(() => createDiT(ditConfig, 0), this.ditWeights, "The kept DiT weights");
    this.world = this.newWorldModel(this.settingsNow);
    const [h, w, c] = vaeLatentShape(vaeConfig);
    const latents = tf.tensor4d(concat(this.window.map((k) => k.values)), [this.window.length, h, w, c]);
    try {
      this.world.startFromLatents(latents, this.window.slice(1).map((k) => k.action));
    } finally {
      latents.dispose();
    }
  }

  /** Frees the world model. The models passed in are the caller's, unless `rebuild` replaced them. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.world.dispose();
    if (this.vae !== this.options.model.vae) this.vae.dispose();
    if (this.dit !== this.options.model.dit) this.dit.dispose();
  }

  private checkAlive(): void {
    if (this.disposed) throw new GamedreamError("PLAY_DISPOSED", "model", "This play session has ended; start a new one.", { recoverable: false });
  }
}

function now(): number {
  return typeof performance !== "undefined" ? performance.now() : Date.now();
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
