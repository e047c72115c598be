import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import {
  CONTENT_SECURITY_POLICY,
  EVAL_ALLOWED_SCRIPTS,
  inlineScriptHashes,
  pagePolicy,
  serveStatic,
  siteHeaders,
  withPolicyMeta,
} from "../../scripts/serve.js";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

describe("site headers", () => {
  it("send cross-origin isolation and a policy without 'unsafe-eval' to pages and scripts", () => {
    for (const path of [
      "/",
      "/pages/train.html",
      "/_import/vendor/tfjs-vis.1a2b3c4d.js",
      "/_file/assets/workers/train.0badf00d.js",
      "/sw.js",
    ]) {
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
    for (const path of [
      "/_file/assets/workers/episode-table.js.map",
      "/pages/episode-table.html",
      "/workers/episode-table-x.js",
      "/_file/assets/workers/episode-table.a2c2c35e.js/x",
    ]) {
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

  it("allow a page's own inline scripts by their SHA-256, and no 'unsafe-inline' script anywhere", () => {
    const module = `import {define} from "./_observablehq/client.js";\ndefine({id: "a", body: () => 1});`;
    const html = `<!DOCTYPE html><html><head><meta charset="utf-8"><script type="module">${module}</script><script src="x.js"></script></head><body><script>
new MutationObserver(() => {});
</script><script type="module">${module}</script></body></html>`;
    const hash = (text: string) => `sha256-${createHash("sha256").update(text).digest("base64")}`;
    expect(inlineScriptHashes(html)).toEqual([hash(module), hash("\nnew MutationObserver(() => {});\n")]);
    const policy = pagePolicy(html);
    expect(policy).toMatch(new RegExp(`script-src 'self' '${hash(module).replace(/[+/=]/g, "\\$&")}' 'sha256-`));
    for (const p of [policy, CONTENT_SECURITY_POLICY, siteHeaders("/pages/a.html", html)["Content-Security-Policy"]])
      expect(p).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    expect(siteHeaders("/pages/a.html", html)["Content-Security-Policy"]).toBe(policy);
    // Any change to a script's text is a different script: its old hash no longer matches.
    expect(pagePolicy(html.replace("body: () => 1", "body: () => 2"))).not.toBe(policy);

    // The <meta> form: after <meta charset>, before every script, replaced (not repeated) when redone.
    const withMeta = withPolicyMeta(html);
    const at = withMeta.indexOf('<meta http-equiv="Content-Security-Policy"');
    expect(at).toBeGreaterThan(withMeta.indexOf('<meta charset="utf-8">'));
    expect(at).toBeLessThan(withMeta.indexOf("<script"));
    expect(withMeta).toContain(`content="${policy}"`);
    expect(withPolicyMeta(withMeta)).toBe(withMeta);
  });

  it("serve each page with its own policy, extra roots for test pages, and a plain mode without headers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gamedream-serve-"));
    try {
      const page = `<html><head><script type="module">console.log(1)</script></head></html>`;
      mkdirSync(join(dir, "site", "pages"), { recursive: true });
      mkdirSync(join(dir, "tests", "pages", "tests"), { recursive: true });
      writeFileSync(join(dir, "site", "pages", "a.html"), page);
      writeFileSync(join(dir, "tests", "pages", "tests", "t.html"), "<p>test</p>");
      const { server, url } = await serveStatic(join(dir, "site"), 0, { extraRoots: [join(dir, "tests")] });
      try {
        const a = await fetch(url + "/pages/a.html");
        expect(a.headers.get("content-security-policy")).toBe(pagePolicy(page));
        expect(await a.text()).toBe(page);
        expect((await fetch(url + "/pages/tests/t.html")).status).toBe(200);
      } finally {
        server.close();
      }
      const plain = await serveStatic(join(dir, "site"), 0, { siteHeaders: false });
      try {
        const a = await fetch(plain.url + "/pages/a.html");
        expect(a.status).toBe(200);
        for (const h of ["content-security-policy", "cross-origin-opener-policy", "cross-origin-embedder-policy"])
          expect(a.headers.get(h)).toBeNull();
        expect((await fetch(plain.url + "/pages/tests/t.html")).status).toBe(404);
      } finally {
        plain.server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
