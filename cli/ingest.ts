/**
 * Turns a gameplay recording (MP4/WebM) and its action log into a dataset the training CLI reads
 * (the same manifest and shards as `npm run dataset`).
 *
 *   npm run ingest -- VIDEO [--actions LOG.json|LOG.csv] --out DIR
 *     [--fit letterbox|crop] [--actions-fps 30] [--actions-offset 0]
 *     [--mismatch error|trim|pad-repeat|pad-none] [--shard-frames 512]
 *
 * The video is validated before DIR is touched, decoded with ffmpeg at 30 fps into 256x256
 * frames (streamed: never all in memory) and paired with the log (src/lib/video/pairing.ts
 * documents alignment and the mismatch policies). Without --actions every frame gets NO_ACTION.
 * Bad input exits non-zero with one line `error[CODE]: message` (status 2 for bad flags).
 */
import { readFile, readdir, rm } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { NO_ACTION, cloneAction, parseActionLog, type Action } from "../src/lib/actions/index.js";
import { DEFAULT_SHARD_FRAMES, buildDataset, episodeFromFrames, seedFromId } from "../src/lib/data/index.js";
import { DirectoryDatasetStore } from "../src/lib/data/node.js";
import { GamedreamError, formatErrorLine, RGB_FRAME_BYTES } from "../src/lib/core/index.js";
import { extractRgbBatches, probeVideo } from "../src/lib/video/node.js";
import { pairFramesWithActions, type MismatchPolicy, type Pairing, type Fit } from "../src/lib/video/index.js";
import { createProgress, formatBytes, formatDuration, summaryLine } from "./progress.js";

const USAGE = `usage: npm run ingest -- VIDEO [--actions LOG] --out DIR
         [--fit letterbox|crop] [--actions-fps 30] [--actions-offset 0]
         [--mismatch error|trim|pad-repeat|pad-none] [--shard-frames ${DEFAULT_SHARD_FRAMES}]`;

const FITS: readonly Fit[] = ["letterbox", "crop"];
const POLICIES: readonly MismatchPolicy[] = ["error", "trim", "pad-repeat", "pad-none"];

function badFlag(message: string): GamedreamError {
  return new GamedreamError("CLI_BAD_FLAG", "validation", `${message}\n${USAGE}`);
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value))
    throw badFlag(`--${name} must be one of ${allowed.join(", ")}, got "${value}".`);
  return value as T;
}

function number(name: string, value: string, check: (n: number) => boolean, want: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || !check(n))
    throw badFlag(`--${name} must be ${want}, got "${value}".`);
  return n;
}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        actions: { type: "string" },
        out: { type: "string" },
        fit: { type: "string", default: "letterbox" },
        "actions-fps": { type: "string", default: "30" },
        "actions-offset": { type: "string", default: "0" },
        mismatch: { type: "string", default: "error" },
        "shard-frames": { type: "string", default: String(DEFAULT_SHARD_FRAMES) },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw badFlag((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (positionals.length !== 1)
    throw badFlag(positionals.length === 0 ? "VIDEO is required." : `Give one VIDEO, got ${positionals.length}.`);
  if (!values.out) throw badFlag("--out DIR is required.");
  const fit = oneOf("fit", values.fit, FITS);
  const mismatch = oneOf("mismatch", values.mismatch, POLICIES);
  const logFps = number("actions-fps", values["actions-fps"], (n) => n > 0, "a rate above 0");
  const offsetS = number("actions-offset", values["actions-offset"], () => true, "a number of seconds");
  const shardFrames = number(
    "shard-frames",
    values["shard-frames"],
    (n) => Number.isInteger(n) && n >= 1,
    "a whole number >= 1",
  );
  const videoPath = resolve(positionals[0]);

  // Everything is checked before DIR is touched: a bad file must not cost an existing dataset.
  const info = await probeVideo(videoPath);
  let pairing: Pairing;
  if (values.actions) {
    let text: string;
    try {
      text = await readFile(values.actions, "utf8");
    } catch (e) {
      throw new GamedreamError(
        "ACTION_LOG_UNREADABLE",
        "action",
        `Cannot read the action log "${values.actions}": ${(e as Error).message}`,
        { cause: e },
      );
    }
    pairing = pairFramesWithActions(info.frameCount30, parseActionLog(text, values.actions), {
      logFps,
      offsetS,
      mismatch,
    });
  } else {
    const actions: Action[] = Array.from({ length: info.frameCount30 }, () => cloneAction(NO_ACTION));
    pairing = {
      videoStart: 0,
      actions,
      videoFrames: info.frameCount30,
      logEntries: 0,
      padded: 0,
      droppedFrames: 0,
      unusedEntries: 0,
    };
  }

  const out = resolve(values.out);
  const ours = (f: string): boolean => /^shard-\d+\.bin$/.test(f) || f === "manifest.json";
  const clear = async (): Promise<void> => {
    const old = await readdir(out).catch(() => [] as string[]);
    await Promise.all(old.filter(ours).map((f) => rm(join(out, f))));
  };
  await clear();

  const started = performance.now();
  const bar = createProgress({ total: info.frameCount30, label: "frames" });
  // Frames stream from the decoder into the shard writer; those before the log (trim) are skipped.
  async function* frames(): AsyncGenerator<Uint8Array> {
    for await (const batch of extractRgbBatches(videoPath, { fit, onProgress: (p) => bar.update(p.framesDone) })) {
      for (let i = 0; i < batch.count; i++) {
        if (batch.startIndex + i < pairing.videoStart) continue;
        yield batch.rgb.subarray(i * RGB_FRAME_BYTES, (i + 1) * RGB_FRAME_BYTES);
      }
    }
  }
  const id = basename(videoPath);
  const episode = episodeFromFrames({ id, seed: seedFromId(id), source: "video", name: id }, frames(), pairing.actions);
  let manifest;
  try {
    manifest = await buildDataset(new DirectoryDatasetStore(out), [episode], {
      heldoutFraction: 0,
      shardFrames,
      createdWith: {
        tool: "cli/ingest.ts",
        video: { ...info },
        fit,
        actions: values.actions
          ? { log: basename(values.actions), logFps, offsetS, mismatch, ...pairing, actions: undefined }
          : "none (NO_ACTION on every frame)",
      },
    });
  } catch (e) {
    // A half-written dataset is worse than none.
    await clear();
    throw e;
  } finally {
    bar.done();
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    summaryLine("ingest", {
      out,
      video: `${info.width}x${info.height} ${info.codec} ${info.fps.toFixed(2)} fps ${info.durationS.toFixed(2)} s`,
      frames: manifest.totals.frames,
      fit,
      actions: values.actions
        ? `${pairing.logEntries} entries, ${pairing.padded} padded, ${pairing.droppedFrames} frames dropped`
        : "none",
      size: formatBytes(manifest.totals.bytes),
      time: formatDuration(seconds),
      "ms/frame": ((seconds * 1000) / manifest.totals.frames).toFixed(1),
    }),
  );
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(formatErrorLine(e));
  process.exitCode = e instanceof GamedreamError && e.code === "CLI_BAD_FLAG" ? 2 : 1;
});
