// The Content Security Policy as a browser meets it: every page is served without 'unsafe-eval'
// and without 'unsafe-inline' scripts (its own inline scripts are allowed by their SHA-256), runs,
// and really refuses eval and injected scripts; the one exception (the arquero table worker's own script) is sent only
// with that script and is needed (the same worker under a page's policy fails, with a plain
// message); tfjs-vis draws its charts under the strict policy.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DIST_DIR } from "../../scripts/dist-dir.js";
import { e2e, htmlPages, settled } from "./harness.js";

/** Site paths of built files in `dir` (relative to dist/) whose names match `pattern`. */
function builtFiles(dir: string, pattern: RegExp): string[] {
  return readdirSync(join(DIST_DIR, dir))
    .filter((f) => pattern.test(f))
    .map((f) => `/${dir}/${f}`);
}

e2e("security: pages refuse eval; only the arquero table worker may, and it needs to", async (t) => {
  // 1. Every page: a policy without 'unsafe-eval', and the browser enforces it.
  const context = await t.newContext({ serviceWorkers: "block" });
  const pages = htmlPages();
  for (const path of pages) {
    const response = await fetch(new URL(path, t.baseUrl + "/"));
    const policy = response.headers.get("content-security-policy") ?? "";
    if (!/script-src [^;]*'self'/.test(policy) || /'unsafe-eval'/.test(policy))
      throw new Error(`${path} is served with the policy "${policy}"`);
  }
  const page = await t.open("pages/train.html", { context });
  await settled(page);
  // tsx compiles this file with esbuild's keepNames, whose __name helper the page lacks.
  await page.evaluate("globalThis.__name = (f) => f");
  // Provoked on purpose below: Chromium logs each refused evaluation.
  t.expectProblem(/unsafe-eval|Content Security Policy|EvalError/);
  // Code that page.evaluate runs is exempt from the policy (V8's inspector allows evaluation while
  // it runs), so the probe is a script of the page's own, run from a timer like any page code.
  // An inline script would itself be refused (no 'unsafe-inline'), so the probe is a blob: script.
  const refused = await page.evaluate(async () => {
    const probe = document.createElement("script");
    probe.src = URL.createObjectURL(
      new Blob(
        [
          `setTimeout(() => {
      window.__evalProbe = [() => eval("1 + 1"), () => new Function("return 1")()].map((f) => {
        try { f(); return "ran"; } catch (e) { return e.name; }
      });
    }, 0);`,
        ],
        { type: "text/javascript" },
      ),
    );
    document.head.append(probe);
    const result = () => (window as unknown as { __evalProbe?: string[] }).__evalProbe;
    for (let i = 0; i < 100 && !result(); i++) await new Promise((r) => setTimeout(r, 20));
    return result() ?? ["no answer"];
  });
  if (refused.join() !== "EvalError,EvalError") throw new Error(`the page let code be evaluated: ${refused.join()}`);

  // 2. Scripts: the table worker's carries the exception, every other script does not.
  const [tableWorker] = builtFiles("_file/assets/workers", /^episode-table\.[0-9a-f]{8}\.js$/);
  if (!tableWorker) throw new Error("the episode-table worker is not in the build");
  const scripts = [
    ...builtFiles("_file/assets/workers", /\.js$/),
    ...builtFiles("_import/vendor", /\.js$/),
    ...builtFiles("_import/components", /\.js$/),
  ];
  for (const path of scripts) {
    const policy = (await fetch(new URL(path, t.baseUrl))).headers.get("content-security-policy") ?? "";
    const allowsEval = /'unsafe-eval'/.test(policy);
    if (allowsEval !== (path === tableWorker))
      throw new Error(`${path}: 'unsafe-eval' ${allowsEval ? "allowed" : "refused"}`);
  }
  t.log(`${pages.length} pages and ${scripts.length} scripts checked; 'unsafe-eval' only for ${tableWorker}`);

  // 3. The exception is needed: the same worker code as a blob: worker takes the page's policy,
  //    and arquero's table expressions then fail, with a message that says why.
  const episodes = [
    {
      name: "e",
      frameCount: 2,
      actions: [{ movement: [1, 0, 0, 0], camera: [0.5, 0], interaction: 0 }],
      motion: [0, 0.25],
    },
  ];
  const run = (source: "site" | "blob") =>
    page.evaluate(
      async ({ url, source, episodes }) => {
        let workerUrl = url;
        if (source === "blob")
          workerUrl = URL.createObjectURL(new Blob([await (await fetch(url)).text()], { type: "text/javascript" }));
        const worker = new Worker(workerUrl, { type: "module" });
        try {
          return await new Promise<unknown>((resolve, reject) => {
            worker.onmessage = (e) => resolve(e.data);
            worker.onerror = (e) => reject(new Error(e.message || "worker failed to start"));
            worker.postMessage({ id: 1, episodes });
          });
        } finally {
          worker.terminate();
        }
      },
      { url: tableWorker, source, episodes },
    ) as Promise<{ rows?: { name: string; moving: number; meanMotion: number }[]; error?: { message: string } }>;
  const served = await run("site");
  if (!served.rows || served.rows[0].moving !== 1 || served.rows[0].meanMotion !== 0.25)
    throw new Error(`the table worker answered ${JSON.stringify(served)}`);
  const blob = await run("blob");
  if (!blob.error || !/Content Security Policy refuses/.test(blob.error.message))
    throw new Error(`under the page's policy the worker answered ${JSON.stringify(blob)}`);
  t.log(`under the page's policy: ${blob.error.message}`);

  // 4. tfjs-vis draws under the strict policy: a line chart, as the training dashboard does.
  const [charts] = builtFiles("_import/components", /^charts\.[0-9a-f]{8}\.js$/);
  const chart = await page.evaluate(async (url) => {
    // As a module script of the page (not page.evaluate, which the policy does not cover).
    const probe = document.createElement("script");
    probe.type = "module";
    probe.src = URL.createObjectURL(
      new Blob(
        [
          `import {metricChart} from ${JSON.stringify(new URL(url, location.href).href)};
      const rows = Array.from({length: 20}, (_, i) => ({step: i + 1, value: 1 / (i + 1), run: "probe"}));
      const figure = metricChart(rows, {label: "loss", width: 320, height: 160, runs: ["probe"]});
      figure.id = "csp-probe-chart";
      document.querySelector("#observablehq-main").append(figure);`,
        ],
        { type: "text/javascript" },
      ),
    );
    document.head.append(probe);
    let figure: HTMLElement | null = null;
    for (let i = 0; i < 200 && figure?.dataset.rendered !== "true"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      figure = document.querySelector<HTMLElement>("#csp-probe-chart");
    }
    return {
      rendered: figure?.dataset.rendered,
      line: figure?.querySelector("g.mark-line path")?.getAttribute("d") ?? "",
      text: figure?.textContent,
    };
  }, charts);
  if (chart.rendered !== "true" || chart.line.length < 20)
    throw new Error(`tfjs-vis drew no line under the strict policy: ${JSON.stringify(chart)}`);
});

e2e("security: each page runs its own inline scripts by hash and refuses an injected one", async (t) => {
  const context = await t.newContext({ serviceWorkers: "block" });
  // Violations are recorded from the first byte of every page (an init script is not subject to the policy).
  await context.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __violations: string[] }).__violations = seen;
    document.addEventListener("securitypolicyviolation", (e) =>
      seen.push(`${e.effectiveDirective}: ${e.blockedURI || "inline"} (${e.sample})`),
    );
  });
  const violations = (p: import("playwright-core").Page) =>
    p.evaluate(() => (window as unknown as { __violations: string[] }).__violations.slice());
  const pages = htmlPages();
  let hashes = 0;
  let last: import("playwright-core").Page | null = null;
  for (const path of pages) {
    const response = await fetch(new URL(path, t.baseUrl + "/"));
    const html = await response.text();
    const header = response.headers.get("content-security-policy") ?? "";
    const meta = html
      .match(/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/)?.[1]
      .replace(/&quot;/g, '"');
    const scriptSrc = header.match(/script-src ([^;]*)/)?.[1] ?? "";
    if (/'unsafe-inline'/.test(scriptSrc)) throw new Error(`${path}: script-src allows 'unsafe-inline': ${scriptSrc}`);
    if (meta !== header) throw new Error(`${path}: the <meta> policy differs from the header:\n  ${meta}\n  ${header}`);
    const inline = [...html.matchAll(/<script\b(?![^>]*\ssrc=)[^>]*>/g)].length;
    const listed = (scriptSrc.match(/'sha256-/g) ?? []).length;
    if (inline === 0 || listed < 1)
      throw new Error(`${path}: ${inline} inline scripts, ${listed} hashes in its policy`);
    hashes += listed;
    const page = await t.open(path, { context });
    await settled(page);
    const errors = await page.locator(".observablehq--error").allTextContents();
    if (errors.length) throw new Error(`${path}: cells failed: ${errors.join(" | ")}`);
    const seen = await violations(page);
    if (seen.length) throw new Error(`${path}: the policy refused the page's own code: ${seen.join("; ")}`);
    if (last) await last.close();
    last = page;
  }
  t.log(`${pages.length} pages ran under hash policies (${hashes} inline-script hashes in all), no violation`);

  // Injected into a running page: an inline script and an inline event handler. Neither runs.
  t.expectProblem(/Refused to execute inline (script|event handler)|Content Security Policy/);
  const page = last!;
  const injected = await page.evaluate(async () => {
    const w = window as unknown as { __injectedScript?: boolean; __injectedHandler?: boolean };
    const script = document.createElement("script");
    script.textContent = "window.__injectedScript = true;";
    document.body.append(script);
    const holder = document.createElement("div");
    holder.innerHTML = `<button type="button" onclick="window.__injectedHandler = true">x</button>`;
    document.body.append(holder);
    holder.querySelector("button")!.click();
    await new Promise((r) => setTimeout(r, 200));
    return { script: w.__injectedScript === true, handler: w.__injectedHandler === true };
  });
  if (injected.script || injected.handler) throw new Error(`injected code ran: ${JSON.stringify(injected)}`);
  const refused = await violations(page);
  if (
    !refused.some((v) => v.startsWith("script-src-elem: inline")) ||
    !refused.some((v) => v.startsWith("script-src-attr: inline"))
  ) {
    throw new Error(`expected the injected script and handler to be refused, saw: ${refused.join("; ")}`);
  }
  t.log(`injected and refused: ${refused.join("; ")}`);
});
