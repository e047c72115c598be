/**
 * The world model at play time: a VAE and a DiT turned into a frame-by-frame generator driven by
 * actions. Start it from real frames (the game, an uploaded video), then call `step(action)` once
 * per displayed frame.
 *
 * Per step (after GameNGen / diffusion forcing):
 *   1. noise [1, h, w, c] from the model's own `Rng` (same seed + same inputs => same frames);
 *   2. a few sampler steps (src/lib/diffusion `samplerStep`), each one `dit.forwardFrame` that
 *      computes only the new frame's tokens against the KV cache of the last K context frames;
 *   3. the clean latent joins the context window: its temporal keys/values enter the cache
 *      (`cacheUpdate`: one more pass at the context noise level, or the last sampling step's
 *      keys/values), and the oldest frame beyond K is dropped;
 *   4. VAE decode -> frame [S, S, 3] in [-1, 1] (`generate` stops before it: the caller decodes).
 * Nothing is read back from the device inside `step`; `stepRgba` adds the one readback a canvas
 * needs.
 *
 * Actions. `actions[t]` is the input held while frame t is on screen; its effect first shows in
 * frame t+1 (src/lib/data/dataset.ts). The DiT conditions each frame on the action that produced it,
 * so frame t+1 gets `actions[t]` (the convention of src/lib/data/latents.ts, which training uses), and
 * `step(a)` takes the input held on the frame shown now and returns the next frame.
 * Context frames are "clean with a small noise level" (diffusion-forcing augmentation): their
 * latents are noised to `contextNoise` and the DiT is told that level.
 *
 * Under "reuse-last-step" a generated frame's cache entry is its own last sampling step, so the
 * context frames of `start` (and of a rebuilt cache) are made the same way, as training for that
 * update made them (src/lib/train/dit-task.ts): a pass at the sampler's last timestep on fresh
 * noise with the clean latent of the frame before stacked on; the window of a DiT that stacks
 * latents (`contextLatentInput`) keeps one frame more, the oldest, which only lends its latent.
 */
import * as tf from "@tensorflow/tfjs";
import { ACTION_DIM, NO_ACTION, encodeAction, type Action } from "../actions/index.js";
import {
  alphaBarAt,
  makeSchedule,
  qSample,
  samplerInfo,
  samplerStep,
  samplerLastTimestep,
  samplerTimesteps,
  type SamplerName,
  type Schedule,
  type ScheduleConfig,
} from "../diffusion/index.js";
import {
  actionPathway,
  type DiT,
  type FrameKV,
  isCacheUpdate,
  type KVCache,
  MAX_GUIDANCE_SCALE,
  type LoadedModel,
  PRESETS,
  type PresetName,
  type SamplingDefaults,
  vaeLatentShape,
  type VAE,
} from "../models/index.js";
import { GamedreamError, rgbaToUnit, unitToRgba, type RgbaImage, Rng, type RngState } from "../core/index.js";
import { gaussianNoise } from "../nn/index.js";

/** What can change between steps. */
export interface WorldModelSettings {
  sampler: SamplerName;
  /** Sampler steps per generated frame (1 .. T). */
  steps: number;
  /** DDIM's eta (0 = deterministic). */
  eta: number;
  /** Noise level in [0, 1] of context frames (0 = clean). */
  contextNoise: number;
  /** How a finished frame enters the KV cache (see `SamplingDefaults.cacheUpdate`). */
  cacheUpdate: SamplingDefaults["cacheUpdate"];
  /**
   * Classifier-free guidance on the action: prediction = uncond + scale * (cond - uncond), the
   * unconditional pass given the learned null action. 1 = off (one pass); above 1 exaggerates
   * what the action changes, at the cost of a batch of 2 per DiT pass. Needs a DiT with `nullAction`.
   */
  guidanceScale: number;
}

export interface WorldModelOptions extends Partial<WorldModelSettings> {
  vae: VAE;
  dit: DiT;
  /** The noise schedule the DiT was trained with. */
  schedule: ScheduleConfig | Schedule;
  /** Sampling defaults come from this preset (default "realtime"); explicit settings win. */
  preset?: PresetName;
  /** Sampling defaults over the preset's (what the weights record, `LoadedModel.sampling`); explicit settings win. */
  defaults?: Partial<SamplingDefaults>;
  /** Seed of every noise draw (default 0). */
  seed?: number;
}

/** An action as an `Action` object or already encoded (length ACTION_DIM). */
export type ActionInput = Readonly<Action> | Float32Array;

export interface StepOutput {
  /** `[S, S, 3]` in [-1, 1]; the caller disposes it. */
  frame: tf.Tensor3D;
  /** `[1, h, w, c]` scaled latent (what the DiT sees); the caller disposes it. */
  latent: tf.Tensor4D;
}

export interface WorldModel {
  readonly settings: Readonly<WorldModelSettings>;
  readonly schedule: Schedule;
  /** Frames generated since the last `start` / `reset`. */
  readonly frameIndex: number;
  /**
   * Context frames currently in the window: at most `dit.config.contextFrames`, one more under
   * "reuse-last-step" (the oldest then only lends its latent to the next).
   */
  readonly contextLength: number;
  /** Changes settings; they apply from the next `step`. */
  configure(patch: Partial<WorldModelSettings>): void;
  /**
   * Starts from real frames: `frames` `[T, S, S, 3]` or `[S, S, 3]` in [-1, 1], or RGBA images.
   * `actions[i]` is the input held while frame i was on screen: length T-1, or T as read from a
   * dataset window (the last entry then belongs to the next `step` and is not used here). Only
   * the last K frames matter (the DiT's window).
   */
  start(frames: tf.Tensor | readonly RgbaImage[], actions?: readonly ActionInput[]): void;
  /** `start` from scaled latents `[T, h, w, c]` (e.g. encoded once for many evaluations). */
  startFromLatents(latents: tf.Tensor4D, actions?: readonly ActionInput[]): void;
  /** Generates the frame that follows from holding `action` on the current frame. */
  step(action: ActionInput): StepOutput;
  /**
   * `step` without the VAE decode: the next frame's scaled latent `[1, h, w, c]` (the caller
   * disposes it), already in the context window. For a host that decodes elsewhere, e.g. in a second
   * worker while this one generates the frame after (src/lib/play/frame-decoder.ts).
   */
  generate(action: ActionInput): tf.Tensor4D;
  /** `step`, then one readback to RGBA bytes (into `out` when given). */
  stepRgba(action: ActionInput, out?: Uint8ClampedArray): Promise<RgbaImage & { data: Uint8ClampedArray }>;
  /** Back to the state right after the last `start` (same seed: the same frames again). */
  reset(): void;
  dispose(): void;
}

function inputError(message: string, details?: Record<string, unknown>): GamedreamError {
  return new GamedreamError("WORLD_MODEL_INPUT", "validation", message, { recoverable: true, details });
}

/** Encoded action vector (length ACTION_DIM) of an `ActionInput`. */
export function actionVector(action: ActionInput): Float32Array {
  if (action instanceof Float32Array) {
    if (action.length !== ACTION_DIM)
      throw inputError(`An encoded action must have ${ACTION_DIM} values, got ${action.length}.`);
    return action;
  }
  return encodeAction(action);
}

const SETTING_KEYS = [
  "sampler",
  "steps",
  "eta",
  "contextNoise",
  "cacheUpdate",
  "guidanceScale",
] as const satisfies readonly (keyof WorldModelSettings)[];

/** `base` with the settings of `patch` that are defined; anything else in `patch` (the models, a seed) is ignored. */
function resolveSettings(
  base: WorldModelSettings,
  patch: Partial<WorldModelSettings>,
  T: number,
  dit: DiT,
): WorldModelSettings {
  const next = { ...base };
  for (const key of SETTING_KEYS) if (patch[key] !== undefined) (next as Record<string, unknown>)[key] = patch[key];
  samplerInfo(next.sampler);
  samplerTimesteps(T, next.steps); // throws SAMPLER_STEPS when out of range
  if (!(next.eta >= 0)) throw inputError(`DDIM's eta must be >= 0, got ${next.eta}.`);
  if (!(next.contextNoise >= 0 && next.contextNoise <= 1))
    throw inputError(`The context noise level must lie in [0, 1], got ${next.contextNoise}.`);
  if (!isCacheUpdate(next.cacheUpdate)) {
    throw inputError(`cacheUpdate must be "context-pass" or "reuse-last-step", got "${String(next.cacheUpdate)}".`);
  }
  if (!(next.guidanceScale >= 0 && next.guidanceScale <= MAX_GUIDANCE_SCALE))
    throw inputError(`The guidance scale must lie in [0, ${MAX_GUIDANCE_SCALE}], got ${next.guidanceScale}.`);
  if (next.guidanceScale !== 1 && !actionPathway(dit.config).nullAction) {
    throw inputError(
      `Guidance needs a DiT trained with a null action (nullAction); this one has none, so use a guidance scale of 1.`,
    );
  }
  return next;
}

interface ContextFrame {
  /** `[1, h, w, c]` clean scaled latent, owned by the window. */
  latent: tf.Tensor4D;
  /** The action this frame is conditioned on (the input that produced it). */
  action: Float32Array;
}

class LiveWorldModel implements WorldModel {
  readonly schedule: Schedule;
  private current: WorldModelSettings;
  private readonly vae: VAE;
  private readonly dit: DiT;
  private readonly cache: KVCache;
  private readonly seed: number;
  private rng: Rng;
  private window: ContextFrame[] = [];
  /** What `reset` returns to: the context `start` built and the generator state after it. */
  private origin: { window: ContextFrame[]; rng: RngState } | null = null;
  /** The cache no longer matches the window (settings changed, reset). */
  private stale = false;
  private generated = 0;
  private disposed = false;

  constructor(options: WorldModelOptions) {
    const { vae, dit } = options;
    const [h, w, c] = [dit.config.latentHeight, dit.config.latentWidth, dit.config.latentChannels];
    const vaeLatent = vaeLatentShape(vae.config);
    if (vaeLatent.join(",") !== `${h},${w},${c}`) {
      throw new GamedreamError(
        "WORLD_MODEL_MISMATCH",
        "model",
        `The VAE makes ${vaeLatent.join("x")} latents but the DiT expects ${h}x${w}x${c}; load a matching pair.`,
        {
          recoverable: false,
        },
      );
    }
    this.vae = vae;
    this.dit = dit;
    this.schedule = "alphaBar" in options.schedule ? options.schedule : makeSchedule(options.schedule);
    const defaults = { ...PRESETS[options.preset ?? "realtime"].sampling, ...options.defaults };
    const base: WorldModelSettings = {
      sampler: defaults.sampler,
      steps: defaults.steps,
      eta: defaults.eta,
      contextNoise: defaults.contextNoiseLevel,
      cacheUpdate: defaults.cacheUpdate,
      guidanceScale: actionPathway(dit.config).nullAction ? defaults.guidanceScale : 1,
    };
    this.current = resolveSettings(base, options, this.schedule.T, dit);
    this.seed = options.seed ?? 0;
    this.rng = new Rng(this.seed);
    this.cache = dit.createCache();
  }

  get settings(): Readonly<WorldModelSettings> {
    return this.current;
  }

  get frameIndex(): number {
    return this.generated;
  }

  get contextLength(): number {
    return this.window.length;
  }

  configure(patch: Partial<WorldModelSettings>): void {
    const next = resolveSettings(this.current, patch, this.schedule.T, this.dit);
    // Cached keys/values were computed at the old context level: recompute them once.
    if (this.contextLevel(next) !== this.contextLevel(this.current) || next.cacheUpdate !== this.current.cacheUpdate)
      this.stale = true;
    this.current = next;
  }

  /** The noise level of the passes that fill the cache: `contextNoise`, or the sampler's last timestep. */
  private contextLevel(settings: WorldModelSettings): number {
    if (settings.cacheUpdate !== "reuse-last-step") return settings.contextNoise;
    return samplerLastTimestep(this.schedule.T, settings.steps) / (this.schedule.T - 1);
  }

  /** Frames the window keeps (see the file comment). */
  private get windowCapacity(): number {
    const lender = this.current.cacheUpdate === "reuse-last-step" && actionPathway(this.dit.config).contextLatentInput;
    return Math.max(1, this.dit.config.contextFrames) + (lender ? 1 : 0);
  }

  start(frames: tf.Tensor | readonly RgbaImage[], actions: readonly ActionInput[] = []): void {
    this.checkAlive();
    const size = this.vae.config.imageSize;
    const clip = tf.tidy(() => {
      let x: tf.Tensor;
      if (Array.isArray(frames)) {
        const images = frames as readonly RgbaImage[];
        if (images.length === 0) throw inputError("start() needs at least one frame.");
        for (const im of images) {
          if (im.width !== size || im.height !== size)
            throw inputError(`Start frames must be ${size}x${size}, got ${im.width}x${im.height}.`);
        }
        const values = new Float32Array(images.length * size * size * 3);
        images.forEach((im, i) => rgbaToUnit(im.data, values, i * size * size * 3));
        x = tf.tensor4d(values, [images.length, size, size, 3]);
      } else {
        x = frames as tf.Tensor;
        if (x.rank === 3) x = tf.expandDims(x, 0);
      }
      if (x.rank !== 4 || x.shape[1] !== size || x.shape[2] !== size || x.shape[3] !== 3 || x.shape[0] < 1) {
        throw inputError(
          `Start frames must have shape [T, ${size}, ${size}, 3] (or [${size}, ${size}, 3]), got [${x.shape.join(", ")}].`,
        );
      }
      return x as tf.Tensor4D;
    });
    try {
      const keep = this.windowCapacity;
      const tail = tf.tidy(
        () => (clip.shape[0] > keep ? tf.slice(clip, [clip.shape[0] - keep], [keep]) : clip.clone()) as tf.Tensor4D,
      );
      const latents = tf.tidy(() => this.vae.encodeScaled(tail));
      tail.dispose();
      this.begin(latents, actions, clip.shape[0]);
      latents.dispose();
    } finally {
      if (clip !== frames) clip.dispose();
    }
  }

  startFromLatents(latents: tf.Tensor4D, actions: readonly ActionInput[] = []): void {
    this.checkAlive();
    const { latentHeight: h, latentWidth: w, latentChannels: c } = this.dit.config;
    if (latents.rank !== 4 || latents.shape[0] < 1 || latents.shape.slice(1).join(",") !== `${h},${w},${c}`) {
      throw inputError(`Start latents must have shape [T, ${h}, ${w}, ${c}], got [${latents.shape.join(", ")}].`);
    }
    const keep = this.windowCapacity;
    const tail = tf.tidy(
      () =>
        (latents.shape[0] > keep
          ? tf.slice(latents, [latents.shape[0] - keep], [keep])
          : latents.clone()) as tf.Tensor4D,
    );
    this.begin(tail, actions, latents.shape[0]);
    tail.dispose();
  }

  /** `latents [k, h, w, c]`: the last k of `total` context frames; `actions` indexed over all `total`. */
  private begin(latents: tf.Tensor4D, actions: readonly ActionInput[], total: number): void {
    if (actions.length !== total - 1 && actions.length !== total) {
      throw inputError(
        `start() with ${total} frames needs ${total - 1} actions (or ${total}, one per frame), got ${actions.length}.`,
      );
    }
    const k = latents.shape[0];
    const first = total - k;
    const window: ContextFrame[] = [];
    for (let i = 0; i < k; i++) {
      const t = first + i;
      const latent = tf.tidy(() => tf.slice(latents, [i], [1]) as tf.Tensor4D);
      window.push({ latent, action: t === 0 ? encodeAction(NO_ACTION) : actionVector(actions[t - 1]).slice() });
    }
    this.clearOrigin();
    this.rng = new Rng(this.seed);
    this.origin = { window, rng: this.rng.getState() };
    this.restoreOrigin();
  }

  reset(): void {
    this.checkAlive();
    if (!this.origin)
      throw new GamedreamError(
        "WORLD_MODEL_NOT_STARTED",
        "model",
        "reset() needs a world model that was started from a frame first.",
      );
    this.restoreOrigin();
  }

  private restoreOrigin(): void {
    const origin = this.origin!;
    this.clearWindow();
    this.window = origin.window.map((f) => ({ latent: f.latent.clone(), action: f.action }));
    while (this.window.length > this.windowCapacity) this.window.shift()!.latent.dispose();
    this.rng.setState(origin.rng);
    this.generated = 0;
    this.rebuildCache();
  }

  step(action: ActionInput): StepOutput {
    const latent = this.generate(action);
    try {
      const size = this.vae.config.imageSize;
      const frame = tf.tidy(() => tf.reshape(this.vae.decodeScaled(latent), [size, size, 3]) as tf.Tensor3D);
      return { frame, latent };
    } catch (e) {
      latent.dispose();
      throw e;
    }
  }

  generate(action: ActionInput): tf.Tensor4D {
    this.checkAlive();
    if (!this.origin)
      throw new GamedreamError(
        "WORLD_MODEL_NOT_STARTED",
        "model",
        "step() needs a world model that was started from a frame first (call start).",
      );
    if (this.stale) this.rebuildCache();
    const { latentHeight: h, latentWidth: w, latentChannels: c } = this.dit.config;
    const vector = actionVector(action).slice();
    const { sampler, steps, eta, cacheUpdate, guidanceScale } = this.current;
    const guided = guidanceScale !== 1;
    // Guidance: one pass over a batch of 2, the action and the null action, against one cache.
    const cond = guided ? tf.tensor2d([...vector, ...vector], [2, ACTION_DIM]) : tf.tensor2d(vector, [1, ACTION_DIM]);
    const keep = guided ? tf.tensor1d([1, 0]) : undefined;
    const T = this.schedule.T;
    const timesteps = samplerTimesteps(T, steps);
    const samplerConfig = { sampler, schedule: this.schedule, parameterization: this.dit.config.parameterization, eta };
    let x = gaussianNoise([1, h, w, c], this.rng) as tf.Tensor4D;
    let lastKv: FrameKV | undefined;
    try {
      for (let i = 0; i < timesteps.length; i++) {
        const t = timesteps[i];
        const tNext = i + 1 < timesteps.length ? timesteps[i + 1] : -1;
        const keepKv = cacheUpdate === "reuse-last-step" && tNext === -1;
        const denoiser = (xt: tf.Tensor, timestep: number): tf.Tensor => {
          const withKv = keepKv && timestep === t;
          const input = guided ? (tf.concat([xt, xt]) as tf.Tensor4D) : (xt as tf.Tensor4D);
          const out = this.dit.forwardFrame(this.cache, input, timestep / (T - 1), cond, {
            returnKv: withKv,
            actionKeep: keep,
          });
          if (input !== xt) input.dispose();
          if (out.kv) {
            // The conditional half (rows of batch item 0) is the frame's context.
            const rows = out.kv.keys[0].shape[0] / (guided ? 2 : 1);
            const first = (t: tf.Tensor2D) => tf.keep(guided ? (tf.slice(t, [0, 0], [rows, -1]) as tf.Tensor2D) : t);
            lastKv = { keys: out.kv.keys.map(first), values: out.kv.values.map(first) };
            if (guided) tf.dispose([...out.kv.keys, ...out.kv.values]);
          }
          if (!guided) return out.prediction;
          return tf.tidy(() => {
            const [withAction, without] = tf.split(out.prediction, 2);
            out.prediction.dispose();
            return tf.add(without, tf.mul(tf.sub(withAction, without), guidanceScale));
          });
        };
        // Every step draws its seed, stochastic sampler or not, so the noise stream never depends on the sampler.
        const next = samplerStep(denoiser, x, t, tNext, { ...samplerConfig, seed: this.rng.seed() }) as tf.Tensor4D;
        x.dispose();
        x = next;
      }
    } catch (e) {
      x.dispose();
      tf.dispose([cond, ...(keep ? [keep] : [])]);
      if (lastKv) disposeKv(lastKv);
      throw e;
    }
    keep?.dispose();
    cond.dispose();
    const latent = x.clone();
    this.pushContext({ latent: x, action: vector }, lastKv);
    this.generated++;
    return latent;
  }

  async stepRgba(action: ActionInput, out?: Uint8ClampedArray): Promise<RgbaImage & { data: Uint8ClampedArray }> {
    const { frame, latent } = this.step(action);
    latent.dispose();
    try {
      const [height, width] = frame.shape;
      return { data: unitToRgba(await frame.data(), out), width, height };
    } finally {
      frame.dispose();
    }
  }

  /** Adds a finished frame to the window and the cache, dropping the oldest beyond K. */
  private pushContext(frame: ContextFrame, kv: FrameKV | undefined): void {
    const capacity = this.windowCapacity;
    if (kv) this.cache.push(kv, actionPathway(this.dit.config).contextLatentInput ? frame.latent.clone() : undefined);
    else this.appendToCache(frame);
    this.window.push(frame);
    while (this.window.length > capacity) this.window.shift()!.latent.dispose();
  }

  /**
   * One DiT pass of a context frame at the context level (`contextLevel`); its keys/values enter
   * the cache, and the clean latent rides on to the next frame's channels.
   */
  private appendToCache(frame: ContextFrame): void {
    const level = this.contextLevel(this.current);
    const noisy = tf.tidy(() => {
      if (level === 0) return frame.latent.clone();
      const alphaBar = alphaBarAt(this.schedule, level * (this.schedule.T - 1));
      return qSample(frame.latent, gaussianNoise(frame.latent.shape, this.rng), alphaBar) as tf.Tensor4D;
    });
    const cond = tf.tensor2d(frame.action, [1, ACTION_DIM]);
    const reuse = this.current.cacheUpdate === "reuse-last-step";
    this.dit.appendFrame(this.cache, noisy, level, cond, reuse ? frame.latent : noisy);
    tf.dispose([noisy, cond]);
  }

  private rebuildCache(): void {
    this.cache.clear();
    // A window one frame over the DiT's (reuse-last-step): its oldest frame only lends its latent.
    const lender = this.window.length > Math.max(1, this.dit.config.contextFrames) ? this.window[0] : null;
    if (lender) this.cache.pushLatent(lender.latent.clone());
    for (const frame of this.window) if (frame !== lender) this.appendToCache(frame);
    this.stale = false;
  }

  private clearWindow(): void {
    for (const f of this.window) f.latent.dispose();
    this.window = [];
  }

  private clearOrigin(): void {
    if (this.origin) for (const f of this.origin.window) f.latent.dispose();
    this.origin = null;
  }

  private checkAlive(): void {
    if (this.disposed)
      throw new GamedreamError(
        "WORLD_MODEL_DISPOSED",
        "model",
        "This world model has been disposed; create a new one.",
        { recoverable: false },
      );
  }

  dispose(): void {
    if (this.disposed) return;
    this.clearWindow();
    this.clearOrigin();
    this.cache.dispose();
    this.disposed = true;
  }
}

function disposeKv(kv: FrameKV): void {
  tf.dispose([...kv.keys, ...kv.values]);
}

/**
 * A world model over a VAE + DiT pair (it does not own them: dispose them yourself). Settings
 * default to the preset's sampling defaults.
 */
export function createWorldModel(options: WorldModelOptions): WorldModel {
  return new LiveWorldModel(options);
}

/**
 * The world model of a loaded VAE + DiT pair (models/loader.ts `LoadedModel`): its schedule, its
 * sampling defaults (the preset's, realtime's for a custom config, under what the weights record)
 * under `settings`, seeded by `seed`.
 */
export function worldModelOf(
  model: Pick<LoadedModel, "vae" | "dit" | "schedule" | "preset"> & Partial<Pick<LoadedModel, "sampling">>,
  settings: Partial<WorldModelSettings> | undefined,
  seed: number,
): WorldModel {
  return createWorldModel({
    vae: model.vae,
    dit: model.dit,
    schedule: model.schedule,
    preset: model.preset ?? "realtime",
    defaults: model.sampling,
    ...settings,
    seed,
  });
}
