/**
 * Runs after `observable build`: applies the HTML fixes of scripts/site-html.ts to every page in
 * dist/, then makes the site an offline, installable web app (scripts/service-worker.ts: manifest,
 * icons, service worker precaching every file). `npm run build` then gates the result with
 * scripts/check-dist.ts.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeWebApp } from "./service-worker.js";
import { patchHtml } from "./site-html.js";
import { DIST_DIR } from "./dist-dir.js";

function htmlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? htmlFiles(path) : name.endsWith(".html") ? [path] : [];
  });
}

let patched = 0;
for (const file of htmlFiles(DIST_DIR)) {
  const before = readFileSync(file, "utf8");
  const after = patchHtml(before);
  if (after !== before) {
    writeFileSync(file, after);
    patched++;
  }
}
console.log(`finish-dist: patched ${patched} page(s)`);

// Last: the service worker's file list and version hash cover the finished files.
const app = await writeWebApp(DIST_DIR);
console.log(`finish-dist: service worker precaches ${app.files} files (${(app.bytes / 1e6).toFixed(1)} MB), version ${app.version}`);
