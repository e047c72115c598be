/**
 * The ingestion benchmark's input: a 10 s 640x360 H.264 clip of ffmpeg's test pattern at 30 fps,
 * made once per run in a temporary folder (nothing large is committed).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function makeIngestFixture(seconds = 10): string {
  const path = join(mkdtempSync(join(tmpdir(), "gamedream-bench-")), "bench-360p.mp4");
  execFileSync("ffmpeg", [
    "-hide_banner",
    "-loglevel",
    "error",
    "-f",
    "lavfi",
    "-i",
    `testsrc2=size=640x360:rate=30:duration=${seconds}`,
    "-c:v",
    "libx264",
    "-pix_fmt",
    "yuv420p",
    "-preset",
    "veryfast",
    "-y",
    path,
  ]);
  return path;
}
