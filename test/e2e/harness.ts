/**
 * Browser test harness: serves dist/ on 127.0.0.1 (a free port, COOP/COEP on), drives Debian
 * Chromium through playwright-core, and fails a test on any console error, uncaught page error,
 * failed request, HTTP error or request to another origin (nothing may leave the machine).
 *
 * A test file `test/e2e/NAME.e2e.ts` registers tests with `e2e(name, async (t) => { ... })`.
 * `t.open(path)` returns a Playwright page whose problems are collected and checked when the
 * test ends; `t.expectProblem(/regex/)` declares one that the test provokes on purpose.
 */
import AxeBuilder from "@axe-core/playwright";
import { chromium, type Browser, type BrowserContext, type Page, type Request } from "playwright-core";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import type { Server } from "node:http";
import { DIST_DIR } from "../../scripts/dist-dir.js";
import { serveStatic, type ServeOptions } from "../../scripts/serve.js";

export const RESULTS_DIR = "test-results";

export const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
  "--disable-default-apps",
  "--enable-unsafe-webgpu",
];

export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
}

export interface TestContext {
  baseUrl: string;
  browser: Browser;
  /** Opens a page at `path` (relative to the site root, or to `origin`: another server of the test's) in a fresh browser context. */
  open(
    path: string,
    options?: { viewport?: { width: number; height: number }; context?: BrowserContext; origin?: string },
  ): Promise<Page>;
  /** A new isolated browser context (own storage) whose pages are watched like `open`'s. */
  /** A fresh browser context; `serviceWorkers: "block"` keeps the site's precache from filling storage behind a test's back. */
  newContext(options?: { serviceWorkers?: "allow" | "block"; origin?: string }): Promise<BrowserContext>;
  /**
   * Serves `dir` on a server of this test's (closed when it ends) and returns its base URL; give it
   * as `origin` to newContext/open. `siteHeaders: false` acts as a plain static host (scripts/serve.ts).
   */
  serve(dir: string, options?: ServeOptions): Promise<string>;
  /** A context in a browser of its own, started with extra Chromium flags (closed when the test ends). */
  newBrowserContext(extraArgs: string[]): Promise<BrowserContext>;
  /** Saves a screenshot under test-results/. */
  screenshot(page: Page, name: string): Promise<string>;
  /** Declares a problem (console error, failed request...) the test provokes on purpose. */
  expectProblem(pattern: RegExp): void;
  /** Problems seen so far in this test. */
  problems(): string[];
  log(message: string): void;
}

export interface E2ETest {
  name: string;
  file: string;
  fn: (t: TestContext) => Promise<void>;
  timeoutMs: number;
}

const registry: E2ETest[] = [];
let currentFile = "";

export function setCurrentFile(file: string): void {
  currentFile = file;
}

/** Registers a browser test. */
export function e2e(name: string, fn: (t: TestContext) => Promise<void>, options: { timeoutMs?: number } = {}): void {
  registry.push({ name, file: currentFile, fn, timeoutMs: options.timeoutMs ?? 120_000 });
}

export function registeredTests(): E2ETest[] {
  return registry;
}

/** Whether `req` belongs to the page's main frame (a worker's request has no frame). */
function isMainFrameRequest(page: Page, req: Request): boolean {
  try {
    return req.frame() === page.mainFrame();
  } catch {
    return false;
  }
}

/** Attaches listeners that record everything that counts as a failure on this page. */
export function watchPage(page: Page, baseUrl: string, problems: string[]): void {
  const origin = new URL(baseUrl).origin;
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console error: ${msg.text()} (${msg.location().url || "?"})`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  // A page that navigates itself (the Play page reopens on an imported run) cancels the requests
  // its old document still had in flight, its workers' included: those report ERR_ABORTED and are
  // not failures. Each request remembers how many main-frame navigations had started before it.
  let navigations = 0;
  const navigationsBefore = new WeakMap<Request, number>();
  page.on("requestfailed", (req) => {
    const failure = req.failure()?.errorText ?? "failed";
    // A navigation or download the test aborts on purpose reports ERR_ABORTED.
    if (failure.includes("ERR_ABORTED") && req.resourceType() === "media") return;
    if (failure.includes("ERR_ABORTED") && navigations > (navigationsBefore.get(req) ?? navigations)) return;
    problems.push(`request failed: ${req.url()} (${failure})`);
  });
  page.on("response", (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.url()}`);
  });
  page.on("request", (req) => {
    if (req.isNavigationRequest() && isMainFrameRequest(page, req)) navigations += 1;
    navigationsBefore.set(req, navigations);
    const url = req.url();
    if (/^(data|blob|about|chrome-extension):/.test(url)) return;
    if (new URL(url).origin !== origin) problems.push(`request to another origin: ${url}`);
  });
}

/**
 * Errors thrown outside a test's own awaits (in a Playwright event handler, say) would end the
 * whole run; run.ts routes them here and they fail the test that is running.
 */
let currentProblems: string[] | null = null;
export function reportStrayError(error: unknown): void {
  const text = `uncaught outside the test body: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
  if (currentProblems) currentProblems.push(text);
  else console.error(`e2e: ${text}`);
}

export async function runTest(
  test: E2ETest,
  browser: Browser,
  baseUrl: string,
): Promise<{ ok: boolean; problems: string[]; ms: number }> {
  const problems: string[] = [];
  currentProblems = problems;
  const expected: RegExp[] = [];
  const contexts: BrowserContext[] = [];
  const ownBrowsers: Browser[] = [];
  mkdirSync(RESULTS_DIR, { recursive: true });
  const servers: Server[] = [];
  const newContext = async (
    { origin, ...options }: { serviceWorkers?: "allow" | "block"; origin?: string } = {},
    from: Browser = browser,
  ): Promise<BrowserContext> => {
    const context = await from.newContext({ viewport: { width: 1280, height: 800 }, ...options });
    contexts.push(context);
    context.on("page", (p) => watchPage(p, origin ?? baseUrl, problems));
    return context;
  };
  const t: TestContext = {
    baseUrl,
    browser,
    newContext: (options) => newContext(options),
    async newBrowserContext(extraArgs) {
      const own = await chromium.launch({ executablePath: chromiumPath(), args: [...CHROMIUM_ARGS, ...extraArgs] });
      ownBrowsers.push(own);
      return newContext({}, own);
    },
    async open(path, options = {}) {
      const context = options.context ?? (await newContext({ origin: options.origin }));
      const page = await context.newPage();
      if (options.viewport) await page.setViewportSize(options.viewport);
      await page.goto(new URL(path.replace(/^\//, ""), (options.origin ?? baseUrl) + "/").toString(), {
        waitUntil: "load",
      });
      return page;
    },
    async serve(dir, options) {
      const { server, url } = await serveStatic(dir, 0, options);
      servers.push(server);
      return url;
    },
    async screenshot(page, name) {
      const path = join(RESULTS_DIR, `${name.replace(/[^\w.-]+/g, "_")}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    expectProblem(pattern) {
      expected.push(pattern);
    },
    problems: () => problems.slice(),
    log: (message) => console.log(`    ${message}`),
  };
  const started = Date.now();
  let error: unknown;
  try {
    await Promise.race([
      test.fn(t),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`timed out after ${test.timeoutMs} ms`)), test.timeoutMs),
      ),
    ]);
  } catch (e) {
    error = e;
  }
  // What the test saw ends here: closing its contexts aborts whatever the pages still had in
  // flight (a worker fetching its wasm, say), which is the harness's doing, not the page's.
  const seen = problems.slice();
  currentProblems = null;
  for (const context of contexts) await context.close().catch(() => {});
  for (const own of ownBrowsers) await own.close().catch(() => {});
  for (const server of servers) server.close();
  const unexpected = seen.filter((p) => !expected.some((re) => re.test(p)));
  if (error) unexpected.unshift(`threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return { ok: unexpected.length === 0, problems: unexpected, ms: Date.now() - started };
}

/**
 * Types `value` into the input labelled exactly `label` and fires "input", as Observable Inputs
 * listen for it (fill alone does not reach a range slider's paired number box).
 */
export async function fillInput(page: Page, label: string, value: string | number): Promise<void> {
  const input = page.getByLabel(label, { exact: true }).first();
  await input.fill(String(value));
  await input.dispatchEvent("input");
}

/** Polls `predicate` in the page until it returns a truthy value. */
export async function waitFor<T>(page: Page, predicate: () => T | Promise<T>, timeoutMs = 60_000): Promise<T> {
  const handle = await page.waitForFunction(predicate, undefined, { timeout: timeoutMs, polling: 100 });
  return (await handle.jsonValue()) as T;
}

/** Waits until Framework has no cell still loading and the network is quiet. */
export async function settled(page: Page, timeoutMs = 60_000): Promise<void> {
  await page.waitForLoadState("networkidle", { timeout: timeoutMs });
  await page.waitForFunction(() => document.querySelectorAll("observablehq-loading").length === 0, undefined, {
    timeout: timeoutMs,
  });
}

export async function expectNoAxeViolations(page: Page): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  if (result.violations.length) {
    const lines = result.violations.map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} — ${v.nodes
          .slice(0, 3)
          .map((n) => n.target.join(" "))
          .join("; ")}`,
    );
    throw new Error(`axe found ${result.violations.length} violation(s):\n${lines.join("\n")}`);
  }
}

/** A cheap hash of a canvas's pixels ("missing" when there is no such canvas). */
export async function canvasHash(page: Page, selector: string): Promise<string> {
  return page.evaluate((sel) => {
    const c = document.querySelector(sel) as HTMLCanvasElement | null;
    if (!c) return "missing";
    const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    let h = 2166136261;
    for (let i = 0; i < d.length; i += 7) h = Math.imul(h ^ d[i], 16777619);
    return String(h >>> 0);
  }, selector);
}

/** Waits until the canvas at `selector` shows pixels other than those hashed as `before`. */
export async function waitForCanvasChange(
  page: Page,
  selector: string,
  before: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await canvasHash(page, selector)) === before) {
    if (Date.now() > deadline) throw new Error(`${selector} did not change within ${timeoutMs} ms`);
    await page.waitForTimeout(100);
  }
}

/** Every HTML page of the built site, as paths relative to its root (e.g. "pages/train.html"). */
export function htmlPages(dir = DIST_DIR): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name.startsWith("_") ? [] : htmlPages(path);
    return name.endsWith(".html") ? [relative(DIST_DIR, path).split("\\").join("/")] : [];
  });
}
