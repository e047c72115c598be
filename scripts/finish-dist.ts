/**
 * Runs after `observable build`: applies the HTML fixes of scripts/site-html.ts to every page in
 * dist/, then gates the result with scripts/check-dist.ts.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { patchHtml } from "./site-html.js";

function htmlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? htmlFiles(path) : name.endsWith(".html") ? [path] : [];
  });
}

let patched = 0;
for (const file of htmlFiles("dist")) {
  const before = readFileSync(file, "utf8");
  const after = patchHtml(before);
  if (after !== before) {
    writeFileSync(file, after);
    patched++;
  }
}
console.log(`finish-dist: patched ${patched} page(s)`);
