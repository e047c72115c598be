/**
 * Runs every browser test against the built site: `npm run test:e2e` (after `npm run build`).
 * Serves dist/ (and the tests' own pages, scripts/dist-dir.ts TEST_PAGES_DIR), launches Chromium once, runs test/e2e/*.e2e.ts in file order, prints one line per
 * test and a closing `N passed, N failed` line; exits non-zero on any failure.
 *   npm run test:e2e -- pages      # only tests whose file or name contains "pages"
 */
import { readdirSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { serveStatic } from "../../scripts/serve.js";
import { DIST_DIR, TEST_PAGES_DIR } from "../../scripts/dist-dir.js";
import { launchChromium, registeredTests, reportStrayError, runTest, setCurrentFile } from "./harness.js";

const filter = process.argv[2];
const dist = resolve(DIST_DIR);
if (!existsSync(join(dist, "index.html"))) {
  console.error(`error[NO_DIST]: ${DIST_DIR}/index.html is missing; run \`npm run build\` first.`);
  process.exit(1);
}

const dir = resolve("test/e2e");
for (const file of readdirSync(dir)
  .filter((f) => f.endsWith(".e2e.ts"))
  .sort()) {
  setCurrentFile(file);
  await import(pathToFileURL(join(dir, file)).href);
}
const tests = registeredTests().filter((t) => !filter || t.file.includes(filter) || t.name.includes(filter));
if (tests.length === 0) {
  console.error(`error[NO_TESTS]: no browser test matched${filter ? ` "${filter}"` : ""}.`);
  process.exit(1);
}

process.on("unhandledRejection", reportStrayError);
process.on("uncaughtException", reportStrayError);
// The tests' own pages (/pages/tests/...) are not in the published site; they are served from beside it.
const { server, url } = await serveStatic(dist, 0, { extraRoots: [TEST_PAGES_DIR] });
const browser = await launchChromium();
console.log(`e2e: ${tests.length} browser test(s) against ${url} in Chromium ${browser.version()}`);
let passed = 0;
let failed = 0;
for (const test of tests) {
  const result = await runTest(test, browser, url);
  if (result.ok) {
    passed++;
    console.log(`  ✓ ${test.file} › ${test.name} (${result.ms} ms)`);
  } else {
    failed++;
    console.log(`  ✗ ${test.file} › ${test.name} (${result.ms} ms)`);
    for (const p of result.problems) console.log(`      ${p.split("\n").join("\n      ")}`);
  }
}
await browser.close();
server.close();
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
