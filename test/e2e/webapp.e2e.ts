// The workbench as a web app: offline after a first visit (service worker), nothing sent to another
// origin, storage limits and a full quota handled, runs exported and imported with identical
// outputs, several videos ingested at once. Library code runs inside the built pages by importing
// the same hashed modules the page uses (found in dist/), so tests exercise what users run.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { PATTERN_CLIPS, encodePatternClip } from "../fixtures/make-fixtures.js";
import { DIST_DIR as DIST } from "../../scripts/dist-dir.js";
import { e2e, expectNoAxeViolations, fillInput, htmlPages, settled } from "./harness.js";

/** Site path of a built library module, e.g. "storage-manager.browser" -> "/_import/lib/storage-manager.browser.1a2b3c4d.js". */
function libModule(name: string): string {
  const dir = join(DIST, "_import/lib", name.split("/").slice(0, -1).join("/"));
  const base = name.split("/").at(-1)!;
  const file = readdirSync(dir).find((f) => new RegExp(`^${base.replace(/\./g, "\\.")}\\.[0-9a-f]{8}\\.js$`).test(f));
  if (!file) throw new Error(`no built module for ${name} in ${dir}`);
  return "/" + relative(DIST, join(dir, file)).split("\\").join("/");
}

function tfjsModule(): string {
  const dir = join(DIST, "_node/@tensorflow/tfjs@4.22.0");
  return "/" + relative(DIST, join(dir, readdirSync(dir).find((f) => /^index\.[0-9a-f]{8}\.js$/.test(f))!));
}

/** Waits until a service worker controls the page. */
async function controlled(page: Page): Promise<void> {
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 60_000 });
}

e2e("webapp: offline reload after a first visit serves every page, the wasm binaries and the weights", async (t) => {
  const context = await t.newContext();
  const page = await t.open("index.html", { context });
  await settled(page);
  await controlled(page);
  const manifest = await page.evaluate(async () => {
    const link = document.querySelector<HTMLLinkElement>('link[rel="manifest"]');
    return link ? (await fetch(link.href)).json() : null;
  });
  if (manifest?.short_name !== "gamedream" || manifest.icons?.length !== 2)
    throw new Error(`bad web app manifest: ${JSON.stringify(manifest)}`);
  const swSource = readFileSync(join(DIST, "sw.js"), "utf8");
  const files = JSON.parse(/const FILES = (\[.*\]);/.exec(swSource)![1]) as string[];
  for (const must of [
    /tfjs-backend-wasm-simd\.[0-9a-f]{8}\.wasm$/,
    /pages\/storage\.html$/,
    /sw-register\.js$/,
    /weights-realtime\.[0-9a-f]{8}\.tar$/,
  ]) {
    if (!files.some((f) => must.test(f))) throw new Error(`sw.js does not precache ${must}`);
  }
  const weights = files.find((f) => /weights-realtime\.[0-9a-f]{8}\.tar$/.test(f))!;
  t.log(`precached ${files.length} files; shipped weights archive ${statSync(join(DIST, weights)).size} bytes`);

  await context.setOffline(true);
  await page.reload({ waitUntil: "load" });
  await settled(page);
  const backend = await page.locator("#backend-name").textContent();
  if (!["wasm", "webgl", "webgpu", "cpu"].includes(backend ?? ""))
    throw new Error(`offline reload did not render the overview (backend: ${backend})`);
  if ((await page.locator(".observablehq--error").count()) > 0) throw new Error("a cell failed offline");

  // Every precached file comes back offline, byte for byte the size of the built file.
  const sizes = await page.evaluate(async (list) => {
    const out: Record<string, number> = {};
    for (const f of list) {
      const r = await fetch(new URL(f, location.origin + "/").href);
      out[f] = r.ok ? (await r.arrayBuffer()).byteLength : -r.status;
    }
    return out;
  }, files);
  const wrong = files.filter((f) => sizes[f] !== statSync(join(DIST, f)).size);
  if (wrong.length) throw new Error(`offline copies differ from dist/: ${wrong.slice(0, 5).join(", ")}`);

  const storage = await context.newPage();
  await storage.goto(new URL("pages/storage.html", t.baseUrl + "/").href);
  await settled(storage);
  const status = await storage.locator("#offline-status").textContent();
  if (!/served by the offline copy/.test(status ?? "")) throw new Error(`storage page offline status: ${status}`);
  await t.screenshot(storage, "webapp-offline-storage");

  // Offline, the data page's table worker still gets its own policy (the cached response keeps
  // its headers), so arquero computes the per-episode table.
  const data = await context.newPage();
  await data.goto(new URL("pages/data.html", t.baseUrl + "/").href);
  await data.waitForFunction(
    () =>
      document.querySelectorAll("#episodes-table tbody tr").length > 0 ||
      document.querySelector("#episodes-box [role=alert]"),
    undefined,
    { timeout: 60_000 },
  );
  const alert = await data.locator("#episodes-box [role=alert]").count();
  if (alert)
    throw new Error(`offline, the per-episode table failed: ${await data.locator("#episodes-box").textContent()}`);
  await context.setOffline(false);
});

e2e(
  "webapp: no request leaves the origin while every page loads, a video is uploaded and saved, your play is recorded, a model trains on stored data and plays (service worker in charge)",
  async (t) => {
    const context = await t.newContext();
    const first = await t.open("index.html", { context });
    await settled(first);
    await controlled(first);
    const outside: string[] = [];
    context.on("request", (r) => {
      if (!/^(data|blob|about):/.test(r.url()) && new URL(r.url()).origin !== new URL(t.baseUrl).origin)
        outside.push(r.url());
    });
    for (const path of htmlPages()) {
      const page = await context.newPage();
      await page.goto(new URL(path, t.baseUrl + "/").href, { waitUntil: "load" });
      await settled(page);
      await page.close();
    }

    // What a user does with their data, in the same context: upload a video, train, play.
    const dir = mkdtempSync(join(tmpdir(), "gamedream-privacy-"));
    try {
      const clip = PATTERN_CLIPS.vp8;
      const video = join(dir, clip.file);
      await encodePatternClip(video, clip);
      const data = await context.newPage();
      await data.goto(new URL("pages/data.html", t.baseUrl + "/").href, { waitUntil: "load" });
      await settled(data);
      await data.getByRole("radio", { name: "Upload a video and/or an action log" }).check();
      await data.getByLabel("Video (MP4 or WebM)", { exact: true }).setInputFiles(video);
      await data.waitForFunction(
        () =>
          document.querySelectorAll("#frame-strip canvas").length > 0 &&
          document.querySelectorAll("#episodes-table tbody tr").length === 1,
        undefined,
        { timeout: 60_000 },
      );
      // Kept as a dataset in this browser (IndexedDB), then exported as video + action log.
      await fillInput(data, "Dataset name", "privacy-upload");
      await data.click("#dataset-keep-save");
      await data.waitForFunction(
        () => document.querySelector<HTMLElement>("#dataset-keep-status")?.dataset.saved === "privacy-upload",
        undefined,
        { timeout: 60_000 },
      );
      await data.getByRole("radio", { name: "A dataset stored in this browser" }).check();
      await data.waitForSelector("#dataset-export-video", { timeout: 60_000 });
      await data.click("#dataset-export-video");
      await data.waitForFunction(
        () => /Saved privacy-upload\.webm/.test(document.querySelector("#dataset-keep-status")?.textContent ?? ""),
        undefined,
        { timeout: 60_000 },
      );
      await data.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Your own play of the built-in game, recorded as a dataset.
    const record = await context.newPage();
    await record.goto(new URL("pages/play.html", t.baseUrl + "/").href, { waitUntil: "load" });
    await settled(record, 120_000);
    await fillInput(record, "Dataset name", "privacy-play");
    await record.click("#record-dataset");
    await record.locator("h1").click();
    await record.keyboard.down("KeyJ");
    await record.waitForFunction(
      () =>
        Number(
          /(\d+) frames recorded/.exec(document.querySelector("#record-dataset-count")?.textContent ?? "")?.[1] ?? 0,
        ) >= 10,
      undefined,
      { timeout: 60_000 },
    );
    await record.keyboard.up("KeyJ");
    await record.click("#record-dataset");
    await record.waitForFunction(
      () => document.querySelector<HTMLElement>("#record-dataset-status")?.dataset.saved === "privacy-play",
      undefined,
      { timeout: 60_000 },
    );
    await record.close();
    // Training on a stored dataset (the saved upload).
    const train = await context.newPage();
    await train.goto(new URL("pages/train.html?data=privacy-upload", t.baseUrl + "/").href, { waitUntil: "load" });
    await settled(train, 120_000);
    for (const [label, value] of [
      ["Run name", "privacy-run"],
      ["Episodes", "1"],
      ["Frames per episode", "16"],
      ["Batch size", "1"],
      ["Clip length (DiT)", "3"],
      ["Train until step", "2"],
      ["Checkpoint every N steps", "1"],
      ["Preview every N steps (0: never)", "0"],
    ]) {
      await fillInput(train, label, value);
    }
    await train.click("#train-start");
    await train.waitForFunction(
      () => /Run “privacy-run” \(step 2/.test(document.querySelector("#play-links")?.textContent ?? ""),
      undefined,
      { timeout: 180_000 },
    );
    await train.close();
    // That run played, then a dream started from the saved upload's first frames.
    for (const path of ["pages/play.html?run=privacy-run", "pages/play.html?start=dataset:privacy-upload"]) {
      const play = await context.newPage();
      await play.goto(new URL(path, t.baseUrl + "/").href, { waitUntil: "load" });
      await settled(play, 120_000);
      await play.locator("h1").click();
      await play.keyboard.down("w");
      await play.waitForFunction(
        () => Number(document.querySelector("#play-frame")?.getAttribute("data-frame") ?? 0) >= 10,
        undefined,
        { timeout: 60_000 },
      );
      await play.keyboard.up("w");
      const name = await play.locator("#play-model-name").textContent();
      if (path.includes("run=") && name !== "run “privacy-run”") throw new Error(`${path} plays ${name}`);
      await play.close();
    }
    t.log(
      "every page loaded, a video uploaded, saved and exported, 10 frames of play recorded, 2 training steps on the stored upload, the run and a dream from the upload played: no request to another origin",
    );

    if (outside.length) throw new Error(`requests to other origins: ${outside.join(", ")}`);
    const offOrigin = t.problems().filter((p) => p.includes("another origin"));
    if (offOrigin.length) throw new Error(offOrigin.join("\n"));
  },
  { timeoutMs: 600_000 },
);

/** Opens the storage page and waits until its modules and TensorFlow.js are ready. */
async function storagePage(t: Parameters<Parameters<typeof e2e>[1]>[0], context?: BrowserContext): Promise<Page> {
  const page = await t.open("pages/storage.html", context ? { context } : undefined);
  await settled(page);
  // tsx compiles this file with esbuild's keepNames, whose __name helper the page lacks.
  await page.evaluate("globalThis.__name = (f) => f");
  return page;
}

const MODULES = () => ({
  tf: tfjsModule(),
  storage: libModule("storage/index"),
  idb: libModule("storage/browser"),
  manager: libModule("data/browser"),
  frames: libModule("data/browser"),
  dit: libModule("models/index"),
  noise: libModule("nn/index"),
});

e2e("webapp: a full quota while saving gives a clear message and keeps earlier checkpoints", async (t) => {
  // No service worker: its precache (about 18 MB) would otherwise land after the usage is read
  // and eat the small quota this test sets, failing the first save instead of the third.
  const page = await storagePage(t, await t.newContext({ serviceWorkers: "block" }));
  const cdp = await page.context().newCDPSession(page);
  const usage = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
  // A real QuotaExceededError from IndexedDB: the origin gets 1.5 MB more than it uses now.
  await cdp.send("Storage.overrideQuotaForOrigin", { origin: new URL(t.baseUrl).origin, quotaSize: usage + 1_500_000 });
  const result = await page.evaluate(async (m) => {
    const tf = await import(m.tf);
    const { saveRunCheckpoint } = await import(m.manager);
    const { IdbCheckpointStore } = await import(m.idb);
    const { listCheckpoints, loadLatestCheckpoint, disposeCheckpoint } = await import(m.storage);
    // Chromium compresses large IndexedDB values, so a constant tensor of 4 MB stores in a few
    // KB and fits; the save meant to overflow writes random (incompressible) values.
    const save = (step: number, n: number, incompressible = false) => {
      const w = incompressible ? tf.tensor1d(Float32Array.from({ length: n }, Math.random)) : tf.fill([n], step);
      return saveRunCheckpoint("quota run", { step, weights: new Map([["w", w]]), rng: {}, config: { n } }).finally(
        () => w.dispose(),
      );
    };
    await save(1, 50_000);
    await save(2, 50_000);
    let error: { code?: string; message?: string } = {};
    try {
      await save(3, 1_000_000, true); // 4 MB: over the quota
    } catch (e) {
      error = { code: (e as { code?: string }).code, message: (e as Error).message };
    }
    const store = await IdbCheckpointStore.open("quota run");
    const ids = (await listCheckpoints(store)).map((c: { id: string }) => c.id);
    const { checkpoint, skipped } = await loadLatestCheckpoint(store);
    const values = Array.from(await checkpoint.weights.get("w").data()).slice(0, 3);
    disposeCheckpoint(checkpoint);
    store.close();
    return { error, ids, step: checkpoint.step, values, skipped: skipped.length };
  }, MODULES());
  t.log(`quota error: ${result.error.message}`);
  if (result.error.code !== "STORAGE_QUOTA")
    throw new Error(`expected STORAGE_QUOTA, got ${JSON.stringify(result.error)}`);
  if (
    !/Earlier checkpoints are intact/.test(result.error.message!) ||
    !/step-000001, step-000002/.test(result.error.message!)
  ) {
    throw new Error(`message does not say what was kept: ${result.error.message}`);
  }
  if (JSON.stringify(result.ids) !== JSON.stringify(["step-000001", "step-000002"]))
    throw new Error(`checkpoints after the failed save: ${result.ids}`);
  if (result.step !== 2 || result.values.join() !== "2,2,2" || result.skipped !== 0)
    throw new Error(`latest checkpoint damaged: ${JSON.stringify(result)}`);
  await cdp.send("Storage.overrideQuotaForOrigin", { origin: new URL(t.baseUrl).origin });
  await page.reload();
  await settled(page);
  const row = await page.locator("#runs-table tbody tr", { hasText: "quota run" }).locator("td").nth(1).textContent();
  if (row !== "2") throw new Error(`storage page shows ${row} checkpoints for the run`);
});

e2e(
  "webapp: pruning keeps 3 checkpoints per run, the IndexedDB limit, and the frame cache's size and age",
  async (t) => {
    const page = await storagePage(t);
    const result = await page.evaluate(async (m) => {
      const tf = await import(m.tf);
      const { saveRunCheckpoint, enforceStorageLimits } = await import(m.manager);
      const { IdbCheckpointStore } = await import(m.idb);
      const { listCheckpoints, saveCheckpoint } = await import(m.storage);
      const { FrameCache } = await import(m.frames);
      // The library's entries register tfjs' wasm backend on import; these tensors only need the CPU
      // one. Let the page's own backend start finish first: switching while its wasm initialisation is
      // pending leaves tfjs waiting on it, and the next op throws "Backend 'cpu' has not yet been
      // initialized" (seen on a loaded machine).
      await tf.ready();
      await tf.setBackend("cpu");
      const w = tf.ones([1000]);
      for (let step = 1; step <= 5; step++)
        await saveRunCheckpoint("managed", { step, weights: new Map([["w", w]]), rng: {}, config: {} });
      // A run saved without the manager (an older version, another tab): 5 checkpoints until limits apply.
      const raw = await IdbCheckpointStore.open("raw");
      for (let step = 1; step <= 5; step++)
        await saveCheckpoint(raw, { step, weights: new Map([["w", w]]), rng: {}, config: {} });
      w.dispose();
      const ids = async (run: string) => {
        const s = await IdbCheckpointStore.open(run);
        const out = (await listCheckpoints(s)).map((c: { step: number }) => c.step);
        s.close();
        return out;
      };
      const managed = await ids("managed");
      const rawBefore = await ids("raw");
      const keep3 = await enforceStorageLimits();
      const rawAfter = await ids("raw");
      // Over a (tiny) IndexedDB limit: runs other than the active one keep only their newest.
      const tight = await enforceStorageLimits({ limitBytes: 1, activeRun: "managed" });
      const afterTight = { managed: await ids("managed"), raw: await ids("raw") };

      let now = 1_000_000;
      const cache = await FrameCache.open({ name: "gamedream-frames-test", limitBytes: 250_000, now: () => now });
      for (const key of ["a", "b", "c"]) {
        await cache.put(key, new Uint8Array(100_000).fill(key.charCodeAt(0)));
        now += 1000;
      }
      const afterSize = await cache.entries();
      now += 8 * 24 * 3600 * 1000;
      const expiredGet = await cache.get("c");
      const expired = await cache.enforce();
      const afterAge = await cache.usage();
      await caches.delete("gamedream-frames-test");
      return {
        managed,
        rawBefore,
        rawAfter,
        keep3Pruned: keep3.pruned,
        tightWarning: tight.warning,
        afterTight,
        afterSize: afterSize.map((e: { key: string }) => e.key),
        expiredGet,
        expired: expired.expired,
        afterAge,
      };
    }, MODULES());
    const eq = (a: unknown, b: unknown, what: string) => {
      if (JSON.stringify(a) !== JSON.stringify(b))
        throw new Error(`${what}: ${JSON.stringify(a)}, expected ${JSON.stringify(b)}`);
    };
    eq(result.managed, [3, 4, 5], "managed run keeps 3");
    eq(result.rawBefore, [1, 2, 3, 4, 5], "raw run before limits");
    eq(result.rawAfter, [3, 4, 5], "raw run after limits");
    eq(result.keep3Pruned, { raw: ["step-000001", "step-000002"] }, "pruned ids");
    eq(result.afterTight, { managed: [3, 4, 5], raw: [5] }, "over the IndexedDB limit");
    if (!/over the .* limit/.test(result.tightWarning ?? ""))
      throw new Error(`no warning when still over the limit: ${result.tightWarning}`);
    eq(result.afterSize, ["b", "c"], "frame cache over 250 KB drops the oldest");
    eq(result.expiredGet, null, "an expired frame entry");
    eq(result.afterAge, { entries: 0, bytes: 0 }, "frame cache after 8 days");

    // The page's "Apply the limits now" button does the same for what it shows.
    await page.reload();
    await settled(page);
    const count = () => page.locator("#runs-table tbody tr", { hasText: "managed" }).locator("td").nth(1).textContent();
    eq(await count(), "3", "runs table");
    await expectNoAxeViolations(page);
    await t.screenshot(page, "webapp-storage-runs");
  },
);

e2e("webapp: an exported run downloads, imports and gives the same outputs (tiny model)", async (t) => {
  const page = await storagePage(t);
  const before: number[] = await page.evaluate(async (m) => {
    const tf = await import(m.tf);
    const { createDiT } = await import(m.dit);
    const { gaussianNoise } = await import(m.noise);
    const { saveRunCheckpoint } = await import(m.manager);
    const { prefixNames } = await import(m.storage);
    const config = {
      latentHeight: 4,
      latentWidth: 4,
      latentChannels: 2,
      patchSize: 2,
      hidden: 16,
      depth: 1,
      heads: 2,
      mlpRatio: 2,
      contextFrames: 2,
      actionDim: 9,
      frequencyDim: 16,
      spatialPositions: "sincos",
      parameterization: "v",
    };
    const model = createDiT(config, 1);
    let i = 0;
    for (const v of model.variables().values())
      v.assign(tf.tidy(() => v.add(gaussianNoise(v.shape, 100 + i++).mul(0.2))));
    const out = tf.tidy(() =>
      Array.from(
        model
          .forward(gaussianNoise([1, 2, 4, 4, 2], 7), tf.tensor2d([[0.1, 0.7]]), gaussianNoise([1, 2, 9], 8))
          .prediction.dataSync(),
      ),
    );
    await saveRunCheckpoint("tiny", {
      step: 7,
      weights: prefixNames({ dit: model.variables() }),
      rng: {},
      config: { dit: config },
      metrics: [{ step: 7, loss: 0.25 }],
    });
    model.dispose();
    return out;
  }, MODULES());
  await page.reload();
  await settled(page);
  const downloaded = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download tiny" }).click();
  const download = await downloaded;
  const dir = mkdtempSync(join(tmpdir(), "gamedream-export-"));
  try {
    const file = join(dir, download.suggestedFilename());
    await download.saveAs(file);
    if (!file.endsWith("gamedream-run-tiny-step-000007.tar")) throw new Error(`unexpected export name ${file}`);
    await page.locator("#import-run").setInputFiles(file);
    await page.waitForFunction(
      () => /Imported/.test(document.querySelector("#storage-status")?.textContent ?? ""),
      undefined,
      { timeout: 30_000 },
    );
    const message = await page.locator("#storage-status").textContent();
    if (!/as run "tiny \(2\)"/.test(message ?? "")) throw new Error(`import message: ${message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const after = await page.evaluate(async (m) => {
    const tf = await import(m.tf);
    const { createDiT } = await import(m.dit);
    const { gaussianNoise } = await import(m.noise);
    const { IdbCheckpointStore } = await import(m.idb);
    const { loadLatestCheckpoint, assignWeights, withoutPrefix, disposeCheckpoint } = await import(m.storage);
    const store = await IdbCheckpointStore.open("tiny (2)");
    const { checkpoint } = await loadLatestCheckpoint(store);
    store.close();
    const model = createDiT(checkpoint.config.dit, 5);
    assignWeights(model, withoutPrefix(checkpoint.weights, "dit"));
    const metrics = checkpoint.metrics;
    disposeCheckpoint(checkpoint);
    const out = tf.tidy(() =>
      Array.from(
        model
          .forward(gaussianNoise([1, 2, 4, 4, 2], 7), tf.tensor2d([[0.1, 0.7]]), gaussianNoise([1, 2, 9], 8))
          .prediction.dataSync(),
      ),
    );
    model.dispose();
    return { out: out as number[], metrics, step: checkpoint.step as number };
  }, MODULES());
  if (after.step !== 7 || JSON.stringify(after.metrics) !== JSON.stringify([{ step: 7, loss: 0.25 }]))
    throw new Error(`imported run lost its step or metrics: ${JSON.stringify(after)}`);
  if (before.every((v) => v === 0))
    throw new Error("the model's outputs are all zero: the comparison would prove nothing");
  const diff = Math.max(...before.map((v, i) => Math.abs(v - after.out[i])));
  if (diff !== 0) throw new Error(`imported model differs by ${diff}`);
  t.log(`${before.length} outputs identical after export -> download -> import`);
  await page.waitForFunction(() => document.querySelectorAll("#runs-table tbody tr").length === 2);
});

e2e("webapp: two videos ingested together, one bad and one good", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "gamedream-queue-e2e-"));
  try {
    const clip = PATTERN_CLIPS.vp8;
    const good = join(dir, clip.file);
    await encodePatternClip(good, clip);
    const bad = join(dir, "holiday.mp4");
    writeFileSync(bad, "This is a text file pretending to be a video.\n".repeat(20));
    const page = await storagePage(t);
    await page.locator("#video-files").setInputFiles([bad, good]);
    await page.waitForFunction(
      () => {
        const items = [...document.querySelectorAll("#ingest-queue li")];
        return (
          items.length === 2 && items.every((li) => ["done", "failed"].includes(li.getAttribute("data-status") ?? ""))
        );
      },
      undefined,
      { timeout: 60_000 },
    );
    const items = await page.locator("#ingest-queue li").evaluateAll((lis) =>
      lis.map((li) => ({
        name: li.getAttribute("data-name"),
        status: li.getAttribute("data-status"),
        text: li.textContent,
      })),
    );
    t.log(JSON.stringify(items));
    const badItem = items.find((i) => i.name === "holiday.mp4");
    const goodItem = items.find((i) => i.name === clip.file);
    if (badItem?.status !== "failed" || !/holiday\.mp4/.test(badItem.text ?? ""))
      throw new Error(`bad file: ${JSON.stringify(badItem)}`);
    if (goodItem?.status !== "done" || !goodItem.text?.includes(`${clip.frames} frames`))
      throw new Error(`good file: ${JSON.stringify(goodItem)}`);
    await page.waitForFunction(
      () => /^1 video\(s\) cached/.test(document.querySelector("#frames-summary")?.textContent ?? ""),
      undefined,
      { timeout: 30_000 },
    );
    await expectNoAxeViolations(page);
    await t.screenshot(page, "webapp-two-videos");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

e2e("webapp: device page shows the choice with reasons and follows an override", async (t) => {
  const page = await t.open("pages/device.html");
  await settled(page);
  const preset = await page.locator("#chosen-preset").textContent();
  if (!["realtime", "small", "base"].includes(preset ?? "")) throw new Error(`no preset shown: ${preset}`);
  const reasons = await page.locator("#device-reasons li").count();
  if (reasons < 4) throw new Error(`expected a reason per decision, got ${reasons}`);
  await page.locator("#override-batch").selectOption("2");
  await page.waitForFunction(() => document.querySelector("#chosen-batch")?.textContent === "2");
  const other = preset === "small" ? "base" : "small";
  await page.locator("#override-preset").selectOption(other);
  await page.waitForFunction((p) => document.querySelector("#chosen-preset")?.textContent === p, other);
  if (
    !/set by you: preset, batchSize|set by you: batchSize, preset/.test(
      (await page.locator("#device-choice").textContent()) ?? "",
    )
  )
    throw new Error("overrides not reported");
  // The override survives a reload (the training page reads the same choice).
  await page.reload();
  await settled(page);
  if ((await page.locator("#chosen-preset").textContent()) !== other) throw new Error("override lost on reload");
  await expectNoAxeViolations(page);
  await t.screenshot(page, "webapp-device");
});
