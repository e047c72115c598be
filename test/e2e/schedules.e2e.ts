// Noise schedules page: every control changes what is drawn (SVG paths, canvas pixels, table
// cells), axe finds nothing, and screenshots are saved.
import type { Page } from "playwright-core";
import { e2e, expectNoAxeViolations, fillInput, settled } from "./harness.js";

/** The `d` attributes of every line in a chart container. */
async function paths(page: Page, selector: string): Promise<string[]> {
  return page.locator(`${selector} svg path[stroke]`).evaluateAll((els) => els.map((e) => e.getAttribute("d") ?? ""));
}

/** A checksum of a canvas's pixels (sum of byte * position), enough to see that it was redrawn. */
async function canvasChecksum(page: Page, selector: string): Promise<number> {
  return page.locator(selector).evaluate((c: HTMLCanvasElement) => {
    const data = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    let s = 0;
    for (let i = 0; i < data.length; i += 7) s = (s + data[i] * (i % 9973)) % 1e12;
    return s;
  });
}

async function changed<T>(page: Page, read: () => Promise<T>, before: T, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const now = await read();
    if (JSON.stringify(now) !== JSON.stringify(before)) return now;
    await page.waitForTimeout(100);
  }
  throw new Error(`${what} did not change`);
}

e2e("noise schedules: kinds, T, zero-terminal-SNR, t and the comparison redraw", async (t) => {
  const page = await t.open("pages/noise-schedules.html");
  await settled(page);
  const errors = await page.locator(".observablehq--error").allTextContents();
  if (errors.length) throw new Error(`cells failed: ${errors.join(" | ")}`);

  // Four schedules overlaid in each chart.
  const logSnr0 = await paths(page, "#log-snr-plot");
  if (logSnr0.length < 4) throw new Error(`expected 4 log-SNR curves, found ${logSnr0.length}`);
  await t.screenshot(page, "schedules-default");

  // Dropping a kind removes its curve and changes the drawn paths.
  await page.getByRole("checkbox", { name: "Linear (DDPM)" }).uncheck();
  const logSnr1 = await changed(
    page,
    () => paths(page, "#log-snr-plot"),
    logSnr0,
    "log-SNR paths after unchecking linear",
  );
  if (logSnr1.length !== logSnr0.length - 1) throw new Error(`unchecking linear left ${logSnr1.length} curves`);
  await page.getByRole("checkbox", { name: "Linear (DDPM)" }).check();
  await changed(page, () => paths(page, "#log-snr-plot"), logSnr1, "log-SNR paths after checking linear again");

  // Zero terminal SNR bends the curves' ends and the terminal table shows -inf.
  const alpha0 = await paths(page, "#alpha-bar-plot");
  await page.getByLabel("Zero terminal SNR", { exact: true }).check();
  await changed(page, () => paths(page, "#alpha-bar-plot"), alpha0, "alpha-bar paths after zero terminal SNR");
  await page.getByLabel("Zero terminal SNR", { exact: true }).uncheck();

  // A per-kind parameter changes its own curve.
  const sigma0 = await paths(page, "#sigma-plot");
  await page.getByText("Parameters of each kind").click();
  await fillInput(page, "Cosine: offset s", 0.15);
  await changed(page, () => paths(page, "#sigma-plot"), sigma0, "sigma paths after changing cosine s");

  // Moving t re-noises the frame: the noised canvases' pixels change, the clean one does not.
  const clean0 = await canvasChecksum(page, "#noised-frames canvas >> nth=0");
  const noisy0 = await canvasChecksum(page, "#noised-frames canvas >> nth=1");
  await fillInput(page, "Timestep t / (T - 1)", 0.9);
  await changed(
    page,
    () => canvasChecksum(page, "#noised-frames canvas >> nth=1"),
    noisy0,
    "noised frame pixels after moving t",
  );
  const clean1 = await canvasChecksum(page, "#noised-frames canvas >> nth=0");
  if (clean1 !== clean0) throw new Error("the clean frame changed when only t moved");
  const captions = await page.locator("#noised-frames figcaption").allTextContents();
  if (captions.length !== 5) throw new Error(`expected the clean frame + 4 noised frames, got ${captions.join(" | ")}`);

  // The comparison section: another kind and resolution redraw the log-SNR variants and the table.
  const shift0 = await paths(page, "#shift-plot");
  const table0 = await page.locator("#terminal-table tbody").textContent();
  if (!table0?.includes("−∞")) throw new Error(`terminal table lacks -inf for zero terminal SNR: ${table0}`);
  await page.getByLabel("Schedule", { exact: true }).selectOption({ label: "Linear (DDPM)" });
  await changed(page, () => paths(page, "#shift-plot"), shift0, "shift plot after choosing linear");
  const shift1 = await paths(page, "#shift-plot");
  await page.getByLabel("Used at resolution", { exact: true }).selectOption({ label: "512" });
  await changed(page, () => paths(page, "#shift-plot"), shift1, "shift plot after choosing 512");
  const terminal = await canvasChecksum(page, "#terminal-frames canvas >> nth=0");
  await page.getByLabel("Schedule", { exact: true }).selectOption({ label: "EDM / Karras" });
  await changed(
    page,
    () => canvasChecksum(page, "#terminal-frames canvas >> nth=0"),
    terminal,
    "last-step frame after choosing karras",
  );

  // An invalid parameter set is reported in words, not thrown.
  await fillInput(page, "Linear (DDPM): beta start", 0.05);
  await fillInput(page, "Linear (DDPM): beta end", 0.001);
  await page.locator("#schedule-problems .schedule-error").first().waitFor();
  const problem = await page.locator("#schedule-problems").textContent();
  if (!/betaStart <= betaEnd/.test(problem ?? "")) throw new Error(`no plain-language problem shown: ${problem}`);

  await settled(page);
  await expectNoAxeViolations(page);
  await t.screenshot(page, "schedules-changed");
});
