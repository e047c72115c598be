// A DiT trained by the PyTorch trainer (python/gamedream_torch/train.py) plays on the Play page
// through the page's own "Import a model" (its model.safetensors + config.json, no conversion),
// paired with the shipped VAE it trained on, and the dream answers keys. Needs Debian's
// python3-torch, as `npm test` does (python/run-tests.sh).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Page } from "playwright-core";
import { e2e, settled } from "./harness.js";

function pythonWithTorch(): string {
  for (const candidate of ["/usr/bin/python3", "python3"]) {
    if (spawnSync(candidate, ["-c", "import torch"], { stdio: "ignore" }).status === 0) return candidate;
  }
  throw new Error("no python3 with torch: apt-get install -y python3-torch python3-pytest libopenblas0-pthread");
}

const frameOf = async (page: Page) => Number((await page.locator("#play-frame").getAttribute("data-frame")) ?? 0);
const waitForFrames = (page: Page, atLeast: number) =>
  page.waitForFunction(
    (n) => Number(document.querySelector("#play-frame")?.getAttribute("data-frame") ?? 0) >= n,
    atLeast,
    { timeout: 120_000, polling: 100 },
  );

e2e(
  "play page: a PyTorch-trained DiT imported as model.safetensors + config.json plays with the shipped VAE",
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "torch-play-"));
    try {
      // A few PyTorch steps on a small game dataset, exported as the trainer always does.
      execFileSync(
        "npx",
        ["tsx", "cli/dataset.ts", "--episodes", "2", "--frames", "8", "--seed", "3", "--out", join(dir, "data")],
        { stdio: "ignore" },
      );
      const run = join(dir, "run");
      execFileSync(
        pythonWithTorch(),
        [
          "-m",
          "gamedream_torch.train",
          "--preset",
          "realtime",
          "--data",
          join(dir, "data"),
          "--vae",
          resolve("weights/realtime/vae"),
          "--override",
          '{"depth": 1}',
          "--steps",
          "2",
          "--batch",
          "2",
          "--warmup",
          "1",
          "--threads",
          "1",
          "--out",
          run,
        ],
        {
          env: { ...process.env, PYTHONPATH: resolve("python"), OPENBLAS_NUM_THREADS: "1" },
          stdio: ["ignore", "ignore", "pipe"],
        },
      );
      const context = await t.newContext({ serviceWorkers: "block" });
      const page = await t.open("pages/play.html", { context });
      await settled(page, 120_000);
      await page.locator("#play-import").setInputFiles([join(run, "model.safetensors"), join(run, "config.json")]);
      // The page imports the pair as a stored run and reopens itself playing it (?run=model).
      const deadline = Date.now() + 120_000;
      let status = "";
      while (!/[?&]run=model\b/.test(page.url())) {
        status =
          (await page
            .locator("#play-import-status")
            .textContent()
            .catch(() => status)) ?? status;
        if (/failed/.test(status)) throw new Error(`the import says: ${status}`);
        if (Date.now() > deadline)
          throw new Error(`the page did not open the imported run; the import says: ${status || "nothing"}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      await settled(page, 120_000);
      await page.waitForFunction(
        () => /model/.test(document.querySelector("#play-model-name")?.textContent ?? ""),
        undefined,
        { timeout: 120_000 },
      );
      await waitForFrames(page, 5);
      const name = (await page.locator("#play-model-name").textContent()) ?? "";
      const error = (await page.locator("#play-error").count()) ? await page.locator("#play-error").textContent() : "";
      if (error && (await page.locator("#play-error").isVisible()))
        throw new Error(`the imported run does not play: ${error}`);
      const before = await page.locator("#play-dream").screenshot();
      await page.locator("h1").click();
      await page.keyboard.down("KeyW");
      await waitForFrames(page, (await frameOf(page)) + 10);
      await page.keyboard.up("KeyW");
      const after = await page.locator("#play-dream").screenshot();
      if (before.equals(after)) throw new Error("the dream of the imported PyTorch run did not redraw");
      t.log(`playing ${name} at frame ${await frameOf(page)}`);
      await t.screenshot(page, "play-pytorch-import");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  { timeoutMs: 360_000 },
);
