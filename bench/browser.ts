/**
 * Drives the built site's benchmarks page in headless Chromium (`?autorun=1`), which runs the
 * same suite as Node on each browser backend and publishes results on `window.__gamedreamBench`.
 */
import { existsSync } from "node:fs";
import { execSync } from "node:child_process";
import type { BenchResult } from "../src/lib/bench/index.js";
import { serveStatic } from "../scripts/serve.js";
import { DIST_DIR } from "../scripts/dist-dir.js";
import { launchChromium } from "../test/e2e/harness.js";

export async function runBrowserSuite(options: {
  only?: string[];
  quick: boolean;
  log: (m: string) => void;
  ingestClip?: string;
  /** wasm threads for the page (default: what the Play page's worker gets). */
  threads?: number;
  /** Browser backends to run (default: every one the browser offers). */
  backends?: string[];
}): Promise<BenchResult[]> {
  if (!existsSync(`${DIST_DIR}/pages/benchmarks.html`)) {
    options.log(`${DIST_DIR}/ has no benchmarks page: building the site first (npm run build)`);
    execSync("npm run build", { stdio: ["ignore", "ignore", "inherit"] });
  }
  const { server, url } = await serveStatic(DIST_DIR);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") options.log(`chromium console error: ${m.text()}`);
    });
    const query = new URLSearchParams({ autorun: "1", quick: options.quick ? "1" : "0" });
    if (options.only) query.set("only", options.only.join(","));
    if (options.ingestClip) query.set("ingest", "1");
    if (options.threads !== undefined) query.set("threads", String(options.threads));
    if (options.backends) query.set("backends", options.backends.join(","));
    await page.goto(`${url}/pages/benchmarks.html?${query}`);
    // The page measures ingestion of a file the user picks; hand it the same clip as Node.
    if (options.ingestClip) await page.locator("#ingest-file input[type=file]").setInputFiles(options.ingestClip);
    options.log(`Chromium ${browser.version()}: running the suite in the page`);
    let seen = 0;
    const deadline = Date.now() + 20 * 60_000;
    for (;;) {
      const state = (await page.evaluate(
        () =>
          (
            window as unknown as {
              __gamedreamBench?: { done: boolean; error?: string; log: string[]; results: unknown[] };
            }
          ).__gamedreamBench ?? null,
      )) as { done: boolean; error?: string; log: string[]; results: BenchResult[] } | null;
      if (state) {
        for (const line of state.log.slice(seen)) options.log(`chromium: ${line}`);
        seen = state.log.length;
        if (state.error) throw new Error(`browser suite failed: ${state.error}`);
        if (state.done) return state.results;
      }
      if (Date.now() > deadline) throw new Error("browser suite timed out after 20 minutes");
      await page.waitForTimeout(500);
    }
  } finally {
    await browser.close();
    server.close();
  }
}
