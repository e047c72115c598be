/**
 * The repository keeps the layering of docs/architecture.md: stage folders with one entry, imports
 * only downward, none from src/lib into pages, workers, CLI or scripts, no circles. The checker is
 * also run on trees that break each rule, so this test can fail.
 */
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { checkArchitecture, findCycles, importsOf } from "../helpers/architecture.js";

function repositoryFiles(): Map<string, string> {
  const listed = execFileSync(
    "git",
    ["ls-files", "-co", "--exclude-standard", "src", "cli", "scripts", "bench", "test"],
    { encoding: "utf8" },
  );
  const files = new Map<string, string>();
  for (const file of listed.split("\n")) {
    if (!/\.(ts|js|md)$/.test(file) || file.startsWith("src/assets/") || file.startsWith("src/vendor/")) continue;
    try {
      files.set(file, readFileSync(file, "utf8"));
    } catch {
      // listed but deleted in the work tree
    }
  }
  return files;
}

const tree = (entries: Record<string, string>) => new Map(Object.entries(entries));
const base = {
  "src/lib/core/index.ts": 'export * from "./errors.js";\n',
  "src/lib/core/errors.ts": "export class E {}\n",
  "src/lib/models/index.ts": 'export * from "./dit.js";\n',
  "src/lib/models/dit.ts": 'import { E } from "../core/index.js";\nexport const dit = E;\n',
  "src/lib/train/index.ts": 'export * from "./loop.js";\n',
  "src/lib/train/loop.ts": 'import { dit } from "../models/index.js";\nexport const loop = dit;\n',
  "src/lib/train/files.node.ts": 'import { writeFile } from "node:fs/promises";\nexport const w = writeFile;\n',
  "src/lib/train/node.ts": 'export * from "./files.node.js";\n',
  "src/pages/train.md": '```js\nimport {loop} from "../lib/train/index.js";\n```\n',
};

describe("architecture", () => {
  it("the repository keeps every rule", () => {
    expect(checkArchitecture(repositoryFiles())).toEqual([]);
  });

  it("a tree that keeps the rules passes", () => {
    expect(checkArchitecture(tree(base))).toEqual([]);
  });

  it("fails when a lower stage imports a higher one (models knows no trainer)", () => {
    const problems = checkArchitecture(
      tree({
        ...base,
        "src/lib/models/dit.ts": 'import { loop } from "../train/index.js";\nexport const dit = loop;\n',
      }),
    );
    expect(problems.some((p) => p.includes("the models stage imports ../train/index.js"))).toBe(true);
    expect(problems.some((p) => p.startsWith("import circle"))).toBe(true);
  });

  it("fails when src/lib imports a page, worker, CLI or script", () => {
    for (const target of [
      "../../pages/x.js",
      "../../workers/train.js",
      "../../../cli/train.js",
      "../../../scripts/x.js",
    ]) {
      const problems = checkArchitecture(
        tree({ ...base, "src/lib/train/loop.ts": `import { x } from "${target}";\nexport const loop = x;\n` }),
      );
      expect(
        problems.some((p) => p.includes("src/lib may not import from")),
        target,
      ).toBe(true);
    }
  });

  it("fails when a folder is imported other than through its entry", () => {
    const problems = checkArchitecture(
      tree({ ...base, "src/pages/train.md": '```js\nimport {loop} from "../lib/train/loop.js";\n```\n' }),
    );
    expect(problems).toEqual([expect.stringContaining("through its entry")]);
  });

  it("fails on a module outside a stage folder, a folder without index.ts, and a host-only import", () => {
    const problems = checkArchitecture(
      tree({
        ...base,
        "src/lib/loose.ts": "export {};\n",
        "src/lib/game/map.ts": "export {};\n",
        "src/lib/train/loop.ts": 'import { w } from "./files.node.js";\nexport const loop = w;\n',
      }),
    );
    expect(problems.some((p) => p.startsWith("src/lib/loose.ts"))).toBe(true);
    expect(problems).toContain("src/lib/game/: has no index.ts entry");
    expect(problems.some((p) => p.includes("host-independent module imports the node-only"))).toBe(true);
  });

  it("fails when a page imports a Node-only or worker-only entry", () => {
    for (const entry of ["node", "worker"]) {
      const problems = checkArchitecture(
        tree({
          ...base,
          [`src/lib/train/${entry}.ts`]: "export {};\n",
          "src/pages/train.md": `\`\`\`js\nimport {w} from "../lib/train/${entry}.js";\n\`\`\`\n`,
        }),
      );
      expect(problems).toEqual([`src/pages/train.md: a page imports the ${entry}-only ../lib/train/${entry}.js`]);
    }
  });

  it("reads static, type, re-export and dynamic imports", () => {
    const source =
      'import a from "./a.js";\nimport type { B } from "../b.js";\nexport * from "./c.js";\nconst d = await import("./d.js");\nimport "./e.js";\n';
    expect(importsOf("src/lib/x/y.ts", source).map((e) => e.to)).toEqual([
      "src/lib/x/a.ts",
      "src/lib/b.ts",
      "src/lib/x/c.ts",
      "src/lib/x/d.ts",
      "src/lib/x/e.ts",
    ]);
  });

  it("finds circles", () => {
    expect(
      findCycles(
        new Map([
          ["a", ["b"]],
          ["b", ["c"]],
          ["c", ["a"]],
          ["d", ["a"]],
        ]),
      ),
    ).toEqual([["a", "b", "c"]]);
    expect(
      findCycles(
        new Map([
          ["a", ["b"]],
          ["b", []],
        ]),
      ),
    ).toEqual([]);
  });
});
