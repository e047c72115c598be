/**
 * Runs after `observable build`:
 * - moves the browser tests' own pages (src/pages/tests/) out of dist/ into TEST_PAGES_DIR
 *   (scripts/dist-dir.ts): the published site holds no test page, the test harness serves them;
 * - applies the HTML fixes of scripts/site-html.ts to every page;
 * - makes the site an offline, installable web app (scripts/service-worker.ts: manifest, icons,
 *   service worker precaching every file);
 * - writes each page's Content Security Policy into it as `<meta http-equiv>` (scripts/serve.ts
 *   `withPolicyMeta`: the SHA-256 of each of its inline scripts, no 'unsafe-inline'), so a static
 *   host that sends no headers still refuses injected scripts.
 * `npm run build` then gates the result with scripts/check-dist.ts.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeWebApp } from "./service-worker.js";
import { patchHtml } from "./site-html.js";
import { withPolicyMeta } from "./serve.js";
import { DIST_DIR, TEST_PAGES_DIR, TEST_PAGES_PATH } from "./dist-dir.js";

function htmlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? htmlFiles(path) : name.endsWith(".html") ? [path] : [];
  });
}

function finishPages(dir: string, finish: (html: string) => string): number {
  let changed = 0;
  for (const file of htmlFiles(dir)) {
    const before = readFileSync(file, "utf8");
    const after = finish(before);
    if (after !== before) {
      writeFileSync(file, after);
      changed++;
    }
  }
  return changed;
}

// First: test pages leave the site (before the service worker lists its files).
const builtTests = join(DIST_DIR, TEST_PAGES_PATH);
if (existsSync(builtTests)) {
  const target = join(TEST_PAGES_DIR, TEST_PAGES_PATH);
  rmSync(TEST_PAGES_DIR, { recursive: true, force: true });
  mkdirSync(dirname(target), { recursive: true });
  renameSync(builtTests, target);
  console.log(
    `finish-dist: moved ${htmlFiles(TEST_PAGES_DIR).length} test page(s) out of the site into ${TEST_PAGES_DIR}/`,
  );
}
if (existsSync(TEST_PAGES_DIR)) finishPages(TEST_PAGES_DIR, (html) => withPolicyMeta(patchHtml(html)));

console.log(`finish-dist: patched ${finishPages(DIST_DIR, patchHtml)} page(s)`);

// Last: the service worker's file list and version hash cover the finished files, policies included.
const app = await writeWebApp(DIST_DIR, { finishPage: withPolicyMeta });
console.log(
  `finish-dist: service worker precaches ${app.files} files (${(app.bytes / 1e6).toFixed(1)} MB), version ${app.version}; every page carries its script policy`,
);
