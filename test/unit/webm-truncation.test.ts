// A WebM cut short: the repair (used by the browser path) makes mediabunny read exactly the frames
// ffmpeg decodes (the Node path), one cluster or many; a whole file is left alone. The end-to-end
// outcome (VIDEO_TRUNCATED with the same count in Node and Chromium) is in
// test/unit/video-ingest-node.test.ts and test/e2e/ingest.e2e.ts.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ALL_FORMATS, BufferSource, EncodedPacketSink, Input } from "mediabunny";
import { afterAll, describe, expect, it } from "vitest";
import { repairTruncatedWebm } from "../../src/lib/video/index.js";

const dir = mkdtempSync(join(tmpdir(), "webm-cut-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function encode(name: string, frames: number, codec: "libvpx" | "libvpx-vp9"): Uint8Array {
  const path = join(dir, name);
  // Clusters of at most 1 s, so a long clip has several and only the last one is cut.
  execFileSync("ffmpeg", [
    "-v",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=s=160x120:r=30",
    "-frames:v",
    String(frames),
    "-c:v",
    codec,
    "-b:v",
    "300k",
    "-cluster_time_limit",
    "1000",
    path,
  ]);
  return readFileSync(path);
}

/** Frames ffmpeg decodes from `bytes` (what the Node ingestion path reads). */
function ffmpegFrames(bytes: Uint8Array, name: string): number {
  const path = join(dir, name);
  execFileSync("sh", ["-c", `cat > "${path}"`], { input: bytes });
  const out = execFileSync("ffprobe", [
    "-v",
    "error",
    "-count_frames",
    "-select_streams",
    "v:0",
    "-show_entries",
    "stream=nb_read_frames",
    "-of",
    "csv=p=0",
    path,
  ]).toString();
  return Number(out.trim());
}

async function repaired(bytes: Uint8Array): Promise<{ bytes: Uint8Array; repaired: boolean }> {
  const repair = await repairTruncatedWebm(async (a, b) => bytes.subarray(a, Math.min(b, bytes.length)), bytes.length);
  if (!repair) return { bytes, repaired: false };
  const out = new Uint8Array(repair.length);
  let at = 0;
  for (const p of repair.parts) {
    const chunk = p instanceof Uint8Array ? p : bytes.subarray(p[0], p[1]);
    out.set(chunk, at);
    at += chunk.length;
  }
  expect(at).toBe(repair.length);
  return { bytes: out, repaired: true };
}

/** Packets mediabunny (the browser path's demuxer) reads. */
async function mediabunnyPackets(bytes: Uint8Array): Promise<number> {
  const input = new Input({ source: new BufferSource(bytes), formats: ALL_FORMATS });
  const track = await input.getPrimaryVideoTrack();
  let n = 0;
  for await (const _ of new EncodedPacketSink(track!).packets()) n++;
  input.dispose();
  return n;
}

describe("truncated WebM", () => {
  const cases: [string, number, "libvpx" | "libvpx-vp9", number][] = [
    ["vp8 90 frames cut at 31%", 90, "libvpx", 0.31],
    ["vp8 90 frames cut at 77%", 90, "libvpx", 0.77],
    ["vp9 300 frames cut at 50% (several clusters)", 300, "libvpx-vp9", 0.5],
  ];
  for (const [title, frames, codec, fraction] of cases) {
    it(`${title}: the repaired file gives the frames ffmpeg decodes`, async () => {
      const whole = encode(`${codec}-${frames}.webm`, frames, codec);
      expect(await repaired(whole)).toMatchObject({ repaired: false });
      const cut = whole.subarray(0, Math.floor(whole.length * fraction));
      const want = ffmpegFrames(cut, `cut-${codec}-${frames}-${fraction}.webm`);
      expect(want).toBeGreaterThan(0);
      expect(want).toBeLessThan(frames);
      // Unrepaired, the demuxer trusts the declared sizes and loses the last cluster.
      expect(await mediabunnyPackets(cut)).toBeLessThan(want);
      const fixed = await repaired(cut);
      expect(fixed.repaired).toBe(true);
      expect(await mediabunnyPackets(fixed.bytes)).toBe(want);
    });
  }

  it("leaves files that are not a walkable WebM alone", async () => {
    const text = new TextEncoder().encode("not a video at all, just text");
    expect(await repairTruncatedWebm(async (a, b) => text.subarray(a, b), text.length)).toBeNull();
  });
});
