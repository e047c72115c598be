/**
 * Prints the README's preset table: parameters and FLOPs per generated frame (src/lib/models/flops.ts)
 * and a measured forward time in Node wasm (median of 3 after a warm-up): one DiT pass for a new
 * frame against a full KV cache, and one VAE decode of a latent frame.
 *   npx tsx scripts/preset-table.ts
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/lib/core/index.js";
import { timeIt } from "../src/lib/bench/index.js";
import {
  createDiT,
  presetCostTable,
  PRESETS,
  type Preset,
  type PresetName,
  createVAE,
  vaeLatentShape,
} from "../src/lib/models/index.js";
import { gaussianNoise } from "../src/lib/nn/index.js";

/** "ddim x 1, guidance 1.5, context pass (3 passes)": what the cost column counts. */
function describeSampling(sampling: Preset["sampling"], passes: number): string {
  const parts = [`${sampling.sampler} x ${sampling.steps}`];
  if (sampling.guidanceScale > 1) parts.push(`guidance ${sampling.guidanceScale}`);
  parts.push(sampling.cacheUpdate === "context-pass" ? "context pass" : "no context pass");
  return `${parts.join(", ")} (${passes} passes)`;
}

await initBackend({ override: "wasm" });
const rows = presetCostTable();
const lines = [
  "| preset | DiT params | VAE params | tokens/frame | sampling (default) | GFLOP per generated frame | DiT pass (measured) | VAE decode (measured) |",
  "| --- | --- | --- | --- | --- | --- | --- | --- |",
];
for (const row of rows) {
  const preset = PRESETS[row.preset as PresetName];
  const dit = createDiT(preset.dit, 1);
  const vae = createVAE(preset.vae, 1);
  const [h, w, c] = vaeLatentShape(preset.vae);
  const cache = dit.createCache();
  const latent = gaussianNoise([1, h, w, c], 2) as tf.Tensor4D;
  const action = tf.zeros([1, preset.dit.actionDim]) as tf.Tensor2D;
  for (let i = 0; i < preset.dit.contextFrames; i++) dit.appendFrame(cache, latent, 0.02, action);
  const reps = row.preset === "realtime" ? 10 : 3;
  const pass = await timeIt(
    async () => {
      const { prediction } = dit.forwardFrame(cache, latent, 0.5, action);
      await prediction.data();
      prediction.dispose();
    },
    { warmup: 5, reps },
  );
  const decode = await timeIt(
    async () => {
      const frame = vae.decode(latent);
      await frame.data();
      frame.dispose();
    },
    { warmup: 5, reps },
  );
  const ms = (v: number) => (v >= 100 ? `${Math.round(v)} ms` : `${v.toFixed(1)} ms`);
  lines.push(
    `| ${row.preset} | ${(row.ditParams / 1e6).toFixed(2)}M | ${(row.vaeParams / 1e6).toFixed(2)}M | ${row.tokensPerFrame} | ${describeSampling(preset.sampling, row.ditPasses)} | ${(row.flopsPerFrame / 1e9).toFixed(3)} | ${ms(pass.medianMs)} | ${ms(decode.medianMs)} |`,
  );
  cache.dispose();
  tf.dispose([latent, action]);
  dit.dispose();
  vae.dispose();
}
console.log(lines.join("\n"));
