import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { absolutePathsIn, relativizeReport, reportPath } from "../../src/lib/core/index.js";

describe("report paths", () => {
  const root = "/home/someone/gamedream";

  it("records paths inside the repository relative to it, and others by name only", () => {
    expect(reportPath("/home/someone/gamedream/weights/realtime/dit/model.json", root)).toBe(
      "weights/realtime/dit/model.json",
    );
    expect(reportPath("/home/someone/gamedream", root)).toBe(".");
    expect(reportPath("/home/someone/gamedream-old/runs", root)).toBe("runs");
    expect(reportPath("/tmp/eval-data/", root)).toBe("eval-data");
    expect(reportPath("runs/data", root)).toBe("runs/data");
  });

  it("rewrites every string of a report, nested, and leaves numbers and keys alone", () => {
    const report = {
      run: "/home/someone/gamedream/weights/realtime",
      data: "/tmp/x/data",
      sources: [{ location: "directory /home/someone/gamedream/runs/dit ckpt-000100", step: 100 }],
      command: "npm run eval -- --run /home/someone/gamedream/weights/realtime --data /var/tmp/d --out e.json",
      psnr: 22.5,
      "/home/someone/gamedream": true,
    };
    const out = relativizeReport(report, root);
    expect(out).toEqual({
      run: "weights/realtime",
      data: "data",
      sources: [{ location: "directory runs/dit ckpt-000100", step: 100 }],
      command: "npm run eval -- --run weights/realtime --data d --out e.json",
      psnr: 22.5,
      "/home/someone/gamedream": true,
    });
    expect(absolutePathsIn(JSON.stringify(Object.values(out)), root)).toEqual([]);
  });

  it("finds absolute paths in text (so the scan below can fail)", () => {
    expect(absolutePathsIn(`{"location": "/work/main/weights/realtime/vae/model.json"}`)).toEqual([
      "/work/main/weights/realtime/vae/model.json",
    ]);
    expect(absolutePathsIn("C:\\Users\\me\\runs and file:///srv/x")).toEqual(["C:\\Users\\me\\runs", "file:///srv/x"]);
    expect(absolutePathsIn("site pages /pages/play.html, 24 ms/frame, a/b")).toEqual([]);
    expect(absolutePathsIn("built in /opt/ci/checkout/x", "/opt/ci/checkout")).toContain("/opt/ci/checkout");
  });
});

/** Committed reports: weights/ (report.json, eval.json, model manifests), docs/ and bench/results/. */
function reportFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return reportFiles(path);
    return /\.(json|md|txt|csv)$/.test(name) ? [path] : [];
  });
}

describe("committed reports", () => {
  const files = ["weights", "docs", "bench/results"].flatMap((dir) => reportFiles(dir));

  it("exist (the scan has something to read)", () => {
    expect(files.some((f) => f.endsWith("eval.json"))).toBe(true);
    expect(files.some((f) => f.startsWith(join("bench", "results")))).toBe(true);
  });

  it("record no absolute path", () => {
    const found = files.flatMap((file) =>
      absolutePathsIn(readFileSync(file, "utf8"), process.cwd()).map((p) => `${relative(".", file)}: ${p}`),
    );
    expect(found).toEqual([]);
  });
});
