/**
 * Runs before `dev` and `build`:
 * - bundles the packages whose browser entries Framework cannot resolve offline into src/vendor/
 *   (tfjs-backend-wasm imports Node built-ins), keeping @tensorflow/tfjs-core external so every
 *   page shares one engine; and tfjs-vis's renderers with Vega's expression interpreter swapped
 *   in for its `new Function` compiler (scripts/vendor/), so charts run under the site's CSP;
 * - copies the tfjs wasm binaries into src/assets/ so pages load them from the site itself;
 * - bundles each Web Worker entry `src/workers/NAME.ts` (with everything it imports, tfjs
 *   included) into `src/assets/workers/NAME.js`, which pages start with
 *   `new Worker(FileAttachment("../assets/workers/NAME.js").href, {type: "module"})`
 *   (Framework does not bundle workers; `npm run dev` bundles them once at start);
 * - with --clean-cache, clears Framework's data-loader cache, which survives code changes;
 * - writes browser bundles of packages whose own entries pull in Node built-ins (mediabunny:
 *   `node:fs/promises`) straight into Framework's module cache, where Framework takes them as
 *   already resolved; pages and src/lib keep importing them by their bare names.
 * Neither folder is committed: this script regenerates them.
 */
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

const require = createRequire(import.meta.url);
const started = Date.now();

// Framework clears only an output folder inside the project; a side build's folder elsewhere
// would keep old files and fail with "file conflict", so clear it here.
if (process.env.GAMEDREAM_DIST && !resolve(process.env.GAMEDREAM_DIST).startsWith(resolve(".") + "/")) {
  rmSync(process.env.GAMEDREAM_DIST, { recursive: true, force: true });
}
// Data loaders' outputs depend on files Framework does not watch (weights/, bench/results/), so
// every build recomputes them. A side build (GAMEDREAM_DIST set) keeps the rest of the shared
// cache (bundled packages), which another build may be reading.
if (process.argv.includes("--clean-cache")) {
  rmSync(process.env.GAMEDREAM_DIST ? "src/.observablehq/cache/data" : "src/.observablehq/cache", {
    recursive: true,
    force: true,
  });
}

const wasmDist = join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist");
const assets = "src/assets/tfjs-wasm";
mkdirSync(assets, { recursive: true });
for (const name of ["tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm-threaded-simd.wasm"]) {
  copyFileSync(join(wasmDist, name), join(assets, name));
}

/** Node built-ins referenced by code paths that never run in a browser. */
const nodeBuiltinsAsEmpty = {
  name: "node-builtins-empty",
  setup(b: import("esbuild").PluginBuild) {
    b.onResolve(
      {
        filter:
          /^(node:)?(fs|fs\/promises|path|os|perf_hooks|worker_threads|crypto|util|url|stream|string_decoder|child_process)$/,
      },
      (args) => ({
        path: args.path,
        namespace: "empty",
      }),
    );
    b.onLoad({ filter: /.*/, namespace: "empty" }, () => ({ contents: "export default {};", loader: "js" }));
  },
};

/**
 * Inside the tfjs-vis bundle, "vega-embed" resolves to scripts/vendor/vega-embed-ast.ts and
 * vega-embed's "vega" to scripts/vendor/vega-with-interpreter.ts: Vega then interprets its
 * expressions instead of compiling them with `new Function`, which the site's CSP refuses.
 */
const vegaWithoutEval = {
  name: "vega-without-eval",
  setup(b: import("esbuild").PluginBuild) {
    const shim = (file: string) => resolve("scripts/vendor", file);
    b.onResolve({ filter: /^vega-embed$/ }, (args) =>
      args.importer === shim("vega-embed-ast.ts") ? undefined : { path: shim("vega-embed-ast.ts") },
    );
    b.onResolve({ filter: /^vega$/ }, (args) =>
      /[\\/]vega-embed[\\/]/.test(args.importer) ? { path: shim("vega-with-interpreter.ts") } : undefined,
    );
  },
};

/** One minified ES module for browsers: Node built-ins stubbed, production React/Vega paths. */
function browserBundle(entry: string, outfile: string, options: { external?: string[] } = {}): Promise<unknown> {
  return build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    external: options.external,
    plugins: [nodeBuiltinsAsEmpty, vegaWithoutEval],
    logLevel: "error",
    define: { "process.env.NODE_ENV": '"production"' },
  });
}

const vendored: { entry: string; out: string }[] = [
  { entry: "@tensorflow/tfjs-backend-wasm", out: "tfjs-backend-wasm.js" },
  { entry: "./scripts/vendor/tfjs-vis.ts", out: "tfjs-vis.js" },
];
mkdirSync("src/vendor", { recursive: true });
for (const { entry, out } of vendored) {
  const path = entry.startsWith("@tensorflow/tfjs-backend-wasm")
    ? `${wasmDist}/index.js`
    : entry.startsWith("./")
      ? resolve(entry)
      : require.resolve(entry);
  await browserBundle(path, join("src/vendor", out), {
    external: ["@tensorflow/tfjs-core", "@tensorflow/tfjs-core/*"],
  });
}

/** Self-contained browser bundles that stand in for Framework's own bundling of a package. */
const prebundled = ["mediabunny"];
for (const name of prebundled) {
  const { version } = JSON.parse(readFileSync(join("node_modules", name, "package.json"), "utf8"));
  await browserBundle(name, join("src/.observablehq/cache/_node", `${name}@${version}`, "index.js"));
}

const workers = readdirSync("src/workers").filter((f) => f.endsWith(".ts"));
mkdirSync("src/assets/workers", { recursive: true });
for (const file of workers) {
  await browserBundle(join("src/workers", file), join("src/assets/workers", file.replace(/\.ts$/, ".js")));
}

console.log(
  `prepare-site: vendored ${vendored.map((v) => v.out).join(", ")}; prebundled ${prebundled.join(", ")}; workers ${workers.map((w) => w.replace(/\.ts$/, ".js")).join(", ")}; wasm binaries copied (${Date.now() - started} ms)`,
);
