// The attention page runs the DiT in the browser and redraws its maps when the query changes.
import { canvasHash, e2e, settled, waitForCanvasChange } from "./harness.js";

e2e("attention page: clicking a patch and changing the layer redraw the maps", async (t) => {
  const page = await t.open("pages/attention.html");
  await settled(page, 120_000);
  // The repository ships trained weights, so the page must be showing their attention.
  const source = await page.locator("#attention-model").textContent();
  if (!source?.includes("the shipped realtime weights"))
    throw new Error(`attention maps not from the shipped model: ${source}`);
  const spatial0 = await canvasHash(page, "#spatial-map");
  const temporal0 = await canvasHash(page, "#temporal-map");
  if (spatial0 === "missing" || temporal0 === "missing") throw new Error("attention maps not drawn");
  // Below the fold on an 800 px viewport with some font sets: a mouse click lands only in view.
  await page.locator("#spatial-map").scrollIntoViewIfNeeded();
  const box = (await page.locator("#spatial-map").boundingBox())!;
  await page.mouse.click(box.x + box.width * 0.1, box.y + box.height * 0.1);
  await waitForCanvasChange(page, "#spatial-map", spatial0);
  const rowValue = await page.getByLabel("Query patch row").first().inputValue();
  if (rowValue !== "0") throw new Error(`click did not select row 0 (got ${rowValue})`);
  const layer = page.getByLabel("Layer").first();
  await layer.fill("2");
  await layer.dispatchEvent("input");
  await waitForCanvasChange(page, "#temporal-map", temporal0);
  await t.screenshot(page, "attention");
});
