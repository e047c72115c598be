// dist/ on a plain static host: a server that sends no COOP/COEP and no policy header (as a
// published report usually is). The pages' own <meta> policy still refuses injected scripts; the
// service worker adds COOP/COEP to what it serves, so after the first load (one automatic reload)
// the Play page is cross-origin isolated and plays; with service workers blocked the site runs in
// its documented fallback (single-threaded wasm) and the Device page says so and why.
import type { Page } from "playwright-core";
import { DIST_DIR } from "../../scripts/dist-dir.js";
import { e2e, settled } from "./harness.js";

/** Every load of a page in this tab, recorded before the page's own scripts run (survives reloads). */
const RECORD_LOADS = () => {
  // Only the site's pages: a new tab's first about:blank (an opaque origin) has no storage.
  if (window.top !== window || location.protocol !== "http:") return;
  const loads = JSON.parse(sessionStorage.getItem("e2e-loads") ?? "[]");
  loads.push({
    path: location.pathname,
    isolated: crossOriginIsolated,
    controlled: navigator.serviceWorker?.controller != null,
  });
  sessionStorage.setItem("e2e-loads", JSON.stringify(loads));
};

type Load = { path: string; isolated: boolean; controlled: boolean };

async function loads(page: Page): Promise<Load[]> {
  // A reload may destroy the context mid-call: ask again until the page answers.
  for (let i = 0; i < 50; i++) {
    try {
      return await page.evaluate(() => JSON.parse(sessionStorage.getItem("e2e-loads") ?? "[]"));
    } catch {
      await page.waitForTimeout(200);
    }
  }
  throw new Error("the page never settled long enough to answer");
}

async function playMeter(page: Page): Promise<{ fps: number; ms: number }> {
  const frame = () =>
    page.evaluate(() => Number(document.querySelector("#play-frame")?.getAttribute("data-frame") ?? 0));
  await page.waitForFunction(
    () => Number(document.querySelector("#play-frame")?.getAttribute("data-frame") ?? 0) >= 30,
    undefined,
    { timeout: 120_000, polling: 100 },
  );
  const start = await frame();
  await page.waitForFunction(
    (n) => Number(document.querySelector("#play-frame")?.getAttribute("data-frame") ?? 0) >= n,
    start + 60,
    { timeout: 120_000, polling: 100 },
  );
  const fpsText = (await page.locator("#play-fps").textContent()) ?? "";
  const msText = (await page.locator("#play-ms").textContent()) ?? "";
  const fps = Number(fpsText.match(/^(\d+) FPS$/)?.[1]);
  const ms = Number(msText.match(/^([\d.]+) ms\/frame$/)?.[1]);
  if (!(fps > 0) || !(ms > 0)) throw new Error(`the meter shows "${fpsText}" and "${msText}"`);
  return { fps, ms };
}

async function deviceThreads(page: Page): Promise<{ cause: string; text: string }> {
  await settled(page, 120_000);
  const threads = page.locator("#device-threads");
  return { cause: (await threads.getAttribute("data-cause")) ?? "", text: (await threads.textContent()) ?? "" };
}

e2e(
  "static host without headers: the service worker makes Play cross-origin isolated; blocked, the documented fallback says why",
  async (t) => {
    const origin = await t.serve(DIST_DIR, { siteHeaders: false });
    const sent = await fetch(`${origin}/pages/play.html`);
    for (const header of ["cross-origin-opener-policy", "cross-origin-embedder-policy", "content-security-policy"]) {
      if (sent.headers.get(header) !== null) throw new Error(`the plain host sent ${header}`);
    }

    // 1. Service workers allowed: the first load is not isolated; the worker installs, takes the page
    //    over, the page reloads once and is isolated from then on.
    const context = await t.newContext({ serviceWorkers: "allow", origin });
    await context.addInitScript(RECORD_LOADS);
    const page = await t.open("pages/play.html", { context, origin });
    const deadline = Date.now() + 120_000;
    let seen = await loads(page);
    while (!seen.some((l) => l.isolated)) {
      if (Date.now() > deadline)
        throw new Error(`the Play page never became cross-origin isolated: ${JSON.stringify(seen)}`);
      await page.waitForTimeout(500);
      seen = await loads(page);
    }
    if (seen[0].isolated || seen[0].controlled)
      throw new Error(`the first load was already isolated or controlled: ${JSON.stringify(seen)}`);
    if (seen.length !== 2) throw new Error(`expected exactly one reload, saw loads ${JSON.stringify(seen)}`);
    const isolated = await playMeter(page);
    t.log(
      `plain host + service worker: loads ${JSON.stringify(seen)}; crossOriginIsolated after one reload; Play ${isolated.fps} FPS, ${isolated.ms} ms/frame`,
    );
    const device = await deviceThreads(await t.open("pages/device.html", { context, origin }));
    if (device.cause === "not-isolated") throw new Error(`the Device page, served by the worker, says: ${device.text}`);
    t.log(`Device page (isolated): ${device.text}`);

    // 2. Service workers blocked (a browser or policy that refuses them): never isolated; every page
    //    still works, single-threaded, and the Device page says so and why.
    const fallback = await t.newContext({ serviceWorkers: "block", origin });
    const plainPage = await t.open("pages/play.html", { context: fallback, origin });
    if (await plainPage.evaluate(() => crossOriginIsolated))
      throw new Error("a plain host without the service worker gave an isolated page");
    const single = await playMeter(plainPage);
    const notice = await deviceThreads(await t.open("pages/device.html", { context: fallback, origin }));
    if (
      notice.cause !== "not-isolated" ||
      !/single-threaded: this page is not cross-origin isolated/.test(notice.text) ||
      !/service worker/.test(notice.text)
    ) {
      throw new Error(`the Device page does not explain the fallback: [${notice.cause}] ${notice.text}`);
    }
    t.log(`plain host, no service worker: Play ${single.fps} FPS, ${single.ms} ms/frame; Device page: ${notice.text}`);
  },
  { timeoutMs: 420_000 },
);
