// The attention page runs the DiT in the browser and redraws its maps when the query changes.
import { e2e } from "./harness.js";
import { settled } from "./harness.js";

async function canvasHash(page: import("playwright-core").Page, selector: string): Promise<string> {
  return page.evaluate((sel) => {
    const c = document.querySelector(sel) as HTMLCanvasElement | null;
    if (!c) return "missing";
    const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    let h = 2166136261;
    for (let i = 0; i < d.length; i += 7) h = Math.imul(h ^ d[i], 16777619);
    return String(h >>> 0);
  }, selector);
}

e2e("attention page: clicking a patch and changing the layer redraw the maps", async (t) => {
  const page = await t.open("pages/attention.html");
  await settled(page, 120_000);
  const spatial0 = await canvasHash(page, "#spatial-map");
  const temporal0 = await canvasHash(page, "#temporal-map");
  if (spatial0 === "missing" || temporal0 === "missing") throw new Error("attention maps not drawn");
  const box = (await page.locator("#spatial-map").boundingBox())!;
  await page.mouse.click(box.x + box.width * 0.1, box.y + box.height * 0.1);
  await page.waitForFunction((h) => {
    const c = document.querySelector("#spatial-map") as HTMLCanvasElement;
    const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    let x = 2166136261;
    for (let i = 0; i < d.length; i += 7) x = Math.imul(x ^ d[i], 16777619);
    return String(x >>> 0) !== h;
  }, spatial0);
  const rowValue = await page.getByLabel("Query patch row").first().inputValue();
  if (rowValue !== "0") throw new Error(`click did not select row 0 (got ${rowValue})`);
  const layer = page.getByLabel("Layer").first();
  await layer.fill("2");
  await layer.dispatchEvent("input");
  await page.waitForFunction((h) => {
    const c = document.querySelector("#temporal-map") as HTMLCanvasElement;
    const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    let x = 2166136261;
    for (let i = 0; i < d.length; i += 7) x = Math.imul(x ^ d[i], 16777619);
    return String(x >>> 0) !== h;
  }, temporal0);
  await t.screenshot(page, "attention");
});
