/**
 * Frames per second of the Play page as a player meets it: the page's own play worker
 * (src/workers/generate.ts, driven through `PlayClient` as src/pages/play.md drives it) stepping the
 * built-in game and the world model at the given sampling settings, drawing both frames into
 * OffscreenCanvases, with the decode worker (src/lib/play/frame-decoder.ts) or without it. Browser
 * only: it needs the site's worker bundles.
 *
 * Each round starts a fresh worker (pair), skips its first `warmupMs` of frames (kernel compilation,
 * heap growth), then counts the frames the page hears of for `measureMs`. The two modes alternate
 * round by round, so a slow spell of this shared machine hits both alike. A mode's figure is its
 * throughput over all rounds (frames / time, as the page's FPS meter counts), with the median and
 * p10-p90 of the frame intervals and the spread of the per-round throughputs beside it.
 */
import { NO_ACTION } from "../actions/index.js";
import { PlayClient, type WorldModelSettings } from "../play/index.js";
import {
  summarize,
  type BenchResult,
  type BenchSection,
  type PlayBenchHost,
  type SuiteContext,
  type TimingStats,
} from "./primitives.js";

export interface PlayBenchOptions {
  /** Sampling settings (default: the shipped weights' recorded ones, `SHIPPED_PLAY_SETTINGS`). */
  settings?: Partial<WorldModelSettings>;
  /** Rounds per mode (default 3). */
  rounds?: number;
  warmupMs?: number;
  measureMs?: number;
}

export interface PlayModeTiming {
  decodeWorker: boolean;
  /** Frames per second over every measured round. */
  fps: number;
  /** 1000 / fps. */
  msPerFrame: number;
  /** Intervals between consecutive frames. */
  intervals: TimingStats;
  /** Frames per second of each round. */
  roundFps: number[];
  /** (max - min) / overall of the per-round frame rates. */
  roundSpread: number;
  /** Medians of the play worker's own timings: the world model's frame (generation + decode) and its decode part. */
  dreamMs: number;
  decodeMs: number;
}

const now = (): number => performance.now();

/**
 * The shipped weights' sampling: their manifest records guidance 1 (guidance-distilled) and the
 * "reuse-last-step" cache update (trained for it: no context pass) over the realtime preset's 1
 * step (test/unit/shipped-weights.test.ts holds the two together).
 */
export const SHIPPED_PLAY_SETTINGS: Partial<WorldModelSettings> = {
  steps: 1,
  guidanceScale: 1,
  cacheUpdate: "reuse-last-step",
};

/** "1 DDIM step unguided, no context pass": the settings the section times, in words. */
function describeSettings(settings: Partial<WorldModelSettings>): string {
  const guidance = settings.guidanceScale === 1 ? "unguided" : `guidance ${settings.guidanceScale}`;
  const cache = settings.cacheUpdate === "reuse-last-step" ? "no context pass" : "context pass";
  return `${settings.steps} DDIM step${settings.steps === 1 ? "" : "s"} ${guidance}, ${cache}`;
}

interface Round {
  frames: number;
  ms: number;
  intervals: number[];
  dreamMs: number[];
  decodeMs: number[];
}

/** One worker (pair) from start to stop: frames heard after the warm-up, over `measureMs`. */
function playRound(host: PlayBenchHost, decodeWorker: boolean, options: Required<PlayBenchOptions>): Promise<Round> {
  return new Promise((resolve, reject) => {
    let readyAt: number | null = null;
    let first: number | null = null;
    let last = 0;
    let frames = 0;
    const intervals: number[] = [];
    const dreamMs: number[] = [];
    const decodeMs: number[] = [];
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      client.dispose();
      if (error) reject(error);
      else resolve({ frames, ms: last - (first ?? last), intervals, dreamMs, decodeMs });
    };
    const client = new PlayClient({
      createWorker: host.createWorker,
      wasmPaths: host.wasmPaths,
      backend: "wasm",
      // Random realtime weights: the work per frame does not depend on their values.
      model: { kind: "choice", choice: { kind: "untrained", preset: "realtime", seed: 1 }, shippedUrl: null },
      start: { kind: "game", level: 1 },
      seed: 1,
      settings: options.settings,
      // Above what either mode reaches, so the worker never waits for its frame budget.
      fps: 60,
      decodeWorkerUrl: decodeWorker ? host.decodeWorkerUrl : null,
      canvases: host.canvases,
      on: {
        ready: (ready) => {
          if (ready.decodeWorker !== decodeWorker) {
            finish(new Error(`the play worker ${ready.decodeWorker ? "started" : "did not start"} a decode worker`));
            return;
          }
          readyAt = now();
          client.input({ ...NO_ACTION, movement: [1, 0, 0, 0] });
        },
        frame: (stats) => {
          if (readyAt === null) return;
          const t = now();
          if (t - readyAt < options.warmupMs) return;
          if (first === null) first = t;
          else {
            intervals.push(t - last);
            frames++;
            dreamMs.push(stats.timings.dreamMs);
            decodeMs.push(stats.timings.decodeMs ?? 0);
          }
          last = t;
          if (t - first >= options.measureMs) finish();
        },
        error: (error, fatal) => {
          if (fatal) finish(new Error(`play failed: ${error.message}`));
        },
        notice: (level, message) => {
          if (level !== "info") finish(new Error(`play warned: ${message}`));
        },
      },
    });
    setTimeout(() => finish(new Error("no frames within 120 s")), 120_000 + options.warmupMs + options.measureMs);
  });
}

/** Times both modes in alternating rounds (see the file comment). */
export async function measurePlayFps(host: PlayBenchHost, options: PlayBenchOptions = {}): Promise<PlayModeTiming[]> {
  const o: Required<PlayBenchOptions> = {
    settings: options.settings ?? SHIPPED_PLAY_SETTINGS,
    rounds: options.rounds ?? 3,
    warmupMs: options.warmupMs ?? 2000,
    measureMs: options.measureMs ?? 6000,
  };
  const modes = [true, false].map((decodeWorker) => ({ decodeWorker, rounds: [] as Round[] }));
  for (let r = 0; r < o.rounds; r++) for (const m of modes) m.rounds.push(await playRound(host, m.decodeWorker, o));
  return modes.map(({ decodeWorker, rounds }) => {
    const frames = rounds.reduce((n, r) => n + r.frames, 0);
    const ms = rounds.reduce((n, r) => n + r.ms, 0);
    const fps = (1000 * frames) / ms;
    const roundFps = rounds.map((r) => (1000 * r.frames) / r.ms);
    return {
      decodeWorker,
      fps,
      msPerFrame: 1000 / fps,
      intervals: summarize(rounds.flatMap((r) => r.intervals)),
      roundFps,
      roundSpread: (Math.max(...roundFps) - Math.min(...roundFps)) / fps,
      dreamMs: summarize(rounds.flatMap((r) => r.dreamMs)).medianMs,
      decodeMs: summarize(rounds.flatMap((r) => r.decodeMs)).medianMs,
    };
  });
}

/** The `play` section: needs `SuiteContext.play` (the benchmarks page gives it); elsewhere it measures nothing. */
export const playSection: BenchSection = {
  name: "play",
  description: `The Play page's frames per second: its play worker (game step + world model at the shipped weights' settings (${describeSettings(SHIPPED_PLAY_SETTINGS)}), random realtime weights + drawing both frames), with the VAE decode in a second worker and without, alternating rounds of fresh workers. Browser only.`,
  async run(ctx: SuiteContext): Promise<BenchResult[]> {
    if (!ctx.play || ctx.backend !== "wasm") {
      if (!ctx.play && ctx.backend === "wasm")
        ctx.log("play: needs the site's play workers (the benchmarks page); skipped");
      return [];
    }
    const timings = await measurePlayFps(ctx.play, ctx.quick ? { rounds: 1, warmupMs: 1000, measureMs: 2000 } : {});
    return timings.map((t) => {
      ctx.log(
        `play (Play worker, ${t.decodeWorker ? "decode in a second worker" : "one worker"}): ${t.fps.toFixed(1)} FPS (${t.msPerFrame.toFixed(1)} ms/frame; intervals median ${t.intervals.medianMs.toFixed(1)}, p10-p90 ${t.intervals.p10Ms.toFixed(1)}-${t.intervals.p90Ms.toFixed(1)} ms; rounds ${t.roundFps.map((f) => f.toFixed(1)).join(" / ")} FPS, spread ${(100 * t.roundSpread).toFixed(0)}%; dream ${t.dreamMs.toFixed(1)} ms${t.decodeWorker ? `, of which ${t.decodeMs.toFixed(1)} decoding in the second worker` : ""})`,
      );
      return {
        name: "play-fps",
        host: ctx.host,
        backend: ctx.backend,
        params: { decodeWorker: t.decodeWorker, preset: "realtime", ...SHIPPED_PLAY_SETTINGS },
        metric: "throughput",
        value: t.fps,
        unit: "FPS",
        details: {
          msPerFrame: t.msPerFrame,
          medianIntervalMs: t.intervals.medianMs,
          p10Ms: t.intervals.p10Ms,
          p90Ms: t.intervals.p90Ms,
          frames: t.intervals.reps,
          roundFps: t.roundFps.map((f) => f.toFixed(1)).join(" / "),
          roundSpread: t.roundSpread,
          dreamMs: t.dreamMs,
          decodeWorkerMs: t.decodeMs,
        },
      };
    });
  },
};
