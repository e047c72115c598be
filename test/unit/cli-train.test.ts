// `npm run train` as a user runs it: a child process on a tiny dataset and a tiny VAE, killed with
// SIGKILL after its first checkpoint, then run again: it must resume from the newest checkpoint.
// Then `npm run sample` on that run writes a PNG strip and a playable WebM.
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDataset, gameEpisodeSources } from "../../src/lib/data/index.js";
import { DirectoryDatasetStore } from "../../src/lib/data/node.js";
import { modelExport } from "../../src/lib/train/index.js";
import { writeModelDir } from "../../src/lib/train/node.js";
import { VAE_PRESETS, createVAE, createDiT, type DiTConfig, loadDiT, PRESETS } from "../../src/lib/models/index.js";
import { readFileBytes } from "../../src/lib/storage/node.js";

let dir: string;
const TINY_DIT = JSON.stringify({ hidden: 16, depth: 1, heads: 2, frequencyDim: 16 });
const run = promisify(execFile);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cli-train-"));
  await buildDataset(
    new DirectoryDatasetStore(join(dir, "data")),
    gameEpisodeSources({ seed: 1, episodes: 3, frames: 8 }),
    { heldoutFraction: 0.34 },
  );
  // A one-conv VAE (16x down to 16x16x4 latents): enough to exercise the DiT path quickly.
  const vae = createVAE(
    {
      ...VAE_PRESETS.realtime,
      latentChannels: 4,
      encoder: { stem: 16, channels: [4], blocks: [0] },
      decoder: { channels: [4], blocks: [0], head: 16 },
    },
    1,
  );
  await writeModelDir(join(dir, "vae"), modelExport("vae", vae, 0));
  vae.dispose();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function trainArgs(out: string, steps: number): string[] {
  return [
    "--import",
    "tsx",
    "cli/train.ts",
    "--data",
    join(dir, "data"),
    "--vae",
    join(dir, "vae"),
    "--out",
    out,
    "--steps",
    String(steps),
    "--checkpoint-every",
    "10",
    "--clip-length",
    "3",
    "--override",
    TINY_DIT,
  ];
}

async function checkpointSteps(out: string): Promise<number[]> {
  const names = existsSync(join(out, "checkpoints")) ? await readdir(join(out, "checkpoints")) : [];
  return names
    .filter((n) => /^step-\d+$/.test(n))
    .map((n) => Number(n.slice(5)))
    .sort((a, b) => a - b);
}

describe("npm run train", () => {
  it("logs the action sensitivity S of a DiT run on held-out levels in the progress line and the summary", async () => {
    const out = join(dir, "probe-run");
    const { stdout, stderr } = await run(process.execPath, [...trainArgs(out, 4), "--probe-every", "2"]);
    expect(stderr).toMatch(/ S \d\.\d{3} /);
    const summary = stdout.match(/ S=([\d.e-]+) /);
    expect(summary).not.toBeNull();
    expect(Number(summary![1])).toBeGreaterThanOrEqual(0);
  }, 120_000);

  it("resumes from its last checkpoint after being killed with SIGKILL", async () => {
    const out = join(dir, "run");
    const child = spawn(process.execPath, trainArgs(out, 10_000), { stdio: "ignore" });
    const exited = new Promise((resolve) => child.on("exit", resolve));
    const deadline = Date.now() + 60_000;
    while ((await checkpointSteps(out)).length === 0) {
      if (Date.now() > deadline) throw new Error("no checkpoint within 60 s");
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    await exited;
    const steps = await checkpointSteps(out);
    const last = steps[steps.length - 1];
    expect(last % 10).toBe(0);
    expect(last).toBeGreaterThanOrEqual(10);

    // Settings come from RUN/run.json: only --out and --steps are needed to carry on.
    const { stdout, stderr } = await run(process.execPath, [
      "--import",
      "tsx",
      "cli/train.ts",
      "--out",
      out,
      "--steps",
      String(last + 5),
    ]);
    expect(stderr).toMatch(new RegExp(`resumed .* from step ${last} \\(step-0*${last}\\)`));
    expect(stdout).toMatch(new RegExp(`^train: .*state=done step=${last + 5} resumedFrom=${last} `));
    expect(await checkpointSteps(out)).toContain(last + 5);
    expect(existsSync(join(out, "model", "model.json"))).toBe(true);

    // npm run sample on the same run: a PNG strip and a WebM that ffprobe can read frame by frame.
    const png = join(dir, "strip.png");
    const sampled = await run(process.execPath, [
      "--import",
      "tsx",
      "cli/sample.ts",
      "--run",
      out,
      "--frames",
      "3",
      "--out",
      png,
    ]);
    expect(sampled.stdout).toMatch(/^sample: .*frames=3 /);
    const bytes = await readFile(png);
    expect([...bytes.subarray(1, 4)].map((b) => String.fromCharCode(b)).join("")).toBe("PNG");
    expect(bytes.readUInt32BE(16)).toBe(3 * 256 + 2 * 4); // width: 3 frames and 2 seams
    expect(bytes.readUInt32BE(20)).toBe(2 * 256 + 4); // height: real row over dreamed row
    const webm = join(dir, "dream.webm");
    await run(process.execPath, ["--import", "tsx", "cli/sample.ts", "--run", out, "--frames", "4", "--out", webm]);
    const probe = await run("ffprobe", [
      "-v",
      "error",
      "-count_frames",
      "-show_entries",
      "stream=codec_name,width,height,nb_read_frames",
      "-of",
      "json",
      webm,
    ]);
    expect(JSON.parse(probe.stdout).streams[0]).toMatchObject({
      codec_name: "vp9",
      width: 512,
      height: 256,
      nb_read_frames: "4",
    });
  });

  it("fine-tunes an exported model with --init (its weights, its schedule), and refuses one that does not fit", async () => {
    // A tiny DiT for the test VAE's 16x16x4 latents, exported the way training exports models.
    const config = {
      ...PRESETS.realtime.dit,
      latentHeight: 16,
      latentWidth: 16,
      latentChannels: 4,
      ...JSON.parse(TINY_DIT),
    } as DiTConfig;
    const start = createDiT(config, 99);
    await writeModelDir(
      join(dir, "init"),
      modelExport("dit", start, 7, { settings: { schedule: { kind: "linear", T: 500 } } }),
    );
    start.dispose();
    // With a learning rate of 0 the run's exported model must be the --init model itself (up to the
    // float32 rounding of the EMA), not the seeded DiT the run would otherwise start from.
    const out = join(dir, "fine-tune");
    const args = [
      "--import",
      "tsx",
      "cli/train.ts",
      "--data",
      join(dir, "data"),
      "--vae",
      join(dir, "vae"),
      "--out",
      out,
      "--steps",
      "2",
      "--clip-length",
      "3",
      "--lr",
      "0",
    ];
    const { stderr } = await run(process.execPath, [...args, "--init", join(dir, "init")]);
    expect(stderr).toMatch(/init: fine-tuning .*init[/]model\.json \(raw weights of step 7\)/);
    expect(JSON.parse(await readFile(join(out, "run.json"), "utf8")).init).toBe(join(dir, "init", "model.json"));
    const before = await loadDiT(join(dir, "init", "model.json"), { readFile: readFileBytes });
    const after = await loadDiT(join(out, "model", "model.json"), { readFile: readFileBytes });
    expect(after.schedule).toEqual({ kind: "linear", T: 500 });
    const a = before.dit.variables();
    const b = after.dit.variables();
    expect([...b.keys()]).toEqual([...a.keys()]);
    const seeded = createDiT(config, 0).variables();
    let toInit = 0;
    let toSeeded = 0;
    for (const [name, t] of a) {
      const got = b.get(name)!.dataSync();
      const want = t.dataSync();
      const other = seeded.get(name)!.dataSync();
      for (let i = 0; i < want.length; i++) {
        toInit = Math.max(toInit, Math.abs(got[i] - want[i]));
        toSeeded = Math.max(toSeeded, Math.abs(got[i] - other[i]));
      }
    }
    expect(toInit).toBeLessThan(1e-6);
    expect(toSeeded).toBeGreaterThan(1e-2);
    for (const t of seeded.values()) t.dispose();
    before.dit.dispose();
    after.dit.dispose();

    // A DiT for other latents than the VAE makes: a typed error, exit 1. --override with --init: exit 2.
    const wide = createDiT({ ...config, latentChannels: 8 }, 1);
    await writeModelDir(join(dir, "wide"), modelExport("dit", wide, 1));
    wide.dispose();
    const mismatch = await run(process.execPath, [
      ...args.map((a) => (a === out ? join(dir, "wide-run") : a)),
      "--init",
      join(dir, "wide"),
    ]).catch((e) => e);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/^error\[WEIGHTS_MISMATCH\]: .*16x16x8 latents, but the VAE .* makes 16x16x4/m);
    const both = await run(process.execPath, [
      ...args.map((a) => (a === out ? join(dir, "both") : a)),
      "--init",
      join(dir, "init"),
      "--override",
      TINY_DIT,
    ]).catch((e) => e);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--override cannot change it/);
    const nothing = await run(process.execPath, [
      ...args.map((a) => (a === out ? join(dir, "none") : a)),
      "--init",
      join(dir, "data"),
    ]).catch((e) => e);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/holds no DiT model/);
  });

  it("refuses a dataset whose shard was damaged: error[DATASET_CORRUPT] naming the shard, and no run folder", async () => {
    const data = join(dir, "damaged");
    const manifest = await buildDataset(
      new DirectoryDatasetStore(data),
      gameEpisodeSources({ seed: 2, episodes: 2, frames: 4 }),
      { heldoutFraction: 0 },
    );
    const shard = join(data, manifest.shards[0].file);
    const bytes = await readFile(shard);
    // Four bytes in the middle of the shard, as a flaky disk or a stray write would leave them.
    bytes.writeUInt32LE(0xdeadbeef, bytes.length >> 1);
    await writeFile(shard, bytes);
    const out = join(dir, "damaged-run");
    const failed = await run(process.execPath, [
      "--import",
      "tsx",
      "cli/train.ts",
      "--data",
      data,
      "--model",
      "vae",
      "--out",
      out,
      "--steps",
      "2",
    ]).catch((e) => e);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /^error\[DATASET_CORRUPT\]: Shard "shard-0000\.bin" of the dataset in .*damaged is damaged: .* rebuild it \(`npm run dataset/m,
    );
    expect(existsSync(out)).toBe(false);
  });

  it("rejects bad flags and settings that contradict the run with exit status 2", async () => {
    const bad = await run(process.execPath, [
      "--import",
      "tsx",
      "cli/train.ts",
      "--out",
      join(dir, "x"),
      "--steps",
      "0",
    ]).catch((e) => e);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error\[CLI_BAD_FLAG\]: --steps must be a whole number >= 1/);
    const clash = await run(process.execPath, [
      "--import",
      "tsx",
      "cli/train.ts",
      "--out",
      join(dir, "run"),
      "--steps",
      "5",
      "--batch",
      "7",
    ]).catch((e) => e);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/is a run with batch = 4/);
  });
});
