// The Play page's dream obeys the turn keys: from one state (the level restarted), 10 frames of
// turning left (J) and 10 of turning right (L) move the dream's view opposite ways, as they move
// the real game's. The shift between successive screenshots is measured with src/lib/core/motion.ts
// (a left turn moves the view right: a positive shift) and summed over the turn.
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { type RgbaImage, horizontalShift } from "../../src/lib/core/index.js";
import { PRESETS, recordedSampling } from "../../src/lib/models/index.js";
import { e2e, settled } from "./harness.js";
import { decodePng } from "./png.js";

/**
 * The page under test: the shipped model at its default settings, paced at 1 frame a second so
 * that a pause sent on one frame lands before the next even on a loaded machine. Every screenshot
 * is then one frame apart, and both turns are measured on the same frames: a model that ignores
 * actions dreams the same frames both ways (same state, same noise) and so cannot pass.
 */
const PLAY_PAGE = "pages/play.html?fps=1";
/** Frames of turning that must pass between the first and the last screenshot of a turn. */
const TURN_FRAMES = 10;
/** How far (in pixels of a 256-px frame) the dream must move over a turn, each way. */
const DREAM_SHIFT_THRESHOLD_256 = 8;

/** The guidance the shipped DiT plays at: what its weights record (a distilled DiT: 1), else the preset's. */
function shippedGuidance(): number {
  const manifest = `${process.env.GAMEDREAM_WEIGHTS || "weights/realtime"}/dit/model.json`;
  const extra = (JSON.parse(readFileSync(manifest, "utf8")) as { gamedream?: { extra?: { sampling?: unknown } } })
    .gamedream?.extra;
  return recordedSampling(extra?.sampling, manifest).guidanceScale ?? PRESETS.realtime.sampling.guidanceScale;
}

async function frameIndex(page: Page): Promise<number> {
  return Number((await page.locator("#play-frame").getAttribute("data-frame")) ?? 0);
}

async function clickInPage(page: Page, selector: string): Promise<void> {
  // A click through the page, not the mouse: the focus (and so the held key) stays where it is.
  await page.evaluate((sel) => (document.querySelector(sel) as HTMLButtonElement).click(), selector);
}

async function setPaused(page: Page, paused: boolean): Promise<void> {
  const isPaused = (await page.locator("#play-pause").textContent()) === "Resume";
  if (isPaused !== paused) await clickInPage(page, "#play-pause");
}

/**
 * Resumes play until the next frame arrives, pauses again in the same instant (in the page, so it
 * lands within a frame or two), and waits until no more frames come. Evaluates to the frame shown.
 * (A string, not a function: tsx's name helpers do not exist in the page.)
 */
const STEP_AND_PAUSE = `(async () => {
  const meter = document.querySelector("#play-frame");
  const pause = document.querySelector("#play-pause");
  const before = meter.dataset.frame;
  const changed = (quietMs) => new Promise((resolve) => {
    let timer;
    const observer = new MutationObserver(() => {
      if (quietMs === null && meter.dataset.frame === before) return;
      observer.disconnect();
      clearTimeout(timer);
      resolve(true);
    });
    observer.observe(meter, { attributes: true, attributeFilter: ["data-frame"] });
    timer = setTimeout(() => { observer.disconnect(); resolve(false); }, quietMs ?? 120000);
  });
  pause.click(); // resume
  if (!(await changed(null))) return -1;
  pause.click(); // pause
  // Quiet for longer than a frame takes: the frame stepped while the pause travelled has landed.
  const dreamMs = Number.parseFloat(document.querySelector("#play-ms").textContent) || 100;
  while (await changed(Math.max(400, 3 * dreamMs)));
  return Number(meter.dataset.frame);
})()`;

async function stepAndPause(page: Page): Promise<number> {
  const index = (await page.evaluate(STEP_AND_PAUSE)) as number;
  if (index < 0)
    throw new Error(
      `no frame came within 120 s of resuming play (${await page.locator("#play-notices").textContent()})`,
    );
  return index;
}

function crop(image: RgbaImage, x: number, y: number, width: number, height: number): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let row = 0; row < height; row++) {
    const from = ((y + row) * image.width + x) * 4;
    data.set(image.data.subarray(from, from + width * 4), row * width * 4);
  }
  return { data, width, height };
}

/** One screenshot of the player, cut into the real game's and the dream's canvases. */
async function capture(page: Page): Promise<{ real: RgbaImage; dream: RgbaImage }> {
  const player = (await page.locator(".player").boundingBox())!;
  const shot = decodePng(await page.locator(".player").screenshot());
  const part = async (selector: string) => {
    const box = (await page.locator(selector).boundingBox())!;
    // Inside the canvas's border pixels, so scaling seams do not count as picture.
    const x = Math.ceil(box.x - player.x) + 1;
    const y = Math.ceil(box.y - player.y) + 1;
    const size = Math.min(Math.floor(box.width), Math.floor(box.height), shot.width - x, shot.height - y) - 2;
    return crop(shot, x, y, size, size);
  };
  return { real: await part("#play-real"), dream: await part("#play-dream") };
}

interface Turn {
  real: number;
  dream: number;
  realSteps: number[];
  dreamSteps: number[];
  frames: number[];
  width: number;
}

/** Restarts the level, holds `key` and screenshots frame by frame until TURN_FRAMES frames have passed. */
async function turn(page: Page, key: "j" | "l", expectedAction: string): Promise<Turn> {
  await setPaused(page, true);
  await page.keyboard.down(key);
  await clickInPage(page, "#play-reset");
  const frames: number[] = [];
  const shots: { real: RgbaImage; dream: RgbaImage }[] = [];
  while (frames.length === 0 || frames[frames.length - 1] - frames[0] < TURN_FRAMES) {
    const index = await stepAndPause(page);
    const shot = await capture(page);
    if ((await frameIndex(page)) !== index)
      throw new Error(`a frame arrived while the paused player was captured (frame ${index})`);
    if (frames.length === 0) {
      if (index > 3)
        throw new Error(`the level did not restart: the first frame after "Restart the level" is frame ${index}`);
      const action = await page.locator("#play-action").textContent();
      if (action !== expectedAction)
        throw new Error(`holding ${key.toUpperCase()}, the worker applied "${action}", not "${expectedAction}"`);
    }
    frames.push(index);
    shots.push(shot);
  }
  await page.keyboard.up(key);
  const width = shots[0].dream.width;
  const maxShift = Math.floor(width / 4);
  const steps = (side: "real" | "dream") =>
    shots.slice(1).map((s, i) => horizontalShift(shots[i][side], s[side], maxShift));
  const realSteps = steps("real");
  const dreamSteps = steps("dream");
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return { real: sum(realSteps), dream: sum(dreamSteps), realSteps, dreamSteps, frames, width };
}

e2e(
  "play page: from one state, turning left and turning right move the dream opposite ways, as they move the game",
  async (t) => {
    const page = await t.open(PLAY_PAGE);
    await settled(page, 180_000);
    await page.waitForFunction(
      () =>
        Number(document.querySelector("#play-frame")?.getAttribute("data-frame") ?? 0) >= 20 ||
        !(document.querySelector("#play-error") as HTMLElement | null)?.hidden,
      undefined,
      { timeout: 180_000, polling: 100 },
    );
    if (await page.locator("#play-error").isVisible())
      throw new Error(`the Play page cannot play: ${await page.locator("#play-error").textContent()}`);
    t.log(
      `playing: ${await page.locator("#play-model-name").textContent()} on ${await page.locator(".card code").first().textContent()}, ${await page.locator("#play-ms").textContent()} dream`,
    );
    // The controls show what the worker plays with: the shipped weights' own defaults.
    const guidance = shippedGuidance();
    await page.waitForFunction(
      (v) =>
        Number(document.querySelector<HTMLInputElement>('input[type="range"][aria-label="Action guidance"]')?.value) ===
        v,
      guidance,
      { timeout: 30_000, polling: 100 },
    );
    t.log(`action guidance ${guidance}, as the shipped weights record`);
    await page.locator("h1").click(); // keyboard focus on the page, not on a control

    const left = await turn(page, "j", "turn left");
    const right = await turn(page, "l", "turn right");
    const threshold = (DREAM_SHIFT_THRESHOLD_256 * left.width) / 256;
    for (const [name, r] of [
      ["left (J)", left],
      ["right (L)", right],
    ] as const) {
      t.log(
        `turn ${name}: frames ${r.frames.join(",")}; real game ${r.real} px [${r.realSteps.join(" ")}], dream ${r.dream} px [${r.dreamSteps.join(" ")}] (screenshots ${r.width} px wide)`,
      );
    }
    if (left.frames.join() !== right.frames.join()) {
      throw new Error(
        `the two turns were captured on different frames (left ${left.frames.join(",")}, right ${right.frames.join(",")}), so they cannot be compared frame for frame: ` +
          `a dream frame took ${await page.locator("#play-ms").textContent()}, too close to the page's 1-second pacing`,
      );
    }
    if (!(left.real > 0 && right.real < 0)) {
      throw new Error(
        `the real game's view did not move opposite ways (left ${left.real} px, right ${right.real} px): the measurement, not the model, is broken`,
      );
    }
    if (!(left.dream > threshold && right.dream < -threshold)) {
      throw new Error(
        `the dream does not turn with the keys: over ${TURN_FRAMES}+ frames from the same state, turning left moved it ${left.dream} px and turning right ${right.dream} px ` +
          `(the real game: ${left.real} and ${right.real} px); a dream that obeys needs more than +${threshold.toFixed(1)} px and less than -${threshold.toFixed(1)} px ` +
          `(${DREAM_SHIFT_THRESHOLD_256} px of a 256-px frame)`,
      );
    }
  },
  { timeoutMs: 600_000 },
);
