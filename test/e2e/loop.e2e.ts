// The whole loop in the tab, as a user meets it: record your own play of the built-in game as a
// dataset, fine-tune the shipped model on it, "Play this model", and play that run (its name shown,
// the dream answering keys, the choice kept across a reload; a mismatched VAE refused in plain
// words with no canvas). And a dream started from an uploaded video's first frames, shown alone
// with the reason. One browser context each, so IndexedDB carries from page to page; the harness
// fails the test on any request that leaves the site's origin.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Download, Page } from "playwright-core";
import { PATTERN_CLIPS, encodePatternClip } from "../fixtures/make-fixtures.js";
import { e2e, expectNoAxeViolations, fillInput, settled } from "./harness.js";

const frameOf = async (page: Page) => Number((await page.locator("#play-frame").getAttribute("data-frame")) ?? 0);
async function waitForFrames(page: Page, atLeast: number, timeout = 120_000): Promise<void> {
  await page.waitForFunction(
    (n) => Number(document.querySelector("#play-frame")?.getAttribute("data-frame") ?? 0) >= n,
    atLeast,
    { timeout, polling: 100 },
  );
}
/** Waits for `fn(arg)`; on timeout, says what the page showed. */
async function until<A>(
  page: Page,
  fn: (arg: A) => unknown,
  arg: A,
  what: string,
  shown: string[],
  timeout = 120_000,
): Promise<void> {
  try {
    await page.waitForFunction(fn as (arg: unknown) => unknown, arg as unknown, { timeout, polling: 200 });
  } catch {
    const text = await page.evaluate(
      (ids) => ids.map((s) => `${s}: ${document.querySelector(s)?.textContent ?? "-"}`).join(" | "),
      shown,
    );
    throw new Error(`timed out waiting for ${what}; the page shows ${text}`);
  }
}
const PLAY_SHOWN = [
  "#play-model-name",
  "#play-error",
  "#play-notices",
  "#record-dataset-status",
  "#record-dataset-count",
  "#play-start-why",
];
const TRAIN_SHOWN = ["#train-status", "#train-error", "#train-messages", "#play-links"];

/**
 * Holds the keys until the worker reports generating with `action` (its echo of the action it
 * applied), plays `frames` more frames, and checks the dream canvas changed meanwhile.
 */
async function dreamAnswers(page: Page, keys: string[], action: string, frames: number): Promise<void> {
  const before = await page.locator("#play-dream").screenshot();
  await page.locator("h1").click();
  for (const key of keys) await page.keyboard.down(key);
  await page.waitForFunction((a) => document.querySelector("#play-action")?.textContent === a, action, {
    timeout: 30_000,
  });
  await waitForFrames(page, (await frameOf(page)) + frames);
  for (const key of keys) await page.keyboard.up(key);
  const after = await page.locator("#play-dream").screenshot();
  if (before.equals(after)) throw new Error(`the dream did not redraw while ${keys.join("+")} was held`);
}

e2e(
  "loop: record 60+ frames of your own play, fine-tune the shipped model on them, Play this model, reload keeps it",
  async (t) => {
    const context = await t.newContext({ serviceWorkers: "block" });

    // 1. Record your own play on the Play page.
    const play = await t.open("pages/play.html", { context });
    await settled(play, 120_000);
    await waitForFrames(play, 3);
    await fillInput(play, "Dataset name", "loop-data");
    await play.click("#record-dataset");
    await play.locator("h1").click();
    await play.keyboard.down("KeyW");
    await play.keyboard.down("KeyJ");
    await until(
      play,
      () =>
        Number(
          /(\d+) frames recorded/.exec(document.querySelector("#record-dataset-count")?.textContent ?? "")?.[1] ?? 0,
        ) >= 40,
      undefined,
      "40 recorded frames",
      PLAY_SHOWN,
    );
    await play.keyboard.up("KeyJ");
    await play.keyboard.down("KeyL");
    await until(
      play,
      () =>
        Number(
          /(\d+) frames recorded/.exec(document.querySelector("#record-dataset-count")?.textContent ?? "")?.[1] ?? 0,
        ) >= 66,
      undefined,
      "66 recorded frames",
      PLAY_SHOWN,
    );
    await play.keyboard.up("KeyL");
    await play.keyboard.up("KeyW");
    await play.click("#record-dataset");
    await until(
      play,
      () => document.querySelector<HTMLElement>("#record-dataset-status")?.dataset.saved === "loop-data",
      undefined,
      "the recording to be saved",
      PLAY_SHOWN,
    );
    const saved = (await play.locator("#record-dataset-status").textContent()) ?? "";
    const frames = Number(/Saved (\d+) frames/.exec(saved)?.[1]);
    if (!(frames >= 60)) throw new Error(`the recording saved ${frames} frames: ${saved}`);
    t.log(saved);

    // 2. Train a few steps on it, from the shipped weights, on the Training page the status links to.
    await Promise.all([
      play.waitForURL(/train\.html\?data=loop-data/),
      play.getByRole("link", { name: "the Training page" }).click(),
    ]);
    const train = play;
    await settled(train, 120_000);
    const source = await train.getByRole("radio", { name: /A dataset stored in this browser/ }).isChecked();
    const chosen = await train
      .getByLabel("Stored dataset", { exact: true })
      .evaluate((el: HTMLSelectElement) => el.selectedOptions[0]?.text ?? "");
    if (!source || !chosen.startsWith("loop-data ("))
      throw new Error(`the Training page did not preselect the recording (stored: ${source}, dataset: ${chosen})`);
    await fillInput(train, "Run name", "loop-run");
    await fillInput(train, "Batch size", "1");
    await fillInput(train, "Clip length (DiT)", "3");
    await fillInput(train, "Checkpoint every N steps", "2");
    await fillInput(train, "Preview every N steps (0: never)", "2");
    await fillInput(train, "Train until step", "4");
    await train.click("#train-start");
    await until(
      train,
      () =>
        /Run “loop-run” \(step 4, trained on dataset “loop-data”\)/.test(
          document.querySelector("#play-links")?.textContent ?? "",
        ),
      undefined,
      "the trained run listed with Play this model",
      TRAIN_SHOWN,
      300_000,
    );
    const messages = (await train.locator("#train-messages").textContent()) ?? "";
    if (!/shipped pretrained world model/.test(messages))
      t.log(`note: the run did not start from the shipped weights: ${messages}`);
    await until(
      train,
      () => document.querySelectorAll("#preview-script canvas").length === 20,
      undefined,
      "the action-script preview (10 real, 10 dream frames)",
      TRAIN_SHOWN,
      120_000,
    );
    const caption = (await train.locator("#preview-script p").first().textContent()) ?? "";
    if (!/turn left.*turn right/.test(caption))
      throw new Error(`the action-script preview does not say what it plays: ${caption}`);
    await expectNoAxeViolations(train);
    await t.screenshot(train, "loop-train");

    // 3. Play this model.
    await Promise.all([
      train.waitForURL(/play\.html\?run=loop-run/),
      train.getByRole("link", { name: "Play this model: run loop-run" }).click(),
    ]);
    const mine = train;
    await settled(mine, 120_000);
    await until(
      mine,
      () => document.querySelector("#play-model-name")?.textContent === "run “loop-run”",
      undefined,
      "the run's name",
      PLAY_SHOWN,
    );
    await waitForFrames(mine, 3);
    await dreamAnswers(mine, ["KeyJ"], "turn left", 15);
    await dreamAnswers(mine, ["KeyW", "KeyL"], "forward + turn right", 15);
    const described = (await mine.locator(".card").first().textContent()) ?? "";
    if (!/run “loop-run” \(DiT step 4/.test(described))
      throw new Error(`the page does not describe the run it plays: ${described}`);
    await expectNoAxeViolations(mine);
    await t.screenshot(mine, "loop-play");

    // 4. A reload keeps the choice.
    await mine.reload({ waitUntil: "load" });
    await settled(mine, 120_000);
    await until(
      mine,
      () => document.querySelector("#play-model-name")?.textContent === "run “loop-run”",
      undefined,
      "the run's name after a reload",
      PLAY_SHOWN,
    );
    await waitForFrames(mine, 3);
    await dreamAnswers(mine, ["KeyJ"], "turn left", 10);
    const selected = await mine
      .getByLabel("Model", { exact: true })
      .evaluate((el: HTMLSelectElement) => el.selectedOptions[0]?.text ?? "");
    if (!selected.startsWith("Run “loop-run”")) throw new Error(`after the reload the model picker shows ${selected}`);

    // A mismatched pair: the run learned the shipped VAE's latents, not an untrained VAE's.
    await mine.goto(new URL("pages/play.html?run=loop-run&vae=seeded", t.baseUrl + "/").href, { waitUntil: "load" });
    await settled(mine, 120_000);
    await until(
      mine,
      () => !document.querySelector<HTMLElement>("#play-error")?.hidden,
      undefined,
      "the mismatch error",
      PLAY_SHOWN,
    );
    const error = (await mine.locator("#play-error").textContent()) ?? "";
    if (!/do not belong together/.test(error) || /[A-Z]+_[A-Z]+/.test(error))
      throw new Error(`the mismatch is not explained in plain words: ${error}`);
    if (await mine.locator(".player").isVisible())
      throw new Error("the canvases are still shown for a pair that cannot play");
    t.log(error);
    await expectNoAxeViolations(mine);
  },
  { timeoutMs: 600_000 },
);

e2e(
  "loop: a dream starts from an uploaded video's first frames, shown alone with the reason",
  async (t) => {
    const context = await t.newContext({ serviceWorkers: "block" });
    const dir = mkdtempSync(join(tmpdir(), "gamedream-loop-"));
    try {
      const clip = PATTERN_CLIPS.vp8;
      const video = join(dir, clip.file);
      await encodePatternClip(video, clip);
      const data = await t.open("pages/data.html", { context });
      await settled(data);
      await data.getByRole("radio", { name: "Upload a video and/or an action log" }).check();
      await data.getByLabel("Video (MP4 or WebM)", { exact: true }).setInputFiles(video);
      const log = [
        "frame,forward,back,left,right,yaw,pitch,interaction",
        ...Array.from({ length: clip.frames }, (_, f) => `${f},1,0,0,0,${f % 2 ? 0.5 : 0},0,0`),
      ].join("\n");
      await data
        .getByLabel("Action log (JSON or CSV)", { exact: true })
        .setInputFiles({ name: "clip.csv", mimeType: "text/csv", buffer: Buffer.from(log) });
      await data.waitForFunction(
        () =>
          document.querySelectorAll("#frame-strip canvas").length > 0 && document.querySelector("#dataset-keep-save"),
        undefined,
        { timeout: 60_000 },
      );
      await fillInput(data, "Dataset name", "clip-data");
      await data.click("#dataset-keep-save");
      await until(
        data,
        () => document.querySelector<HTMLElement>("#dataset-keep-status")?.dataset.saved === "clip-data",
        undefined,
        "the upload to be saved",
        ["#dataset-keep-status", "#upload-error"],
      );
      t.log((await data.locator("#dataset-keep-status").textContent()) ?? "");

      // The stored dataset is a data source on the data page too, and exports as video + action log.
      await data.getByRole("radio", { name: "A dataset stored in this browser" }).check();
      await data.waitForFunction(
        () =>
          document.querySelectorAll("#frame-strip canvas").length > 0 &&
          document.querySelector("#dataset-export-video"),
        undefined,
        { timeout: 60_000 },
      );
      const downloads: Download[] = [];
      data.on("download", (d) => downloads.push(d));
      await data.click("#dataset-export-video");
      await until(
        data,
        () => /Saved clip-data\.webm/.test(document.querySelector("#dataset-keep-status")?.textContent ?? ""),
        undefined,
        "the video export",
        ["#dataset-keep-status"],
      );
      await data.waitForTimeout(500);
      const names = downloads.map((d) => d.suggestedFilename()).sort();
      const webm = downloads.find((d) => d.suggestedFilename().endsWith(".webm"));
      const header = webm ? readFileSync((await webm.path())!).subarray(0, 4) : Buffer.alloc(0);
      if (header.toString("hex") !== "1a45dfa3")
        throw new Error(`the exported video is not a WebM (starts with ${header.toString("hex")})`);
      if (names.join() !== "clip-data-actions.json,clip-data.webm")
        throw new Error(`the export gave ${names.join(", ")}`);

      const play = await t.open("pages/play.html?start=dataset:clip-data", { context });
      await settled(play, 120_000);
      await until(
        play,
        () => !document.querySelector<HTMLElement>("#play-start-why")?.hidden,
        undefined,
        "the reason the game is not shown",
        PLAY_SHOWN,
      );
      const why = (await play.locator("#play-start-why").textContent()) ?? "";
      if (!/dataset “clip-data”/.test(why) || !/no game to play beside it/.test(why))
        throw new Error(`the page does not say why only the dream shows: ${why}`);
      if (await play.locator("#play-real").isVisible())
        throw new Error("the real-game canvas is shown though there is no game");
      await waitForFrames(play, 3);
      await dreamAnswers(play, ["KeyW"], "forward", 10);
      await expectNoAxeViolations(play);
      await t.screenshot(play, "loop-play-from-video");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  { timeoutMs: 300_000 },
);
