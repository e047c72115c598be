/**
 * A static file server for dist/ that sends the headers gamedream needs: COOP/COEP so the page is
 * crossOriginIsolated (multi-threaded wasm), a Content Security Policy, and correct MIME types
 * (application/wasm for streaming compilation). Used by `npm run serve` and the browser tests.
 *
 *   npm run serve                 # dist/ on http://127.0.0.1:3000
 *   npm run serve -- --port 8080
 *   npm run serve -- --plain      # as a plain static host: no COOP/COEP, no policy header
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server, type ServerResponse } from "node:http";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DIST_DIR } from "./dist-dir.js";

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".svg": "image/svg+xml",
  ".webm": "video/webm",
  ".mp4": "video/mp4",
  ".bin": "application/octet-stream",
  ".webmanifest": "application/manifest+json",
  ".txt": "text/plain; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".woff2": "font/woff2",
  ".ico": "image/x-icon",
};

/**
 * The site's Content Security Policy. Scripts run only from the site itself (`'self'`) or, for
 * the inline module scripts Framework writes into each page, when their SHA-256 is listed
 * (`scriptHashes`, computed from the page by `inlineScriptHashes`): no `'unsafe-inline'`, so a
 * script injected into a page does not run. `'wasm-unsafe-eval'` is needed to compile the tfjs
 * wasm backend; no `'unsafe-eval'` (tfjs-vis charts run without it: scripts/vendor/). `blob:`
 * workers are allowed for tfjs' threaded wasm and our workers.
 */
export function contentSecurityPolicy({
  allowEval = false,
  scriptHashes = [],
}: { allowEval?: boolean; scriptHashes?: readonly string[] } = {}): string {
  const hashes = scriptHashes.map((h) => ` '${h}'`).join("");
  return [
    "default-src 'self'",
    `script-src 'self'${hashes} 'wasm-unsafe-eval'${allowEval ? " 'unsafe-eval'" : ""} blob:`,
    `script-src-attr 'unsafe-hashes' ${HTL_PLACEHOLDER_HASHES.map((h) => `'${h}'`).join(" ")}`,
    // Code that may evaluate strings gets no network and no workers of its own.
    allowEval ? "worker-src 'none'" : "worker-src 'self' blob:",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    allowEval ? "connect-src 'none'" : "connect-src 'self' blob: data:",
    "font-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
  ].join("; ");
}

/**
 * Inline event-handler attributes (`onclick="..."`) are refused, except for the exact text
 * `::0` ... `::31`. Observable Inputs builds its forms with htl templates such as
 * html`<input oninput=${f}>`: htl parses the markup with a placeholder attribute
 * (`oninput="::3"`), imports it into the page, then removes the attribute and assigns the
 * function as a property. Setting that placeholder attribute in the page is checked against the
 * policy (Chromium reports a violation per form otherwise, though the handler is never run);
 * `'unsafe-hashes'` with these hashes allows only those strings, which are not even valid
 * JavaScript, so no injected handler can match them.
 */
const HTL_PLACEHOLDER_HASHES = Array.from(
  { length: 32 },
  (_, i) => `sha256-${createHash("sha256").update(`::${i}`).digest("base64")}`,
);

/** Inline `<script>` elements of a page (those without `src`): their exact text, as the browser hashes it. */
const INLINE_SCRIPT = /<script\b((?:[^>"']|"[^"]*"|'[^']*')*)>([\s\S]*?)<\/script\s*>/gi;

/** `sha256-<base64>` of every inline script in `html`, in document order, without repeats. */
export function inlineScriptHashes(html: string): string[] {
  const hashes: string[] = [];
  for (const m of html.matchAll(INLINE_SCRIPT)) {
    if (/\ssrc\s*=/i.test(m[1])) continue;
    const hash = `sha256-${createHash("sha256").update(m[2], "utf8").digest("base64")}`;
    if (!hashes.includes(hash)) hashes.push(hash);
  }
  return hashes;
}

/** The policy of one page: the site's, with the hashes of that page's own inline scripts. */
export function pagePolicy(html: string): string {
  return contentSecurityPolicy({ scriptHashes: inlineScriptHashes(html) });
}

const POLICY_META = /<meta http-equiv="Content-Security-Policy" content="[^"]*">\n?/gi;

/**
 * `html` with its policy as a `<meta http-equiv>` (for static hosts that send no headers), placed
 * before any script (a meta policy covers only what follows it) and after `<meta charset>` (which
 * must come within the first 1024 bytes). Replaces an earlier one, so it can run again.
 */
export function withPolicyMeta(html: string): string {
  const clean = html.replace(POLICY_META, "");
  const meta = `<meta http-equiv="Content-Security-Policy" content="${pagePolicy(clean).replace(/"/g, "&quot;")}">\n`;
  const charset = clean.match(/<meta charset="[^"]*">\n?/i);
  if (charset?.index !== undefined) {
    const at = charset.index + charset[0].length;
    return clean.slice(0, at) + meta + clean.slice(at);
  }
  return clean.replace(/<head>\n?/i, (head) => head + meta);
}

/** The policy every page and file gets. */
export const CONTENT_SECURITY_POLICY = contentSecurityPolicy();

/**
 * The one exception: the script of the worker that computes the per-episode tables with arquero
 * (src/workers/episode-table.ts). Arquero compiles every table expression with `Function()`, so
 * that worker's own policy (a worker takes the policy sent with its script) allows
 * `'unsafe-eval'`, and no network (`connect-src 'none'`) and no workers of its own. It has no DOM;
 * it gets episode rows and posts table rows back. Pages keep the policy above.
 */
export const EVAL_ALLOWED_SCRIPTS = /\/workers\/episode-table(\.[0-9a-f]{8})?\.js$/;

/**
 * Headers a response for `pathname` carries, in the dev proxy and the static server alike. A page
 * passes its `html`: its policy then lists the hashes of its inline scripts (`pagePolicy`).
 */
export function siteHeaders(pathname: string, html?: string): Record<string, string> {
  return {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy":
      html === undefined ? contentSecurityPolicy({ allowEval: EVAL_ALLOWED_SCRIPTS.test(pathname) }) : pagePolicy(html),
    "X-Content-Type-Options": "nosniff",
  };
}

function send(res: ServerResponse, status: number, body: string, withHeaders = true): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", ...(withHeaders ? siteHeaders("/") : {}) });
  res.end(body);
}

export interface ServeOptions {
  /**
   * Folders searched after `dir` for a path `dir` lacks: the browser tests serve their own pages
   * (scripts/dist-dir.ts TEST_PAGES_DIR) beside the site without publishing them in it.
   */
  extraRoots?: readonly string[];
  /**
   * false: send only Content-Type and Content-Length, as a plain static host does (no COOP/COEP,
   * no policy header; pages then rely on their `<meta>` policy and the service worker).
   */
  siteHeaders?: boolean;
}

/** Serves `dir` on 127.0.0.1; port 0 picks a free port. Resolves once listening. */
export function serveStatic(
  dir: string,
  port = 0,
  options: ServeOptions = {},
): Promise<{ server: Server; url: string }> {
  const roots = [dir, ...(options.extraRoots ?? [])].map((r) => resolve(r));
  const find = (pathname: string): string | null => {
    for (const root of roots) {
      let path = normalize(join(root, pathname));
      if (!path.startsWith(root)) return null;
      if (existsSync(path) && statSync(path).isDirectory()) path = join(path, "index.html");
      if (!existsSync(path) && existsSync(path + ".html")) path += ".html";
      if (existsSync(path)) return path;
    }
    return null;
  };
  const withHeaders = options.siteHeaders ?? true;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = find(decodeURIComponent(url.pathname));
    if (path === null) return send(res, 404, "not found", withHeaders);
    // A page's policy lists the hashes of its own inline scripts, so pages are read to be sent.
    const page = extname(path) === ".html" ? readFileSync(path) : null;
    const headers: Record<string, string> = {
      "Content-Type": MIME[extname(path)] ?? "application/octet-stream",
      "Content-Length": String(page ? page.length : statSync(path).size),
      ...(withHeaders ? siteHeaders(url.pathname, page?.toString("utf8")) : {}),
    };
    // Hashed files never change; pages and the service worker must be revalidated.
    headers["Cache-Control"] = /\.[0-9a-f]{8}\.\w+$/.test(path) ? "public, max-age=31536000, immutable" : "no-cache";
    res.writeHead(200, headers);
    if (req.method === "HEAD") return res.end();
    if (page) return res.end(page);
    createReadStream(path).pipe(res);
  });
  return new Promise((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const actualPort = typeof address === "object" && address ? address.port : port;
      resolvePromise({ server, url: `http://127.0.0.1:${actualPort}` });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const portIndex = args.indexOf("--port");
  const port = portIndex >= 0 ? Number(args[portIndex + 1]) : 3000;
  const dir = args.find((a, i) => !a.startsWith("--") && args[i - 1] !== "--port") ?? DIST_DIR;
  if (!existsSync(dir)) {
    console.error(`error[NO_DIST]: ${dir}/ does not exist; run \`npm run build\` first.`);
    process.exit(1);
  }
  const plain = args.includes("--plain");
  serveStatic(dir, port, { siteHeaders: !plain }).then(({ url }) =>
    console.log(
      `gamedream: serving ${dir}/ on ${url} ${plain ? "as a plain static host (no headers; the service worker isolates pages after the first load)" : "(COOP/COEP on)"}`,
    ),
  );
}
