/**
 * Trains a VAE preset on procedural frames in Node (wasm) and reports reconstruction PSNR on
 * held-out frames and encode/decode time per frame (median of 20, batch 1, readback included).
 *
 *   npx tsx test/helpers/vae-measure.ts [preset=realtime] [steps=300] [batch=4] [lr=2e-3] [klWeight=1e-4]
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend, Rng } from "../../src/lib/core/index.js";
import {
  VAE_PRESETS,
  createVAE,
  estimateLatentScale,
  trainVAEStep,
  type VAE,
  type VAEPresetName,
} from "../../src/lib/models/index.js";
import { syntheticFrames } from "./synthetic-frames.js";

/** PSNR in dB for frames in [-1,1] (peak-to-peak 2), from the posterior mean. */
function psnr(vae: VAE, frames: tf.Tensor4D): number {
  const mse = tf.tidy(() => {
    const errors: tf.Scalar[] = [];
    for (let i = 0; i < frames.shape[0]; i += 4) {
      const batch = tf.slice(frames, [i, 0, 0, 0], [Math.min(4, frames.shape[0] - i), -1, -1, -1]);
      errors.push(tf.mean(tf.square(tf.sub(vae.decode(vae.encode(batch).mean), batch))));
    }
    return tf.mean(tf.stack(errors)).dataSync()[0];
  });
  return 10 * Math.log10(4 / mse);
}

function medianMs(f: () => tf.Tensor, runs = 20): number {
  const times: number[] = [];
  for (let i = 0; i < runs + 3; i++) {
    const t0 = performance.now();
    const out = f();
    out.dataSync();
    out.dispose();
    if (i >= 3) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const [preset = "realtime", steps = "300", batch = "4", lr = "2e-3", klWeight = "1e-4"] = process.argv.slice(2);
const choice = await initBackend();
console.log(choice.reason);
const vae = createVAE(VAE_PRESETS[preset as VAEPresetName], 0);
const train = syntheticFrames(128, 1);
const heldOut = syntheticFrames(16, 2);
const optimizer = tf.train.adam(Number(lr));
const rng = new Rng(3);
const t0 = performance.now();
console.log(`step 0: held-out PSNR ${psnr(vae, heldOut).toFixed(2)} dB`);
for (let step = 1; step <= Number(steps); step++) {
  const idx = tf.tensor1d(
    Array.from({ length: Number(batch) }, () => rng.int(train.shape[0])),
    "int32",
  );
  const x = tf.gather(train, idx) as tf.Tensor4D;
  const l = trainVAEStep(vae, optimizer, x, { klWeight: Number(klWeight), seed: rng.seed() });
  tf.dispose([idx, x]);
  if (step % 50 === 0 || step === Number(steps)) {
    const s = (performance.now() - t0) / 1000;
    console.log(
      `step ${step}: recon ${l.recon.toFixed(5)} kl ${l.kl.toFixed(3)} | held-out PSNR ${psnr(vae, heldOut).toFixed(2)} dB | ${s.toFixed(0)} s`,
    );
  }
}
console.log(
  `train PSNR ${psnr(vae, train.slice(0, 16)).toFixed(2)} dB, held-out PSNR ${psnr(vae, heldOut).toFixed(2)} dB`,
);
vae.setLatentScale(await estimateLatentScale(vae, train));
console.log(`latentScale ${vae.config.latentScale.toFixed(4)}`);
const one = heldOut.slice(0, 1) as tf.Tensor4D;
const z = vae.encodeScaled(one);
console.log(
  `decode ${medianMs(() => vae.decodeScaled(z)).toFixed(2)} ms/frame, encode ${medianMs(() => vae.encodeScaled(one)).toFixed(2)} ms/frame`,
);
