/**
 * `npm run dev`: the workbench on http://127.0.0.1:3000 with live reload.
 * Framework's preview server cannot send headers, so it runs on an internal port and this proxy
 * adds COOP/COEP (crossOriginIsolated, so wasm threads work), the Content Security Policy (each
 * page's with the SHA-256 of its own inline scripts) and the HTML accessibility fixes, and passes
 * live-reload WebSocket upgrades through.
 *   npm run dev -- --port 4000
 */
import { spawn } from "node:child_process";
import { createServer, request } from "node:http";
import { connect } from "node:net";
import { siteHeaders } from "./serve.js";
import { patchHtml } from "./site-html.js";

const args = process.argv.slice(2);
const portIndex = args.indexOf("--port");
const PORT = portIndex >= 0 ? Number(args[portIndex + 1]) : 3000;
const INNER = PORT + 1;

const preview = spawn("npx", ["observable", "preview", "--host", "127.0.0.1", "--port", String(INNER), "--no-open"], {
  stdio: ["ignore", "pipe", "inherit"],
  env: { ...process.env, OBSERVABLE_TELEMETRY_DISABLE: "true" },
});
preview.stdout.on("data", (chunk: Buffer) => {
  // Framework prints its own (internal) address; show the proxied one instead.
  const text = chunk.toString().replace(`http://127.0.0.1:${INNER}/`, `http://127.0.0.1:${PORT}/`);
  process.stdout.write(text);
});
preview.on("exit", (code) => process.exit(code ?? 1));
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => preview.kill(signal));

const server = createServer((req, res) => {
  const upstream = request(
    {
      host: "127.0.0.1",
      port: INNER,
      path: req.url,
      method: req.method,
      headers: { ...req.headers, host: `127.0.0.1:${INNER}`, "accept-encoding": "identity" },
    },
    (up) => {
      const headers = { ...up.headers, ...siteHeaders(new URL(req.url ?? "/", "http://127.0.0.1").pathname) };
      const isHtml = String(up.headers["content-type"] ?? "").includes("text/html");
      if (!isHtml) {
        res.writeHead(up.statusCode ?? 502, headers);
        up.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      up.on("data", (c: Buffer) => chunks.push(c));
      up.on("end", () => {
        const html = patchHtml(Buffer.concat(chunks).toString("utf8"));
        const body = Buffer.from(html);
        delete headers["content-length"];
        // The page's policy allows exactly its own inline scripts, by hash (scripts/serve.ts).
        const pageHeaders = siteHeaders(new URL(req.url ?? "/", "http://127.0.0.1").pathname, html);
        res.writeHead(up.statusCode ?? 502, { ...headers, ...pageHeaders, "content-length": String(body.length) });
        res.end(body);
      });
    },
  );
  upstream.on("error", () => {
    res.writeHead(502, { "content-type": "text/plain" });
    res.end("The Framework preview server is still starting; reload in a moment.");
  });
  req.pipe(upstream);
});

server.on("upgrade", (req, socket, head) => {
  const upstream = connect(INNER, "127.0.0.1", () => {
    const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    upstream.write(lines.join("\r\n") + "\r\n\r\n");
    upstream.write(head);
    upstream.pipe(socket).pipe(upstream);
  });
  upstream.on("error", () => socket.destroy());
  socket.on("error", () => upstream.destroy());
});

server.listen(PORT, "127.0.0.1", () => console.log(`gamedream: workbench on http://127.0.0.1:${PORT}/ (COOP/COEP on)`));
