/**
 * Gate for `npm run build`. Framework exits 0 even when an import failed to resolve or a page
 * would fetch from a CDN, so this script reads dist/ and fails when:
 * - any file mentions a CDN or font host (the site must work offline and send nothing away);
 * - an HTML page loads a script, stylesheet, image or font from an absolute http(s) URL;
 * - a JavaScript module imports from an http(s) URL, or keeps a bare specifier (`from "d3"`)
 *   that the browser cannot resolve;
 * - a relative import or a file Framework references is missing from dist/ (Framework's own
 *   client in _observablehq/ lazily imports libraries for implicit globals that are absent on
 *   purpose; a page that uses one fails the browser tests with a 404);
 * - Framework rendered an error into a page;
 * - a page lacks its script policy (`<meta http-equiv>` with the SHA-256 of each of its inline
 *   scripts, scripts/serve.ts), or its policy allows 'unsafe-inline' scripts;
 * - a test page (src/pages/tests/) is in the site: the test harness serves those itself.
 * Browser tests (test/e2e) then load every page and fail on any console error or failed request.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { DIST_DIR, TEST_PAGES_PATH } from "./dist-dir.js";
import { pagePolicy } from "./serve.js";

const DIST = resolve(process.argv[2] ?? DIST_DIR);
const REMOTE_HOSTS =
  /\b(cdn\.jsdelivr\.net|unpkg\.com|fonts\.googleapis\.com|fonts\.gstatic\.com|esm\.sh|cdnjs\.cloudflare\.com|cdn\.skypack\.dev|ga\.jspm\.io|api\.observablehq\.com|static\.observableusercontent\.com)\b/;
const HTML_REMOTE = /<(script|link|img|source|video|audio|iframe)\b[^>]*\b(src|href)\s*=\s*["']?(https?:)?\/\//i;
const JS_IMPORT = /(?:\bimport\s*\(\s*|\bfrom\s*|\bimport\s*)["'`]([^"'`]+)["'`]/g;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

export function checkDist(dist: string): string[] {
  if (!existsSync(dist)) return [`${dist} does not exist: the build produced nothing`];
  const problems: string[] = [];
  const files = walk(dist);
  for (const file of files) {
    if (!/\.(html|js|css|json|webmanifest)$/.test(file)) continue;
    const text = readFileSync(file, "utf8");
    const where = relative(dist, file);
    const host = text.match(REMOTE_HOSTS);
    if (host) problems.push(`${where}: mentions remote host ${host[1]}`);
    if (file.endsWith(".html")) {
      if (where.split(sep).join("/").startsWith(`${TEST_PAGES_PATH}/`))
        problems.push(`${where}: a test page is published in the site (scripts/finish-dist.ts moves them out)`);
      const meta = text.match(/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/);
      const policy = meta?.[1].replace(/&quot;/g, '"');
      if (!policy) problems.push(`${where}: has no <meta http-equiv="Content-Security-Policy">`);
      else if (policy !== pagePolicy(text.replace(meta![0], "")))
        problems.push(`${where}: its policy does not list the hashes of its inline scripts as they are now`);
      if (policy && /script-src[^;]*'unsafe-inline'/.test(policy))
        problems.push(`${where}: its policy allows 'unsafe-inline' scripts`);
      const remote = text.match(HTML_REMOTE);
      if (remote) problems.push(`${where}: loads from a remote URL: ${remote[0].slice(0, 120)}`);
      if (/class="observablehq--error"|Error: Unable to load|Failed to resolve/.test(text))
        problems.push(`${where}: Framework rendered an error`);
      for (const m of text.matchAll(/(?:href|src)="(\.{1,2}\/[^"#?]+|\/[^"#?]+)"/g)) {
        const target = m[1].startsWith("/") ? join(dist, m[1]) : resolve(dirname(file), m[1]);
        if (!existsSync(target) && !existsSync(target + ".html") && !existsSync(join(target, "index.html"))) {
          problems.push(`${where}: references missing file ${m[1]}`);
        }
      }
    }
    if (file.endsWith(".js") || file.endsWith(".html")) {
      for (const m of text.matchAll(JS_IMPORT)) {
        const spec = m[1];
        if (/^https?:/.test(spec)) problems.push(`${where}: imports from the network: ${spec}`);
        else if (/^\.{0,2}\//.test(spec)) {
          if (spec.startsWith("/_observablehq/") || spec.includes("${") || where.startsWith("_observablehq/")) continue;
          const target = spec.startsWith("/") ? join(dist, spec) : resolve(dirname(file), spec);
          if (/\.(js|css)$/.test(spec) && !existsSync(target))
            problems.push(`${where}: imports missing module ${spec}`);
        } else if (/^node:/.test(spec)) {
          problems.push(`${where}: imports the Node built-in "${spec}", which no browser has`);
        } else if (/^(npm|jsr|observablehq):/.test(spec)) {
          if (!spec.startsWith("observablehq:")) problems.push(`${where}: unresolved ${spec}`);
        } else if (
          /^[@a-z][\w@./-]*$/i.test(spec) &&
          !/\s/.test(spec) &&
          (m[0].startsWith("from") || m[0].startsWith("import"))
        ) {
          problems.push(`${where}: bare import "${spec}" cannot load in a browser`);
        }
      }
    }
  }
  return problems;
}

const problems = checkDist(DIST);
if (problems.length) {
  console.error(`check-dist: ${problems.length} problem(s) in ${relative(process.cwd(), DIST)}/:`);
  for (const p of problems.slice(0, 50)) console.error(`  - ${p}`);
  process.exit(1);
}
console.log(
  `check-dist: ${relative(process.cwd(), DIST)}/ is self-contained (no CDN, no remote URL, every import resolves)`,
);
