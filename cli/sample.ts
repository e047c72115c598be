/**
 * Dreams N frames with a trained world model beside the real game driven by the same actions.
 *
 *   npm run sample -- --run RUN_OR_WEIGHTS_DIR --frames N --out FILE.png|FILE.webm
 *        [--seed 1] [--agent explorer] [--every K] [--vae DIR] [--steps S] [--noise-seed 0]
 *
 * RUN_OR_WEIGHTS_DIR: a DiT run of `npm run train` (newest good checkpoint, EMA weights, with the
 * VAE named in its run.json or --vae) or a weights folder (vae/ + dit/, e.g. weights/realtime).
 * The game (level `--seed`, a scripted `--agent`) gives the first K context frames and the
 * actions; the model generates the next N frames with the world model (src/lib/play/world-model.ts).
 * `.png`: a strip, real frames on top, dreamed below, every `--every`th frame. `.webm`: real | dream
 * side by side at 30 fps (VP9 through ffmpeg). One summary line on stdout.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { Action } from "../src/lib/actions/index.js";
import { initBackend, GamedreamError, FRAME_SIZE, rgbaToRgb, rgbaToUnit, unitToRgb } from "../src/lib/core/index.js";
import { AGENT_NAMES, createAgent, createGame } from "../src/lib/game/index.js";
import {
  loadDiTFromCheckpoints,
  loadModel,
  loadModelFromWeights,
  loadVAE,
  type LoadedModel,
} from "../src/lib/models/index.js";
import { encodePng } from "../src/lib/core/node.js";
import { readFileBytes, FsCheckpointStore } from "../src/lib/storage/node.js";
import { createWorldModel } from "../src/lib/play/index.js";
import { badFlag, parseFlags, runCli } from "./args.js";
import { createProgress, formatBytes, formatDuration, summaryLine } from "./progress.js";

const USAGE = `usage: npm run sample -- --run RUN_OR_WEIGHTS_DIR --frames N --out FILE.png|FILE.webm
         [--seed 1] [--agent ${AGENT_NAMES.join("|")}] [--every K] [--vae DIR] [--steps S] [--noise-seed 0]`;

/** A weights folder (vae/ + dit/), or a DiT run (checkpoints, paired with the VAE it trained on). */
async function loadFrom(dir: string, vaeFlag: string | undefined): Promise<LoadedModel> {
  const read = { readFile: readFileBytes };
  if (existsSync(path.join(dir, "vae", "model.json")) && existsSync(path.join(dir, "dit", "model.json")))
    return loadModelFromWeights(dir, read);
  if (!existsSync(path.join(dir, "run.json"))) {
    throw badFlag(
      `${dir} holds no model: expected a DiT run of npm run train (run.json) or a weights folder (vae/ and dit/).`,
      USAGE,
    );
  }
  const run = JSON.parse(await readFile(path.join(dir, "run.json"), "utf8")) as { model?: string; vae?: string | null };
  if (run.model !== "dit")
    throw badFlag(`${dir} is a ${run.model ?? "unknown"} run; sampling needs a DiT run or a weights folder.`, USAGE);
  const vaeDir = vaeFlag === undefined ? run.vae : path.resolve(vaeFlag);
  if (!vaeDir) throw badFlag(`${dir}/run.json names no VAE; pass --vae DIR.`, USAGE);
  const store = await FsCheckpointStore.open(dir);
  return loadModel({
    vae: () => loadVAE(path.join(vaeDir, "model.json"), read),
    dit: () => loadDiTFromCheckpoints(store),
  });
}

/** Frames `[H, W, 3]` tiled in rows (`rows[r][c]`), with a dark 4-pixel seam. */
function tile(rows: Uint8Array[][], gap = 4): { rgb: Uint8Array; width: number; height: number } {
  const cols = rows[0].length;
  const width = cols * FRAME_SIZE + (cols - 1) * gap;
  const height = rows.length * FRAME_SIZE + (rows.length - 1) * gap;
  const rgb = new Uint8Array(width * height * 3).fill(24);
  rows.forEach((row, r) =>
    row.forEach((frame, c) => {
      for (let y = 0; y < FRAME_SIZE; y++) {
        const dst = ((r * (FRAME_SIZE + gap) + y) * width + c * (FRAME_SIZE + gap)) * 3;
        rgb.set(frame.subarray(y * FRAME_SIZE * 3, (y + 1) * FRAME_SIZE * 3), dst);
      }
    }),
  );
  return { rgb, width, height };
}

/** Encodes RGB frames `[height, width, 3]` to a VP9 WebM at 30 fps through an ffmpeg rawvideo pipe. */
async function writeWebm(file: string, frames: Uint8Array[], width: number, height: number): Promise<void> {
  const args = [
    "-hide_banner",
    "-loglevel",
    "error",
    "-y",
    "-f",
    "rawvideo",
    "-pix_fmt",
    "rgb24",
    "-s",
    `${width}x${height}`,
    "-r",
    "30",
    "-i",
    "-",
  ];
  args.push(
    "-c:v",
    "libvpx-vp9",
    "-b:v",
    "0",
    "-crf",
    "32",
    "-deadline",
    "realtime",
    "-cpu-used",
    "8",
    "-pix_fmt",
    "yuv420p",
    file,
  );
  const ffmpeg = spawn("ffmpeg", args, { stdio: ["pipe", "ignore", "pipe"] });
  let stderr = "";
  ffmpeg.stderr.on("data", (d) => (stderr += d));
  const done = new Promise<number>((resolve, reject) => {
    ffmpeg.on("error", reject);
    ffmpeg.on("close", resolve);
  });
  for (const f of frames) if (!ffmpeg.stdin.write(f)) await new Promise((r) => ffmpeg.stdin.once("drain", r));
  ffmpeg.stdin.end();
  const code = await done.catch((e: Error) => {
    throw new GamedreamError(
      "FFMPEG_MISSING",
      "video",
      `Could not run ffmpeg to write ${file} (${e.message}); install ffmpeg or write a .png strip.`,
      { recoverable: true },
    );
  });
  if (code !== 0)
    throw new GamedreamError(
      "FFMPEG_FAILED",
      "video",
      `ffmpeg could not encode ${file}: ${stderr.trim() || `exit ${code}`}.`,
      { recoverable: true },
    );
}

async function main(argv: string[]): Promise<void> {
  const flags = parseFlags(
    argv,
    {
      run: { type: "string", required: true },
      frames: { type: "int", min: 1, required: true },
      out: { type: "string", required: true },
      seed: { type: "int", min: 0, default: 1 },
      agent: { type: "string", choices: AGENT_NAMES, default: "explorer" },
      every: { type: "int", min: 1 },
      vae: { type: "string" },
      steps: { type: "int", min: 1 },
      "noise-seed": { type: "int", min: 0, default: 0 },
    },
    USAGE,
  );
  if (!flags) return;
  const out = path.resolve(flags.out);
  const format = path.extname(out).toLowerCase();
  if (format !== ".png" && format !== ".webm")
    throw badFlag(`--out must end in .png or .webm, got "${flags.out}".`, USAGE);
  await initBackend();
  const started = performance.now();
  const model = await loadFrom(path.resolve(flags.run), flags.vae);
  const K = model.dit.config.contextFrames;
  const N = flags.frames;

  // The real game: K context frames, then N more under the agent's actions.
  const game = createGame({ seed: flags.seed });
  const agent = createAgent(flags.agent, flags.seed);
  const rgba = new Uint8ClampedArray(FRAME_SIZE * FRAME_SIZE * 4);
  game.render(rgba);
  const real: Uint8Array[] = [];
  const context = new Float32Array(K * FRAME_SIZE * FRAME_SIZE * 3);
  const held: Action[] = [];
  for (let t = 0; t < K + N; t++) {
    real.push(rgbaToRgb(rgba));
    if (t < K) rgbaToUnit(rgba, context, t * FRAME_SIZE * FRAME_SIZE * 3);
    const action = agent.act(game);
    held.push(action);
    game.step(action, rgba);
  }

  const wm = createWorldModel({
    vae: model.vae,
    dit: model.dit,
    schedule: model.schedule,
    preset: model.preset ?? "realtime",
    defaults: model.sampling,
    seed: flags["noise-seed"],
    ...(flags.steps ? { steps: flags.steps } : {}),
  });
  const contextFrames = tf.tensor4d(context, [K, FRAME_SIZE, FRAME_SIZE, 3]);
  wm.start(contextFrames, held.slice(0, K - 1));
  contextFrames.dispose();
  const dream: Uint8Array[] = [];
  const bar = createProgress({ total: N, label: "frames" });
  const genStarted = performance.now();
  for (let t = K; t < K + N; t++) {
    const { frame, latent } = wm.step(held[t - 1]);
    dream.push(unitToRgb(await frame.data()));
    tf.dispose([frame, latent]);
    bar.tick();
  }
  bar.done();
  const msPerFrame = (performance.now() - genStarted) / N;
  wm.dispose();
  model.dispose();

  await mkdir(path.dirname(out), { recursive: true });
  let size: string;
  if (format === ".png") {
    const every = flags.every ?? Math.max(1, Math.ceil(N / 8));
    const picks = Array.from({ length: Math.ceil(N / every) }, (_, i) => i * every);
    const { rgb, width, height } = tile([picks.map((i) => real[K + i]), picks.map((i) => dream[i])]);
    const png = encodePng(rgb, width, height);
    await writeFile(out, png);
    size = formatBytes(png.length);
  } else {
    const sideBySide = dream.map((d, i) => tile([[real[K + i], d]], 0).rgb);
    await writeWebm(out, sideBySide, 2 * FRAME_SIZE, FRAME_SIZE);
    size = formatBytes((await readFile(out)).length);
  }
  console.log(
    summaryLine("sample", {
      out,
      frames: N,
      context: K,
      seed: flags.seed,
      agent: flags.agent,
      msPerFrame: Math.round(msPerFrame),
      size,
      time: formatDuration((performance.now() - started) / 1000),
    }),
  );
}

runCli(() => main(process.argv.slice(2)));
