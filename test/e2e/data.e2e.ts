// Data exploration page: generating episodes, picking another seed or agent, scrubbing frames and
// uploading action logs all change what is drawn; a bad log gets a plain-language message and
// no console error; axe finds nothing; screenshots are saved.
import type { Page } from "playwright-core";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodePatternClip, PATTERN_CLIPS } from "../fixtures/make-fixtures.js";
import { e2e, expectNoAxeViolations, fillInput, settled } from "./harness.js";

/** A checksum of every canvas in the frame strip, so any redrawn frame shows. */
async function stripChecksum(page: Page): Promise<number[]> {
  return page.locator("#frame-strip canvas").evaluateAll((canvases) =>
    (canvases as HTMLCanvasElement[]).map((c) => {
      const data = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      let s = 0;
      for (let i = 0; i < data.length; i += 5) s = (s + data[i] * (i % 9973)) % 1e12;
      return s;
    }),
  );
}

async function svgText(page: Page, selector: string): Promise<string> {
  return page.locator(`${selector} svg`).evaluateAll((els) => els.map((e) => e.innerHTML).join(""));
}

async function changed<T>(page: Page, read: () => Promise<T>, before: T, what: string, tries = 300): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const now = await read();
    if (JSON.stringify(now) !== JSON.stringify(before)) return now;
    await page.waitForTimeout(100);
  }
  throw new Error(`${what} did not change`);
}

async function generated(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const bar = document.querySelector<HTMLProgressElement>("#generate-progress");
      return (
        bar !== null &&
        bar.value === bar.max &&
        bar.max > 1 &&
        document.querySelectorAll("#frame-strip canvas").length > 0
      );
    },
    undefined,
    { timeout: 60_000 },
  );
  await settled(page);
}

/** The per-episode table's cells, row by row, once the table worker has answered with `rows` rows containing `text`. */
async function tableRows(page: Page, rows: number, text = ""): Promise<string[][]> {
  await page.waitForFunction(
    ([n, want]) => {
      const body = document.querySelector("#episodes-table tbody");
      return body !== null && body.querySelectorAll("tr").length === n && (body.textContent ?? "").includes(want);
    },
    [rows, text] as const,
    { timeout: 30_000 },
  );
  return page
    .locator("#episodes-table tbody tr")
    .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")));
}

function checkErrorsFree(errors: string[]): void {
  if (errors.length) throw new Error(`cells failed: ${errors.join(" | ")}`);
}

e2e(
  "data: built-in episodes redraw with seed, agent and frame; histograms and table follow",
  async (t) => {
    const page = await t.open("pages/data.html");
    await generated(page);
    checkErrorsFree(await page.locator(".observablehq--error").allTextContents());

    const strip0 = await stripChecksum(page);
    if (strip0.length !== 8) throw new Error(`expected a strip of 8 frames, got ${strip0.length}`);
    await tableRows(page, 2);
    const motionLines = await page.locator("#motion-plot svg path[stroke]").count();
    if (motionLines < 2) throw new Error(`expected a motion line per episode, got ${motionLines}`);
    await t.screenshot(page, "data-built-in");

    // Another seed: other levels, so other frames and other action counts.
    const movement0 = await svgText(page, "#movement-histogram");
    const camera0 = await svgText(page, "#camera-histogram");
    await fillInput(page, "Seed", 5);
    await changed(page, () => stripChecksum(page), strip0, "frame strip after a new seed");
    await generated(page);
    const strip1 = await stripChecksum(page);
    await changed(page, () => svgText(page, "#camera-histogram"), camera0, "camera histogram after a new seed");
    await tableRows(page, 2, "seed 5");

    // Scrubbing moves the strip's window, the outline and the timeline's cursor.
    const timeline0 = await svgText(page, "#timeline");
    await fillInput(page, "Frame", 60);
    await changed(page, () => stripChecksum(page), strip1, "frame strip after scrubbing");
    await changed(page, () => svgText(page, "#timeline"), timeline0, "timeline cursor after scrubbing");
    const selected = await page.locator("#frame-strip figure.selected canvas").getAttribute("data-index");
    if (selected !== "60") throw new Error(`frame 60 is not outlined (outlined: ${selected})`);
    const explorerAt60 = await stripChecksum(page);

    // Another agent plays differently: other movement counts and, by frame 60, other frames.
    const movement1 = await svgText(page, "#movement-histogram");
    await page.getByLabel("Agent", { exact: true }).selectOption({ label: "wall" });
    await changed(
      page,
      () => svgText(page, "#movement-histogram"),
      movement1,
      "movement histogram after choosing the wall follower",
    );
    await generated(page);
    if ((await svgText(page, "#movement-histogram")) === movement0)
      throw new Error("movement histogram equals the first one");
    await fillInput(page, "Frame", 60);
    await page.locator("#frame-strip figure.selected canvas[data-index='60']").waitFor();
    if (JSON.stringify(await stripChecksum(page)) === JSON.stringify(explorerAt60))
      throw new Error("frames 57-64 did not change with the agent");

    // More episodes: more rows.
    await fillInput(page, "Episodes", 3);
    await page.waitForFunction(() => document.querySelectorAll("#episodes-table tbody tr").length === 3, undefined, {
      timeout: 60_000,
    });
    await generated(page);
    await expectNoAxeViolations(page);
    await t.screenshot(page, "data-wall-follower");
  },
  { timeoutMs: 180_000 },
);

const GOOD_CSV = [
  "frame,forward,back,left,right,yaw,pitch,interaction",
  ...Array.from(
    { length: 40 },
    (_, f) =>
      `${f},${f < 20 ? 1 : 0},0,${f >= 30 ? 1 : 0},0,${(f % 10) / 10 - 0.5},0,${f === 25 ? "use" : f === 35 ? "jump" : "none"}`,
  ),
].join("\n");

e2e("data: an uploaded action log shows in the timeline; a bad one gets a plain-language error", async (t) => {
  const page = await t.open("pages/data.html");
  await settled(page);
  await page.getByRole("radio", { name: "Upload a video and/or an action log" }).check();
  const input = page.getByLabel("Action log (JSON or CSV)", { exact: true });
  await input.waitFor();

  await input.setInputFiles({ name: "walk.csv", mimeType: "text/csv", buffer: Buffer.from(GOOD_CSV) });
  await page.waitForFunction(
    () => document.querySelector("#timeline .action-timeline")?.getAttribute("data-frames") === "40",
    undefined,
    { timeout: 30_000 },
  );
  await settled(page);
  // 20 frames of forward and 10 of left, drawn as raster cells; one use and one jump mark.
  const cells = await page
    .locator("#timeline .action-timeline svg")
    .first()
    .locator("rect[fill='#3b6fb6'], g[fill='#3b6fb6'] rect")
    .count();
  if (cells !== 30) throw new Error(`expected 30 held-key cells, got ${cells}`);
  // Rolled up by arquero in the table worker: 30 of 40 actions move, one use, one jump, no video.
  const [walk] = await tableRows(page, 1, "walk.csv");
  const expected = ["walk.csv", "0", "40", "75%", "0.250", "0.000", "1", "1", "no frames"];
  if (JSON.stringify(walk) !== JSON.stringify(expected))
    throw new Error(`table row ${JSON.stringify(walk)}, expected ${JSON.stringify(expected)}`);
  const uses = await page.locator("#interaction-histogram svg").getAttribute("aria-label");
  if (!/use 1, jump 1/.test(uses ?? "")) throw new Error(`interaction histogram does not count the log: ${uses}`);
  await expectNoAxeViolations(page);
  await t.screenshot(page, "data-upload-log");

  // A camera value out of range: the page says which frame and field, and logs no console error.
  const bad = GOOD_CSV.replace("\n3,1,0,0,0,-0.2,0,none", "\n3,1,0,0,0,7,0,none");
  await input.setInputFiles({ name: "bad.csv", mimeType: "text/csv", buffer: Buffer.from(bad) });
  const alert = page.locator("#upload-error[role=alert]");
  await alert.waitFor({ timeout: 30_000 });
  const text = (await alert.textContent()) ?? "";
  if (!/could not be used/.test(text) || !/frame 3/.test(text) || !/yaw/.test(text) || !/out of range/.test(text))
    throw new Error(`unclear error: ${text}`);
  await input.setInputFiles({ name: "notes.json", mimeType: "application/json", buffer: Buffer.from("{not json") });
  await page.waitForFunction(
    () => /not valid JSON/.test(document.querySelector("#upload-error")?.textContent ?? ""),
    undefined,
    { timeout: 30_000 },
  );
  await settled(page);
  if (t.problems().length) throw new Error(`bad uploads caused problems: ${t.problems().join(" | ")}`);
  await expectNoAxeViolations(page);
  await t.screenshot(page, "data-upload-error");
});

e2e(
  "data: an uploaded video fills the frame strip and motion; a fake video and a short log get plain-language errors",
  async (t) => {
    // Only the fixtures this test needs: a 36-frame VP8 clip and a text file named .mp4.
    const dir = mkdtempSync(join(tmpdir(), "gamedream-data-"));
    try {
      const clip = PATTERN_CLIPS.vp8;
      const clipPath = join(dir, clip.file);
      await encodePatternClip(clipPath, clip);
      const fake = join(dir, "notes.mp4");
      writeFileSync(fake, "not a video\n".repeat(50));
      const page = await t.open("pages/data.html");
      await settled(page);
      await page.getByRole("radio", { name: "Upload a video and/or an action log" }).check();
      const video = page.getByLabel("Video (MP4 or WebM)", { exact: true });
      await video.setInputFiles(clipPath);
      await page.waitForFunction(() => document.querySelectorAll("#frame-strip canvas").length === 8, undefined, {
        timeout: 60_000,
      });
      await settled(page);
      const strip = await stripChecksum(page);
      if (new Set(strip).size < 2) throw new Error("the decoded frames all look the same");
      const rows = (await tableRows(page, 1, clip.file))[0];
      if (rows[1] !== String(clip.frames))
        throw new Error(`expected ${clip.frames} frames in the table, got ${rows.join(" | ")}`);
      if ((await page.locator("#motion-plot svg path[stroke]").count()) < 1)
        throw new Error("no motion line for the video");
      await expectNoAxeViolations(page);
      await t.screenshot(page, "data-upload-video");

      // A log 10 frames shorter than the video: the pairing error names both lengths.
      const log = [
        "frame,forward,back,left,right,yaw,pitch,interaction",
        ...Array.from({ length: clip.frames - 10 }, (_, f) => `${f},1,0,0,0,0,0,0`),
      ].join("\n");
      await page
        .getByLabel("Action log (JSON or CSV)", { exact: true })
        .setInputFiles({ name: "short.csv", mimeType: "text/csv", buffer: Buffer.from(log) });
      const alert = page.locator("#upload-error[role=alert]");
      await alert.waitFor({ timeout: 60_000 });
      const mismatch = (await alert.textContent()) ?? "";
      if (!mismatch.includes(String(clip.frames)) || !mismatch.includes(String(clip.frames - 10)))
        throw new Error(`mismatch error does not give both lengths: ${mismatch}`);

      // A text file named .mp4.
      await page.getByLabel("Action log (JSON or CSV)", { exact: true }).setInputFiles([]);
      await video.setInputFiles(fake);
      await page.waitForFunction(
        () => /not a video file/.test(document.querySelector("#upload-error")?.textContent ?? ""),
        undefined,
        { timeout: 60_000 },
      );
      await settled(page);
      if (t.problems().length) throw new Error(`bad uploads caused problems: ${t.problems().join(" | ")}`);
      await expectNoAxeViolations(page);
      await t.screenshot(page, "data-upload-fake-video");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  { timeoutMs: 180_000 },
);
