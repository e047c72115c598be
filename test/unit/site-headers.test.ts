import { describe, expect, it } from "vitest";
import { CONTENT_SECURITY_POLICY, EVAL_ALLOWED_SCRIPTS, serveStatic, siteHeaders } from "../../scripts/serve.js";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

describe("site headers", () => {
  it("send cross-origin isolation and a policy without 'unsafe-eval' to pages and scripts", () => {
    for (const path of ["/", "/pages/train.html", "/_import/vendor/tfjs-vis.1a2b3c4d.js", "/_file/assets/workers/train.0badf00d.js", "/sw.js"]) {
      const h = siteHeaders(path);
      expect(h["Cross-Origin-Opener-Policy"]).toBe("same-origin");
      expect(h["Cross-Origin-Embedder-Policy"]).toBe("require-corp");
      expect(h["Content-Security-Policy"]).toBe(CONTENT_SECURITY_POLICY);
      expect(h["Content-Security-Policy"]).not.toMatch(/'unsafe-eval'/);
      expect(h["Content-Security-Policy"]).toMatch(/'wasm-unsafe-eval'/);
    }
  });

  it("allow 'unsafe-eval' only for the arquero table worker's script, hashed or not", () => {
    for (const path of ["/_file/assets/workers/episode-table.a2c2c35e.js", "/_file/assets/workers/episode-table.js"]) {
      const policy = siteHeaders(path)["Content-Security-Policy"];
      expect(policy).toMatch(/script-src [^;]*'unsafe-eval'/);
      // ...and, in exchange, no network and no workers.
      expect(policy).toMatch(/connect-src 'none'/);
      expect(policy).toMatch(/worker-src 'none'/);
    }
    for (const path of ["/_file/assets/workers/episode-table.js.map", "/pages/episode-table.html", "/workers/episode-table-x.js", "/_file/assets/workers/episode-table.a2c2c35e.js/x"]) {
      expect(EVAL_ALLOWED_SCRIPTS.test(path), path).toBe(false);
    }
  });

  it("are what the static server sends", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gamedream-serve-"));
    try {
      mkdirSync(join(dir, "w"));
      writeFileSync(join(dir, "index.html"), "<p>hi</p>");
      writeFileSync(join(dir, "w", "episode-table.js"), "export {};");
      mkdirSync(join(dir, "_file/assets/workers"), { recursive: true });
      writeFileSync(join(dir, "_file/assets/workers/episode-table.0123abcd.js"), "export {};");
      const { server, url } = await serveStatic(dir);
      try {
        const page = await fetch(url + "/");
        expect(page.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
        const worker = await fetch(url + "/_file/assets/workers/episode-table.0123abcd.js");
        expect(worker.headers.get("content-type")).toMatch(/javascript/);
        expect(worker.headers.get("content-security-policy")).toMatch(/'unsafe-eval'/);
        expect((await fetch(url + "/missing")).headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
      } finally {
        server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
