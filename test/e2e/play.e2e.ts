// The live play page: input reaches the world model in its worker, the dream redraws, the meter
// measures, exports are real files (ffprobe reads the WebM), and play survives a lost WebGL context.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { e2e, expectNoAxeViolations, settled } from "./harness.js";

async function frameIndex(page: Page): Promise<number> {
  return Number((await page.locator("#play-frame").getAttribute("data-frame")) ?? 0);
}

async function waitForFrames(page: Page, atLeast: number, timeoutMs = 90_000): Promise<void> {
  await page.waitForFunction(
    (n) => Number(document.querySelector("#play-frame")?.getAttribute("data-frame") ?? 0) >= n,
    atLeast,
    { timeout: timeoutMs, polling: 100 },
  );
}

async function download(page: Page, selector: string, dir: string): Promise<string> {
  const pending = page.waitForEvent("download");
  await page.click(selector);
  const file = await pending;
  const path = join(dir, file.suggestedFilename());
  await file.saveAs(path);
  return path;
}

e2e(
  "play page: key presses reach the world model as actions, the dream redraws, the meter measures",
  async (t) => {
    const page = await t.open("pages/play.html");
    await settled(page, 120_000);
    await waitForFrames(page, 30);
    const dreamBefore = await page.locator("#play-dream").screenshot();
    // Hold W (forward), then the right arrow (strafe right); the worker echoes the action it applied.
    await page.locator("h1").click();
    await page.keyboard.down("w");
    await page.waitForFunction(() => document.querySelector("#play-action")?.textContent === "forward", undefined, {
      timeout: 10_000,
    });
    await waitForFrames(page, (await frameIndex(page)) + 20);
    await page.keyboard.up("w");
    await page.keyboard.down("ArrowRight");
    await page.waitForFunction(() => document.querySelector("#play-action")?.textContent === "right", undefined, {
      timeout: 10_000,
    });
    await waitForFrames(page, (await frameIndex(page)) + 10);
    await page.keyboard.up("ArrowRight");
    await page.waitForFunction(() => document.querySelector("#play-action")?.textContent === "none", undefined, {
      timeout: 10_000,
    });
    const dreamAfter = await page.locator("#play-dream").screenshot();
    if (dreamBefore.equals(dreamAfter)) throw new Error("the dream canvas did not change while playing");

    // The action log comes from the worker's session: the frames it generated with each key held.
    const dir = mkdtempSync(join(tmpdir(), "play-e2e-"));
    try {
      const log = JSON.parse(readFileSync(await download(page, "#play-download-actions", dir), "utf8")) as {
        frame: number;
        movement: number[];
      }[];
      const forward = log.filter((a) => a.movement.join() === "1,0,0,0").length;
      const right = log.filter((a) => a.movement.join() === "0,0,0,1").length;
      if (forward < 20 || right < 10)
        throw new Error(
          `the worker's action log has ${forward} forward and ${right} strafe-right frames of ${log.length}`,
        );
      if (log.some((a, i) => a.frame !== i)) throw new Error("action log frames are not 0..N-1");
      t.log(`action log: ${log.length} frames, ${forward} forward, ${right} right`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    // Let the meter settle at rest, then read it.
    await waitForFrames(page, (await frameIndex(page)) + 60);
    const fpsText = (await page.locator("#play-fps").textContent()) ?? "";
    const msText = (await page.locator("#play-ms").textContent()) ?? "";
    const fps = Number(fpsText.match(/^(\d+) FPS$/)?.[1]);
    const ms = Number(msText.match(/^([\d.]+) ms\/frame$/)?.[1]);
    if (!(fps > 0) || !(ms > 0)) throw new Error(`the meter shows "${fpsText}" and "${msText}"`);
    const backend = await page.locator(".card code").first().textContent();
    t.log(`meter (${backend}, realtime preset): ${fps} FPS, ${ms} ms/frame dream`);
    await expectNoAxeViolations(page);
    await t.screenshot(page, "play");
  },
  { timeoutMs: 240_000 },
);

e2e(
  "play page: the recorded WebM is playable (ffprobe), PNG frames are a PNG",
  async (t) => {
    const page = await t.open("pages/play.html");
    await settled(page, 120_000);
    await waitForFrames(page, 5);
    await page.click("#play-record");
    await page.locator("h1").click();
    await page.keyboard.down("l");
    await waitForFrames(page, (await frameIndex(page)) + 40);
    await page.keyboard.up("l");
    await page.click("#play-record");
    await page.waitForFunction(
      () => /^Recorded \d+ frames/.test(document.querySelector("#play-record-info")?.textContent ?? ""),
      undefined,
      { timeout: 20_000 },
    );
    const info = (await page.locator("#play-record-info").textContent()) ?? "";
    const recorded = Number(info.match(/^Recorded (\d+)/)?.[1]);
    const dir = mkdtempSync(join(tmpdir(), "play-e2e-"));
    try {
      const webm = await download(page, "#play-download-webm", dir);
      const probe = JSON.parse(
        execFileSync(
          "ffprobe",
          [
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_type,codec_name,width,height,nb_read_frames",
            "-of",
            "json",
            webm,
          ],
          { encoding: "utf8" },
        ),
      ) as {
        streams: { codec_type: string; codec_name: string; width: number; height: number; nb_read_frames: string }[];
      };
      const stream = probe.streams[0];
      if (!stream || stream.codec_type !== "video")
        throw new Error(`ffprobe found no video stream: ${JSON.stringify(probe)}`);
      const frames = Number(stream.nb_read_frames);
      if (!(frames > 0)) throw new Error(`ffprobe decoded ${stream.nb_read_frames} frames`);
      if (stream.width !== 512 || stream.height !== 256)
        throw new Error(`the WebM is ${stream.width}x${stream.height}, expected 512x256 (real | dream)`);
      t.log(
        `WebM: ${stream.codec_name} ${stream.width}x${stream.height}, ${frames} frames decoded by ffprobe (${recorded} recorded)`,
      );
      const png = readFileSync(await download(page, "#play-download-png", dir));
      if (png.subarray(1, 4).toString("latin1") !== "PNG") throw new Error("the PNG frames download is not a PNG");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  { timeoutMs: 240_000 },
);

e2e(
  "play page: a lost WebGL context is recovered and play goes on (?backend=webgl)",
  async (t) => {
    const page = await t.open("pages/play.html?backend=webgl");
    await settled(page, 120_000);
    await waitForFrames(page, 5, 120_000);
    const backend = await page.locator(".card code").first().textContent();
    if (backend !== "webgl") throw new Error(`the override did not give webgl but ${backend}`);
    await page.click("#play-lose-context");
    await page.waitForFunction(
      () => /WebGL context was lost/.test(document.querySelector("#play-notices")?.textContent ?? ""),
      undefined,
      { timeout: 30_000 },
    );
    await page.waitForFunction(
      () => /recovered from the lost WebGL context/.test(document.querySelector("#play-notices")?.textContent ?? ""),
      undefined,
      { timeout: 60_000 },
    );
    const after = await frameIndex(page);
    await waitForFrames(page, after + 10, 60_000);
    const notices = await page.locator("#play-notices").textContent();
    t.log(`after recovery: frame ${await frameIndex(page)}; ${notices}`);
    await t.screenshot(page, "play-context-restored");
  },
  { timeoutMs: 300_000 },
);

e2e(
  "play page: a gamepad and the on-screen pads reach the world model like the keyboard",
  async (t) => {
    // A standard-mapping gamepad the page polls through navigator.getGamepads(); the test moves its
    // sticks and buttons. (A string, not a function: tsx's helpers do not exist in the page.)
    const context = await t.newContext();
    await context.addInitScript(`
    const pad = { id: "e2e pad (STANDARD GAMEPAD)", index: 0, connected: true, mapping: "standard", timestamp: 0,
      axes: [0, 0, 0, 0], buttons: Array.from({ length: 17 }, () => ({ pressed: false, touched: false, value: 0 })) };
    window.__e2ePad = pad;
    Object.defineProperty(Navigator.prototype, "getGamepads", { value: () => [pad, null, null, null], configurable: true });
  `);
    const page = await t.open("pages/play.html", { context });
    await settled(page, 120_000);
    await waitForFrames(page, 5);
    // #play-action is what the worker says it applied to the frame it generated.
    const applied = async (text: string) => {
      await page
        .waitForFunction((want) => document.querySelector("#play-action")?.textContent === want, text, {
          timeout: 10_000,
        })
        .catch(async () => {
          const pads = await page.evaluate("JSON.stringify(navigator.getGamepads().map((p) => p && p.axes))");
          throw new Error(
            `waiting for "${text}", the worker applied "${await page.locator("#play-action").textContent()}" (gamepads: ${pads})`,
          );
        });
      const at = await frameIndex(page);
      await waitForFrames(page, at + 3);
      const now = await page.locator("#play-action").textContent();
      if (now !== text) throw new Error(`the action did not hold: "${now}" instead of "${text}"`);
    };
    await page.evaluate("window.__e2ePad.axes = [0, -0.9, 0, 0]");
    await applied("forward");
    await page.evaluate(
      "window.__e2ePad.axes = [0, 0, 0.8, 0]; window.__e2ePad.buttons[0] = { pressed: true, touched: true, value: 1 }",
    );
    await applied("turn right + jump");
    await page.evaluate(
      "window.__e2ePad.axes = [0.1, -0.1, 0.15, 0]; window.__e2ePad.buttons[0] = { pressed: false, touched: false, value: 0 }",
    );
    await applied("none"); // inside the dead zone
    await page.evaluate("window.__e2ePad.connected = false");

    // The on-screen pad: pressing "Strafe left" with the pointer holds it until released.
    const strafe = page.getByRole("button", { name: "Strafe left" });
    await strafe.scrollIntoViewIfNeeded();
    const box = (await strafe.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await applied("left");
    if ((await strafe.getAttribute("aria-pressed")) !== "true")
      throw new Error("the pad button does not show that it is held");
    await page.mouse.up();
    await applied("none");
    t.log("gamepad: forward, turn right + jump, dead zone; touch pad: strafe left");
  },
  { timeoutMs: 180_000 },
);

e2e(
  "play page: without WebGL, ?backend=webgl falls back to another backend with a visible notice",
  async (t) => {
    // --disable-webgl alone leaves WebGL on OffscreenCanvas (and so in workers); without a GPU
    // process and without the software rasteriser there is none anywhere.
    const context = await t.newBrowserContext([
      "--disable-webgl",
      "--disable-webgl2",
      "--disable-gpu",
      "--disable-software-rasterizer",
    ]);
    const page = await context.newPage();
    await page.goto(new URL("pages/play.html?backend=webgl", t.baseUrl + "/").href, { waitUntil: "load" });
    await settled(page, 120_000);
    await waitForFrames(page, 5);
    const hasWebgl = await page.evaluate(
      () =>
        new OffscreenCanvas(1, 1).getContext("webgl2") !== null ||
        document.createElement("canvas").getContext("webgl") !== null,
    );
    if (hasWebgl) throw new Error("this Chromium still offers WebGL; the test cannot take it away");
    const notices = (await page.locator("#play-notices").textContent()) ?? "";
    const backend = await page.locator(".card code").first().textContent();
    if (!/webgl is not available here; the world model runs on (wasm|cpu|webgpu) instead\./.test(notices))
      throw new Error(`no fallback notice: "${notices}" (backend ${backend})`);
    if (backend === "webgl") throw new Error("the page claims to run on webgl");
    await expectNoAxeViolations(page);
    // Without an override the page says why it runs where it runs, WebGL's absence included.
    await page.goto(new URL("pages/play.html", t.baseUrl + "/").href, { waitUntil: "load" });
    await settled(page, 120_000);
    await waitForFrames(page, 2);
    const main = (await page.locator("#observablehq-main").textContent()) ?? "";
    if (!/webgl \(webgl is not available in this browser\)/.test(main))
      throw new Error("the backend reason does not mention that WebGL is missing");
    t.log(`without WebGL: runs on ${backend}; notice shown; the reason names the missing WebGL`);
  },
  { timeoutMs: 180_000 },
);
