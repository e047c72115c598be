import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readTar, writeTar } from "../../src/lib/storage/index.js";

const enc = new TextEncoder();

describe("tar", () => {
  const files = new Map<string, Uint8Array>([
    ["run.json", enc.encode('{"step":3}')],
    ["weights/group1-shard1of1.bin", Uint8Array.from({ length: 1300 }, (_, i) => i % 251)],
    ["empty.txt", new Uint8Array(0)],
    [`${"d".repeat(80)}/${"f".repeat(90)}.bin`, Uint8Array.of(1, 2, 3)],
  ]);

  it("round-trips files, long paths included", () => {
    const back = readTar(writeTar(files));
    expect([...back.keys()]).toEqual([...files.keys()]);
    for (const [k, v] of files) expect(Array.from(back.get(k)!)).toEqual(Array.from(v));
  });

  it("is read by the system tar and reads what it writes", () => {
    const dir = mkdtempSync(join(tmpdir(), "gamedream-tar-"));
    try {
      writeFileSync(join(dir, "a.tar"), writeTar(files));
      const list = spawnSync("tar", ["-tf", join(dir, "a.tar")], { encoding: "utf8" });
      expect(list.status).toBe(0);
      expect(list.stdout.trim().split("\n")).toEqual([...files.keys()]);
      writeFileSync(join(dir, "x.txt"), "hello");
      expect(spawnSync("tar", ["--format=ustar", "-cf", join(dir, "b.tar"), "-C", dir, "x.txt"]).status).toBe(0);
      expect(new TextDecoder().decode(readTar(readFileSync(join(dir, "b.tar"))).get("x.txt"))).toBe("hello");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rejects damaged, cut-off and unsafe archives", () => {
    const bytes = writeTar(files);
    const damaged = bytes.slice();
    damaged[3] ^= 0xff;
    expect(() => readTar(damaged, "run.tar")).toThrow(
      /run.tar is not a readable tar archive: the header at byte 0 fails its checksum/,
    );
    expect(() => readTar(bytes.slice(0, 1024))).toThrow(/cut off/);
    expect(() => readTar(new Uint8Array(10))).toThrow(/empty or too short/);
    expect(() => writeTar(new Map([["../x", new Uint8Array(1)]]))).toThrow(/unsafe/);
  });
});
