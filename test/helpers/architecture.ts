/**
 * The import rules of docs/architecture.md as a checker over a map of files (path -> source), so a
 * test can run it on the repository and on made-up trees that break each rule.
 *
 * Rules:
 * - every module of src/lib lives in a stage folder (`src/lib/<stage>/`), and each folder has an
 *   `index.ts` entry (`node.ts` / `browser.ts` hold what needs one host);
 * - a folder is imported from outside only through an entry;
 * - a stage imports only stages below it in `LAYERS` (game and video sit side by side and know
 *   nothing of each other);
 * - src/lib imports nothing from pages, components, workers, the CLI, scripts, benchmarks or tests;
 * - a host-independent module imports no Node-only, browser-only or worker-only module or entry;
 * - pages and their components import no Node-only or worker-only entry (`worker.ts` holds what
 *   needs npm packages a page cannot load, for Web Workers and Node);
 * - no import circle between src/lib modules.
 */
import { posix as path } from "node:path";

/** Stages of src/lib from the bottom up; a stage may import the stages of earlier rows only. */
export const LAYERS: readonly (readonly string[])[] = [
  ["core"],
  ["actions"],
  ["game", "video"],
  ["nn"],
  ["diffusion"],
  ["storage"],
  ["models"],
  ["data"],
  ["play"],
  ["train"],
  ["bench"],
];

const ENTRIES = new Set(["index.ts", "node.ts", "browser.ts", "worker.ts"]);
const OUTSIDE_LIB = [
  "src/pages/",
  "src/components/",
  "src/workers/",
  "src/data/",
  "cli/",
  "scripts/",
  "bench/",
  "test/",
];

export interface ImportEdge {
  from: string;
  /** The imported file, repository-relative with a `.ts` extension (or as written for non-TS targets). */
  to: string;
  spec: string;
}

const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s*(?:type\s+)?(?:[^"'`;]*?\sfrom\s*)?["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

/** Relative imports of one file (static, re-exports, dynamic with a literal), resolved to repo paths. */
export function importsOf(file: string, source: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const m of source.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2];
    const to = path.normalize(path.join(path.dirname(file), spec)).replace(/\.js$/, ".ts");
    edges.push({ from: file, to, spec });
  }
  return edges;
}

function stageOf(file: string): string | null {
  const m = /^src\/lib\/([^/]+)\/[^/]+$/.exec(file);
  return m ? m[1] : null;
}

function rankOf(stage: string): number {
  return LAYERS.findIndex((row) => row.includes(stage));
}

/** Which host a module needs: Node built-ins, browser APIs, or npm packages pages cannot load (workers and Node only). */
const hostOf = (file: string): "node" | "browser" | "worker" | null =>
  /(\.node|\/node)\.ts$/.test(file)
    ? "node"
    : /(\.browser|\/browser)\.ts$/.test(file)
      ? "browser"
      : /(\.worker|\/worker)\.ts$/.test(file)
        ? "worker"
        : null;

/** Every broken rule, one line each (empty when the tree keeps them all). */
export function checkArchitecture(files: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  const libFiles = [...files.keys()].filter((f) => f.startsWith("src/lib/") && f.endsWith(".ts"));
  const stages = new Set<string>();
  for (const f of libFiles) {
    const stage = stageOf(f);
    if (!stage) {
      problems.push(`${f}: every src/lib module belongs in a stage folder (src/lib/<stage>/<module>.ts)`);
      continue;
    }
    stages.add(stage);
    if (rankOf(stage) < 0)
      problems.push(
        `${f}: stage "${stage}" is not in the layer table (test/helpers/architecture.ts LAYERS, docs/architecture.md)`,
      );
  }
  for (const stage of stages) {
    if (!files.has(`src/lib/${stage}/index.ts`)) problems.push(`src/lib/${stage}/: has no index.ts entry`);
  }

  const graph = new Map<string, string[]>();
  for (const [file, source] of files) {
    if (!/\.(ts|js|md)$/.test(file)) continue;
    for (const edge of importsOf(file, source)) {
      const { to, spec } = edge;
      const fromStage = stageOf(file);
      const toStage = stageOf(to);
      if (fromStage) {
        const outside = OUTSIDE_LIB.find((p) => to.startsWith(p));
        if (outside) problems.push(`${file}: imports ${spec}, but src/lib may not import from ${outside}`);
        if (to.startsWith("src/lib/")) graph.set(file, [...(graph.get(file) ?? []), to]);
        if (!hostOf(file) && hostOf(to))
          problems.push(`${file}: a host-independent module imports the ${hostOf(to)}-only ${spec}`);
      }
      if (/^src\/(pages|components)\//.test(file) && (hostOf(to) === "node" || hostOf(to) === "worker")) {
        problems.push(`${file}: a page imports the ${hostOf(to)}-only ${spec}`);
      }
      if (!toStage || toStage === fromStage) continue;
      if (!ENTRIES.has(path.basename(to))) {
        problems.push(
          `${file}: imports ${spec}; outside src/lib/${toStage}/ import it through its entry (index.js, node.js, browser.js or worker.js)`,
        );
      }
      if (fromStage) {
        const from = rankOf(fromStage);
        const target = rankOf(toStage);
        if (from >= 0 && target >= 0 && target >= from) {
          problems.push(
            `${file}: the ${fromStage} stage imports ${spec}, but ${toStage} is ${target === from ? "beside" : "above"} it (see docs/architecture.md)`,
          );
        }
      }
    }
  }
  for (const cycle of findCycles(graph)) problems.push(`import circle: ${cycle.join(" -> ")}`);
  return problems;
}

/** One representative cycle per strongly connected component of more than one module (or a self-import). */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.reverse());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}
