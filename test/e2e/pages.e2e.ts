// Every page in dist/ loads without a console error, failed request or off-origin request,
// finishes rendering, passes axe (WCAG 2.1 AA) and leaves a screenshot in test-results/.
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { DIST_DIR } from "../../scripts/dist-dir.js";
import { e2e, expectNoAxeViolations, settled } from "./harness.js";

function htmlPages(dir: string, root = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name.startsWith("_") ? [] : htmlPages(path, root);
    return name.endsWith(".html") ? [relative(root, path)] : [];
  });
}

for (const path of htmlPages(DIST_DIR)) {
  e2e(`page ${path} loads cleanly, passes axe`, async (t) => {
    const page = await t.open(path);
    await settled(page);
    const errors = await page.locator(".observablehq--error").allTextContents();
    if (errors.length) throw new Error(`cells failed: ${errors.join(" | ")}`);
    await expectNoAxeViolations(page);
    await t.screenshot(page, `page-${path.replace(/\.html$/, "")}`);
  });
}

e2e("overview reports the backend and redraws when the input changes", async (t) => {
  const page = await t.open("index.html");
  await settled(page);
  const backend = await page.locator("#backend-name").textContent();
  if (!["wasm", "webgl", "webgpu", "cpu"].includes(backend ?? "")) throw new Error(`no backend shown: ${backend}`);
  const pathBefore = await page.locator("svg path[stroke]").first().getAttribute("d");
  const slider = page.getByLabel("Temperature").first();
  await slider.fill("3.5");
  await slider.dispatchEvent("input");
  await page.waitForFunction(
    (before) => document.querySelector("svg path[stroke]")?.getAttribute("d") !== before,
    pathBefore,
  );
  const override = await t.open("index.html?backend=cpu");
  await settled(override);
  const forced = await override.locator("#backend-name").textContent();
  if (forced !== "cpu") throw new Error(`?backend=cpu gave ${forced}`);
});

// Responsive down to a phone: nothing forces the page wider than the screen (wide content such as
// tables and frame strips scrolls inside its own box), and axe still passes.
for (const path of htmlPages(DIST_DIR)) {
  e2e(`page ${path} fits a phone screen (390x844)`, async (t) => {
    const page = await t.open(path, { viewport: { width: 390, height: 844 } });
    await settled(page);
    const { scrollWidth, innerWidth, widest } = await page.evaluate(() => {
      let widest = "";
      let max = 0;
      for (const el of document.querySelectorAll("#observablehq-main *")) {
        const r = el.getBoundingClientRect();
        if (r.right > max)
          [max, widest] = [
            r.right,
            `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${[...el.classList].join(".")}`,
          ];
      }
      return {
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
        widest: `${widest} (${Math.round(max)} px)`,
      };
    });
    if (scrollWidth > innerWidth + 1)
      throw new Error(`the page is ${scrollWidth} px wide on a ${innerWidth} px screen; widest: ${widest}`);
    await expectNoAxeViolations(page);
    await t.screenshot(page, `phone-${path.replace(/\.html$/, "")}`);
  });
}
