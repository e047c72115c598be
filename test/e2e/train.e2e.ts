// The training dashboard trains in its Web Worker: curves grow, pause stops the steps, resume
// restarts them, checkpoints appear in IndexedDB and can be exported, restored and deleted. Runs
// start from the shipped weights by default: the DiT fine-tunes them on the shipped VAE, or, when
// the shipped weights do not load (e.g. saved for an older architecture), the page says why in
// plain words and the run starts seeded. An uploaded video and its action log train too: the
// worker decodes and pairs them (src/lib/data/upload.ts, the Data page's path).
import type { Page } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodePatternClip, PATTERN_CLIPS } from "../fixtures/make-fixtures.js";
import { e2e, expectNoAxeViolations, fillInput, settled, waitFor } from "./harness.js";

const status = (page: Page) =>
  page.evaluate(() => {
    const el = document.querySelector<HTMLElement>("#train-status")!;
    return { state: el.dataset.state ?? "", step: Number(el.dataset.step ?? 0) };
  });
const lossPoints = (page: Page) =>
  page.evaluate(() => Number(document.querySelector<HTMLElement>("#chart-loss figure")?.dataset.points ?? -1));
/** Waits for `fn(arg)` in the page; on timeout says what the dashboard showed. */
async function until(
  page: Page,
  fn: (arg: number) => boolean,
  arg: number | undefined,
  what: string,
  timeout = 120_000,
): Promise<void> {
  try {
    await page.waitForFunction(fn as (arg: number | undefined) => boolean, arg, { timeout });
  } catch {
    const shown = await page.evaluate(() =>
      ["#train-status", "#train-error", "#train-messages", "#preview-frames", "#checkpoint-note"]
        .map((s) => `${s}: ${document.querySelector(s)?.textContent ?? "-"}`)
        .join(" | "),
    );
    throw new Error(`timed out waiting for ${what}; the page shows ${shown}`);
  }
}
/** The loss line tfjs-vis drew (SVG path data), once the chart with at least `points` points has rendered. */
async function lossLine(page: Page, points: number): Promise<string> {
  await until(
    page,
    (n) => {
      const figure = document.querySelector<HTMLElement>("#chart-loss figure");
      return Number(figure?.dataset.points ?? 0) >= n && figure?.dataset.rendered === "true";
    },
    points,
    `a rendered loss chart with ${points} points`,
    60_000,
  );
  return (await page.locator("#chart-loss g.mark-line path").first().getAttribute("d")) ?? "";
}
const checkpointRows = (page: Page) => page.locator("#checkpoint-table tbody tr").count();

e2e(
  "training dashboard: start, live curves, pause, resume, previews, checkpoints (export, restore, delete), overlay",
  async (t) => {
    const page = await t.open("pages/train.html");
    await settled(page, 120_000);
    const shipped = await page.getByLabel("Start from", { exact: true }).evaluate((el: HTMLSelectElement) => ({
      options: [...el.options].map((o) => o.text),
      value: el.selectedOptions[0]?.text,
    }));
    const shippedVae = await page
      .getByLabel("VAE for DiT latents", { exact: true })
      .evaluate((el: HTMLSelectElement) => el.selectedOptions[0]?.text);
    if (!shipped.options.some((o) => o.startsWith("shipped weights")))
      throw new Error(`"Start from" does not offer the shipped weights: ${shipped.options.join(", ")}`);
    if (!shipped.value?.startsWith("shipped weights") || !shippedVae?.startsWith("shipped weights")) {
      throw new Error(`the shipped weights are not the default start (model: ${shipped.value}, VAE: ${shippedVae})`);
    }
    await fillInput(page, "Run name", "e2e-run");
    await fillInput(page, "Episodes", "1");
    await fillInput(page, "Frames per episode", "16");
    await fillInput(page, "Batch size", "1");
    await fillInput(page, "Clip length (DiT)", "3");
    await fillInput(page, "Checkpoint every N steps", "3");
    await fillInput(page, "Preview every N steps (0: never)", "4");
    await fillInput(page, "Train until step", "400");
    await page.click("#train-start");

    // The run starts from the shipped weights, or says in plain words why it could not.
    const LOADED = /The DiT fine-tunes the shipped pretrained world model/;
    const FALLBACK = /Warning: The shipped weights [^\n]*The DiT starts from a seeded initialisation instead\./;
    await until(
      page,
      () =>
        /shipped pretrained world model|The DiT starts from a seeded initialisation/.test(
          document.querySelector("#train-messages")?.textContent ?? "",
        ),
      undefined,
      "the DiT's start to be reported",
      180_000,
    );
    const messages = await page.locator("#train-messages li").allTextContents();
    const text = messages.join("\n");
    if (LOADED.test(text)) {
      if (!/The VAE is the shipped pretrained one .*previews decode real frames/.test(text))
        throw new Error(`the DiT loaded the shipped weights but its VAE did not: ${text}`);
      t.log("started from the shipped weights");
    } else {
      const warning = messages.find((m) => FALLBACK.test(m));
      if (!warning) throw new Error(`neither a shipped start nor a plain-language fallback is shown: ${text}`);
      // Plain language: no error codes, stack traces or tensor names.
      if (/[A-Z]+_[A-Z]+|Error|at \w+ \(|blocks\.\d/.test(warning))
        throw new Error(`the fallback message is not plain language: ${warning}`);
      t.log(`shipped weights did not load; fallback shown: ${warning}`);
    }

    await waitFor(
      page,
      () => Number(document.querySelector<HTMLElement>("#chart-loss figure")?.dataset.points ?? 0) >= 2,
      120_000,
    );
    const before = await lossPoints(page);
    const pathBefore = await lossLine(page, before);
    if (!pathBefore) throw new Error("tfjs-vis drew no loss line");
    const pathAfter = await lossLine(page, before + 1);
    if (pathAfter === pathBefore) throw new Error("the loss curve's path did not change as points came in");
    for (const id of ["chart-lr", "chart-grad", "chart-ms"]) {
      if ((await page.locator(`#${id} g.mark-line path`).count()) === 0) throw new Error(`#${id} has no line`);
    }

    await page.click("#train-pause");
    await until(
      page,
      () => document.querySelector<HTMLElement>("#train-status")?.dataset.state === "paused",
      undefined,
      "the paused state",
      60_000,
    );
    const paused = (await status(page)).step;
    await page.waitForTimeout(3000);
    const still = (await status(page)).step;
    if (still !== paused) throw new Error(`steps went on while paused: ${paused} -> ${still}`);
    t.log(`paused at step ${paused}`);

    await page.click("#train-resume");
    await until(
      page,
      (n) => Number(document.querySelector<HTMLElement>("#train-status")?.dataset.step) > n + 1,
      paused,
      "steps after resume",
      60_000,
    );
    t.log(`resumed: step ${(await status(page)).step}`);

    await until(
      page,
      () => document.querySelectorAll("#preview-frames canvas").length === 8,
      undefined,
      "a preview of 4 real and 4 generated frames",
      120_000,
    );
    await until(
      page,
      () => document.querySelectorAll("#checkpoint-table tbody tr").length >= 2,
      undefined,
      "two checkpoints in the list",
      120_000,
    );
    await page.click("#train-stop");
    await until(
      page,
      () => document.querySelector<HTMLElement>("#train-status")?.dataset.state === "stopped",
      undefined,
      "the stopped state",
      60_000,
    );
    await settled(page);
    await expectNoAxeViolations(page);
    await t.screenshot(page, "train-dashboard");

    const rows = await checkpointRows(page);
    const [download] = await Promise.all([
      page.waitForEvent("download", { timeout: 60_000 }),
      page
        .locator("#checkpoint-table tbody tr")
        .last()
        .getByRole("button", { name: /^Export safetensors/ })
        .click(),
    ]);
    if (!download.suggestedFilename().endsWith(".safetensors"))
      throw new Error(`unexpected export name ${download.suggestedFilename()}`);
    const [tar] = await Promise.all([
      page.waitForEvent("download", { timeout: 60_000 }),
      page
        .locator("#checkpoint-table tbody tr")
        .last()
        .getByRole("button", { name: /^Export TensorFlow\.js/ })
        .click(),
    ]);
    if (!tar.suggestedFilename().endsWith(".tar")) throw new Error(`unexpected export name ${tar.suggestedFilename()}`);

    await page
      .locator("#checkpoint-table tbody tr")
      .first()
      .getByRole("button", { name: /^Restore/ })
      .click();
    await until(
      page,
      () => /as the new run/.test(document.querySelector("#checkpoint-note")?.textContent ?? ""),
      undefined,
      "the restore note",
      60_000,
    );
    const restored = /“(e2e-run-from-\d+)”/.exec((await page.textContent("#checkpoint-note")) ?? "")?.[1];
    if (!restored) throw new Error("restore did not name its new run");

    page.once("dialog", (d) => void d.accept());
    const doomed = await page.locator("#checkpoint-table tbody tr").first().getAttribute("data-checkpoint");
    await page
      .locator("#checkpoint-table tbody tr")
      .first()
      .getByRole("button", { name: /^Delete/ })
      .click();
    await until(
      page,
      (n) => document.querySelectorAll("#checkpoint-table tbody tr").length === n - 1,
      rows,
      "the deleted checkpoint to leave the list",
      60_000,
    );
    if (await page.locator(`#checkpoint-table tbody tr[data-checkpoint="${doomed}"]`).count())
      throw new Error(`${doomed} is still listed after delete`);

    await page.getByLabel("First run", { exact: true }).selectOption("e2e-run");
    await page.getByLabel("Second run", { exact: true }).selectOption(restored);
    await until(
      page,
      () =>
        Number(document.querySelector<HTMLElement>("#overlay figure")?.dataset.points ?? 0) > 0 &&
        document.querySelector<HTMLElement>("#overlay figure")?.dataset.rendered === "true",
      undefined,
      "the overlay chart",
      60_000,
    );
    const overlayLines = await page.locator("#overlay g.mark-line path").count();
    if (overlayLines < 2) throw new Error(`the overlay draws ${overlayLines} line(s), expected one per run`);
    const legend = await page.locator("#overlay").textContent();
    if (!legend?.includes(restored)) throw new Error("the overlay does not show the second run");
    await expectNoAxeViolations(page);
    await t.screenshot(page, "train-dashboard-overlay");
  },
  { timeoutMs: 420_000 },
);

e2e(
  "training dashboard: an uploaded video and its action log train, and the run says what it trained on",
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "gamedream-train-upload-"));
    try {
      const clip = PATTERN_CLIPS.vp8;
      const video = join(dir, clip.file);
      await encodePatternClip(video, clip);
      const log = [
        "frame,forward,back,left,right,yaw,pitch,interaction",
        ...Array.from({ length: clip.frames }, (_, f) => `${f},1,0,0,0,${f % 2 ? 0.5 : 0},0,0`),
      ].join("\n");
      const page = await t.open("pages/train.html");
      await settled(page, 120_000);
      await page.getByRole("radio", { name: "Uploaded video and action log" }).check();
      await page.getByLabel("Video (MP4 or WebM)", { exact: true }).setInputFiles(video);
      await page
        .getByLabel("Action log (JSON or CSV)", { exact: true })
        .setInputFiles({ name: "clip.csv", mimeType: "text/csv", buffer: Buffer.from(log) });
      await fillInput(page, "Run name", "upload-run");
      await fillInput(page, "Batch size", "1");
      await fillInput(page, "Clip length (DiT)", "3");
      await fillInput(page, "Checkpoint every N steps", "2");
      await fillInput(page, "Preview every N steps (0: never)", "0");
      await fillInput(page, "Train until step", "2");
      await page.click("#train-start");
      await until(
        page,
        () =>
          /Run “upload-run” \(step 2, trained on vp8-320x240-30fps\.webm\)/.test(
            document.querySelector("#play-links")?.textContent ?? "",
          ),
        undefined,
        "the run trained on the upload",
        300_000,
      );
      if (t.problems().length) throw new Error(`training on an upload caused problems: ${t.problems().join(" | ")}`);
      await expectNoAxeViolations(page);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  { timeoutMs: 420_000 },
);
