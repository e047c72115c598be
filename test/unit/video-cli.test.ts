import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { actionsToCsv, decodeActions, type Action } from "../../src/lib/actions/index.js";
import { DatasetReader } from "../../src/lib/data/index.js";
import { DirectoryDatasetStore } from "../../src/lib/data/node.js";
import { RGB_FRAME_BYTES } from "../../src/lib/core/index.js";
import { encodePatternClip, readPattern } from "../fixtures/make-fixtures.js";

// One tsx start per CLI run costs ~1-2 s here, so this file runs the CLI three times only.
let dir: string;
const clip = {
  width: 320,
  height: 180,
  fps: 30,
  frames: 40,
  codecArgs: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
};
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gamedream-ingest-cli-"));
  await encodePatternClip(join(dir, "play.mp4"), clip);
  writeFileSync(join(dir, "fake.mp4"), "not a video\n");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ingest = (...args: string[]) => spawnSync("npx", ["tsx", "cli/ingest.ts", ...args], { encoding: "utf8" });
const yawLog = (n: number): Action[] =>
  Array.from({ length: n }, (_, k) => ({ movement: [0, 0, 0, k % 2], camera: [k / 100, 0], interaction: 0 }));

describe("npm run ingest", () => {
  it("writes a dataset the dataset reader opens, frames and actions aligned (60 Hz log, trimmed)", async () => {
    writeFileSync(join(dir, "log.csv"), actionsToCsv(yawLog(70)));
    const out = join(dir, "ds");
    const r = ingest(
      join(dir, "play.mp4"),
      "--actions",
      join(dir, "log.csv"),
      "--actions-fps",
      "60",
      "--mismatch",
      "trim",
      "--out",
      out,
    );
    expect(r.stderr).not.toMatch(/error\[/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ingest: .*frames=35/m);
    const reader = await DatasetReader.open(new DirectoryDatasetStore(out));
    const [episode] = reader.episodes();
    expect(episode).toMatchObject({ id: "play.mp4", source: "video", frameCount: 35 });
    const frames = await reader.readFrames(episode.id);
    const actions = decodeActions(await reader.readActions(episode.id));
    for (let i = 0; i < 35; i++) {
      expect(
        readPattern(
          frames.subarray(i * RGB_FRAME_BYTES, (i + 1) * RGB_FRAME_BYTES),
          clip.width,
          clip.height,
          "letterbox",
        ).index,
      ).toBe(i);
      // 60 Hz log: frame i's centre is at entry 2i + 1.
      expect(actions[i].camera[0]).toBeCloseTo((2 * i + 1) / 100, 5);
    }
  });

  it("refuses a length mismatch by default, and a fake video, with one error line and no dataset", () => {
    writeFileSync(join(dir, "short.json"), JSON.stringify(yawLog(20)));
    const out = join(dir, "bad");
    const mismatch = ingest(join(dir, "play.mp4"), "--actions", join(dir, "short.json"), "--out", out);
    expect(mismatch.status).toBe(1);
    expect(mismatch.stderr.trim().split("\n").at(-1)).toMatch(
      /^error\[ACTION_LENGTH_MISMATCH\]: .*20 entries.*40 frames/,
    );
    const fake = ingest(join(dir, "fake.mp4"), "--out", out);
    expect(fake.status).toBe(1);
    expect(fake.stderr.trim()).toMatch(
      /^error\[VIDEO_NOT_VIDEO\]: "fake.mp4" is not a video file: its contents look like text/,
    );
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });
});
