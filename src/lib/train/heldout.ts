/**
 * A quick held-out check of a trained VAE + DiT pair for training reports: teacher-forced
 * next-frame PSNR against the copy-the-last-frame baseline and the VAE's reconstruction PSNR, on
 * clips of the held-out split. (The eval issue's src/lib/metrics.ts and `npm run eval` are the full
 * measurement; this is the small one the shipped-weights report carries until they exist.)
 *
 * PSNR is over frames in [-1, 1] with peak-to-peak 2: 10 log10(4 / MSE), averaged over clips.
 */
import * as tf from "@tensorflow/tfjs";
import { ACTION_DIM } from "../actions.js";
import type { DatasetReader } from "../dataset.js";
import type { DiT } from "../dit.js";
import { FRAME_CHANNELS, FRAME_SIZE, rgbToUnit } from "../frames.js";
import { conditioningActions } from "../latents.js";
import { Rng } from "../rng.js";
import type { VAE } from "../vae.js";
import { LatentRollout, type RolloutSampling } from "./rollout.js";

export interface HeldoutReport {
  clips: number;
  contextFrames: number;
  nextFramePsnr: number;
  copyLastFramePsnr: number;
  vaeReconPsnr: number;
  sampling: Omit<RolloutSampling, "schedule">;
}

/** PSNR of two equal-shape tensors in [-1, 1]. */
export function psnr(a: tf.Tensor, b: tf.Tensor): number {
  const mse = tf.tidy(() => tf.mean(tf.squaredDifference(a, b)).dataSync()[0]);
  return 10 * Math.log10(4 / Math.max(mse, 1e-10));
}

/**
 * Up to `clips` held-out clips of `contextFrames + 1` frames (spread over the episodes): the model
 * sees `contextFrames` encoded real frames and generates the next, which is decoded and compared
 * with the real frame.
 */
export async function heldoutNextFrame(
  reader: DatasetReader,
  vae: VAE,
  dit: DiT,
  sampling: RolloutSampling,
  options: { clips?: number; contextFrames?: number; seed?: number } = {},
): Promise<HeldoutReport> {
  const k = options.contextFrames ?? dit.config.contextFrames;
  const all = reader.clipRefs({ clipLength: k + 1, split: "heldout", stride: 16 });
  const refs = new Rng(options.seed ?? 0).shuffle(all).slice(0, options.clips ?? 32);
  const rng = new Rng(options.seed ?? 0);
  let next = 0;
  let copy = 0;
  let recon = 0;
  for (const ref of refs) {
    const rgb = await reader.readFrames(ref.episode, ref.start, k + 1);
    // Conditioning actions of the clip's frames: those held one frame earlier (none before frame 0).
    const held = await reader.readActions(ref.episode, Math.max(0, ref.start - 1), k + 1);
    const cond = ref.start === 0 ? conditioningActions(held, k + 1) : held;
    const frames = tf.tensor4d(rgbToUnit(rgb), [k + 1, FRAME_SIZE, FRAME_SIZE, FRAME_CHANNELS]);
    const latents = vae.encodeScaled(frames);
    const rollout = new LatentRollout(dit, sampling, rng);
    for (let t = 0; t < k; t++) {
      const [z, a] = tf.tidy(() => [tf.slice(latents, [t, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D, tf.tensor2d(cond.subarray(t * ACTION_DIM, (t + 1) * ACTION_DIM), [1, ACTION_DIM])]);
      rollout.push(z, a);
      tf.dispose([z, a]);
    }
    const action = tf.tensor2d(cond.subarray(k * ACTION_DIM, (k + 1) * ACTION_DIM), [1, ACTION_DIM]);
    const generated = rollout.next(action);
    rollout.dispose();
    tf.tidy(() => {
      const real = tf.slice(frames, [k, 0, 0, 0], [1, -1, -1, -1]);
      next += psnr(vae.decodeScaled(generated), real);
      copy += psnr(tf.slice(frames, [k - 1, 0, 0, 0], [1, -1, -1, -1]), real);
      recon += psnr(vae.decodeScaled(tf.slice(latents, [k, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D), real);
    });
    tf.dispose([frames, latents, action, generated]);
  }
  const n = Math.max(1, refs.length);
  const { schedule: _schedule, ...rest } = sampling;
  return { clips: refs.length, contextFrames: k, nextFramePsnr: next / n, copyLastFramePsnr: copy / n, vaeReconPsnr: recon / n, sampling: rest };
}
