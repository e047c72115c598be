/**
 * A static file server for dist/ that sends the headers gamedream needs: COOP/COEP so the page is
 * crossOriginIsolated (multi-threaded wasm), a Content Security Policy, and correct MIME types
 * (application/wasm for streaming compilation). Used by `npm run serve` and the browser tests.
 *
 *   npm run serve                 # dist/ on http://127.0.0.1:3000
 *   npm run serve -- --port 8080
 */
import { createReadStream, existsSync, statSync } from "node:fs";
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
 * The site's Content Security Policy. `'wasm-unsafe-eval'` is needed to compile the tfjs wasm
 * backend; `'unsafe-inline'` for scripts is needed because Framework inlines each page's module
 * script; no `'unsafe-eval'` (tfjs-vis charts run without it: scripts/vendor/). `blob:` workers
 * are allowed for tfjs' threaded wasm and our workers.
 */
export function contentSecurityPolicy({ allowEval = false }: { allowEval?: boolean } = {}): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'${allowEval ? " 'unsafe-eval'" : ""} blob:`,
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

/** Headers a response for `pathname` carries, in the dev proxy and the static server alike. */
export function siteHeaders(pathname: string): Record<string, string> {
  return {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": contentSecurityPolicy({ allowEval: EVAL_ALLOWED_SCRIPTS.test(pathname) }),
    "X-Content-Type-Options": "nosniff",
  };
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", ...siteHeaders("/") });
  res.end(body);
}

/** Serves `dir` on 127.0.0.1; port 0 picks a free port. Resolves once listening. */
export function serveStatic(dir: string, port = 0): Promise<{ server: Server; url: string }> {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    let path = normalize(join(root, decodeURIComponent(url.pathname)));
    if (!path.startsWith(root)) return send(res, 403, "forbidden");
    if (existsSync(path) && statSync(path).isDirectory()) path = join(path, "index.html");
    if (!existsSync(path) && existsSync(path + ".html")) path += ".html";
    if (!existsSync(path)) return send(res, 404, "not found");
    const headers: Record<string, string> = {
      "Content-Type": MIME[extname(path)] ?? "application/octet-stream",
      "Content-Length": String(statSync(path).size),
      ...siteHeaders(url.pathname),
    };
    // Hashed files never change; pages and the service worker must be revalidated.
    headers["Cache-Control"] = /\.[0-9a-f]{8}\.\w+$/.test(path) ? "public, max-age=31536000, immutable" : "no-cache";
    res.writeHead(200, headers);
    if (req.method === "HEAD") return res.end();
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
  serveStatic(dir, port).then(({ url }) => console.log(`gamedream: serving ${dir}/ on ${url} (COOP/COEP on)`));
}
