// The reports page shows exactly the numbers of the JSON its data loaders wrote, plots them, and
// says so plainly where there is nothing yet (no shipped run, no eval, no benchmarks).
import type { Page } from "playwright-core";
import { e2e, expectNoAxeViolations, settled } from "./harness.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- report.json and eval.json are read as loose JSON
type Json = Record<string, any>;

/** The exact value and text of the cell `key` in the row whose header is `row`. */
async function cell(page: Page, table: string, row: string, key: string): Promise<{ value: number; text: string }> {
  return page.evaluate(
    ([table, row, key]) => {
      const tr = [...document.querySelectorAll(`${table} tbody tr`)].find(
        (r) => r.querySelector("th")?.textContent === row,
      );
      const td = tr?.querySelector<HTMLElement>(`[data-key="${key}"]`);
      if (!td) throw new Error(`no ${key} cell in row "${row}" of ${table}`);
      return { value: Number(td.dataset.value), text: td.textContent ?? "" };
    },
    [table, row, key] as const,
  );
}

function expectCell(got: { value: number; text: string }, want: number, text: string, what: string): void {
  if (got.value !== want) throw new Error(`${what}: the page holds ${got.value}, the JSON ${want}`);
  if (got.text !== text) throw new Error(`${what}: the page shows "${got.text}", expected "${text}"`);
}

e2e("reports page: tables equal the loaders' JSON, plots and strip present (or a plain 'nothing yet')", async (t) => {
  const context = await t.newContext();
  // Note which report files the page requests, then read the same URLs from the server: bodies
  // of responses a service worker answers are not always available to Playwright.
  const urls: Record<string, string> = {};
  context.on("request", (req) => {
    const m = /\/(training-report|eval-report|bench-history)\.[^/]*json$/.exec(new URL(req.url()).pathname);
    if (m) urls[m[1]] = req.url();
  });
  const page = await t.open("pages/reports.html", { context });
  await settled(page, 120_000);
  const loaded: Record<string, Json> = {};
  for (const [name, url] of Object.entries(urls)) loaded[name] = await (await fetch(url)).json();
  const training = loaded["training-report"];
  const evals = loaded["eval-report"];
  const bench = loaded["bench-history"] as unknown as Json[];
  if (!training || !evals || !bench)
    throw new Error(`the page did not load every report (${Object.keys(loaded).join(", ")})`);

  if ((await page.textContent("#training-status")) !== training.message)
    throw new Error("the training status differs from the report's message");
  if (training.available) {
    for (const p of training.phases) {
      const row = String(p.label);
      // A phase that reused trained weights (a VAE passed with --vae) has no losses: shown as "–".
      const check = async (key: string, text: (v: number) => string) => {
        if (typeof p[key] === "number")
          return expectCell(await cell(page, "#training-table", row, key), p[key], text(p[key]), `${row} ${key}`);
        const shown = await page.evaluate(
          ([row, key]) =>
            [...document.querySelectorAll("#training-table tbody tr")]
              .find((r) => r.querySelector("th")?.textContent === row)
              ?.querySelector(`[data-key="${key}"]`)?.textContent,
          [row, key] as const,
        );
        if (shown !== "–") throw new Error(`${row} ${key}: the JSON has none, the page shows "${shown}"`);
      };
      await check("steps", (v) => String(Math.round(v)));
      await check("finalLoss", (v) => v.toFixed(4));
      await check("firstLoss", (v) => v.toFixed(4));
    }
    if (training.curve.length && (await page.locator("#training-curves svg path").count()) === 0)
      throw new Error("no training curve drawn");
    t.log(`training: ${training.phases.map((p: Json) => `${p.model} ${p.steps} steps`).join(", ")}`);
  } else if (await page.locator("#training-table").count()) throw new Error("a training table without a report");

  const quality = evals.reports[0] ?? training.heldout;
  if (quality) {
    const rows: [string, string, string][] = [
      ["next frame (model)", "nextFramePsnr", "nextFrameSsim"],
      ["copy last frame (baseline)", "copyLastFramePsnr", "copyLastFrameSsim"],
      ["shuffled actions (baseline)", "shuffledActionsPsnr", "shuffledActionsSsim"],
      ["VAE reconstruction (ceiling)", "vaeReconPsnr", "vaeReconSsim"],
      ...(quality.repeatPreviousActionPsnr !== undefined
        ? ([
            ["previous action repeated (baseline)", "repeatPreviousActionPsnr", ""],
            ["mean over random actions (baseline)", "randomActionsMeanPsnr", ""],
          ] as [string, string, string][])
        : []),
    ];
    for (const [row, psnr, ssim] of rows) {
      expectCell(
        await cell(page, "#quality-table", row, "psnr"),
        quality[psnr],
        quality[psnr].toFixed(2),
        `${row} PSNR`,
      );
      if (typeof quality[ssim] === "number")
        expectCell(
          await cell(page, "#quality-table", row, "ssim"),
          quality[ssim],
          quality[ssim].toFixed(3),
          `${row} SSIM`,
        );
    }
    if (quality.rollout && (await page.locator("#rollout-plots svg").count()) < 2)
      throw new Error("rollout plots missing");
    if (quality.actionControl) {
      const c = quality.actionControl;
      expectCell(
        await cell(page, "#control-table", "all", "S"),
        c.sensitivity.value,
        c.sensitivity.value.toFixed(3),
        "S",
      );
      expectCell(
        await cell(page, "#control-table", "all", "D"),
        c.discrimination.value,
        c.discrimination.value.toFixed(2),
        "D",
      );
      for (const factor of Object.keys(c.perFactor))
        expectCell(
          await cell(page, "#control-table", factor, "S"),
          c.perFactor[factor].sensitivity.value,
          c.perFactor[factor].sensitivity.value.toFixed(3),
          `S ${factor}`,
        );
      t.log(`action control: S ${c.sensitivity.value}, D ${c.discrimination.value} dB`);
    } else if (!/not measured yet/.test((await page.textContent("#control-status")) ?? ""))
      throw new Error("no plain 'not measured yet' note for action control");
    t.log(`quality: next frame ${quality.nextFramePsnr} dB vs copy ${quality.copyLastFramePsnr} dB`);
  } else if (!/No evaluation yet/.test((await page.textContent("#quality-status")) ?? ""))
    throw new Error("no plain 'no evaluation yet' note");

  const stripWidth = await page.evaluate(
    () => document.querySelector<HTMLImageElement>("#strip-figure img")?.naturalWidth ?? 0,
  );
  if (training.weights.vae && training.weights.dit) {
    if (stripWidth <= 1 && !(await page.locator("#strip-status").count()))
      throw new Error("weights exist but neither a strip nor a reason is shown");
  } else if (!/No shipped run yet/.test((await page.textContent("#strip-status")) ?? ""))
    throw new Error("no 'no shipped run yet' note for the strip");
  t.log(`strip: ${stripWidth > 1 ? `${stripWidth} px wide` : "none"}`);
  const branchWidth = await page.evaluate(
    () => document.querySelector<HTMLImageElement>("#branch-figure img")?.naturalWidth ?? 0,
  );
  if (
    training.weights.vae &&
    training.weights.dit &&
    branchWidth <= 1 &&
    !(await page.locator("#branch-status").count())
  )
    throw new Error("weights exist but neither a branch figure nor a reason is shown");
  if (training.sensitivity?.length && (await page.locator("#sensitivity-curve svg path").count()) === 0)
    throw new Error("no S curve drawn");

  if (bench.length === 0 && !/No committed benchmark/.test((await page.textContent("#bench-status")) ?? ""))
    throw new Error("no 'no benchmarks' note");
  if (bench.length && (await page.locator("#bench-table tbody tr").count()) === 0)
    throw new Error("benchmark rows missing");

  await expectNoAxeViolations(page);
  await t.screenshot(page, "reports");
});
