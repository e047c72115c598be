/**
 * The convolutional KL autoencoder (architecture in ./vae-config.ts): frames [B,256,256,3] in [-1,1]
 * <-> latents [B,h,w,c]. Variables use PyTorch-style names (`encoder.conv_in.weight`,
 * `decoder.up.0.block.0.conv1.weight`, `decoder.up.0.conv.weight`) with tfjs layouts: conv
 * weights are [k,k,in,out] (HWIO; PyTorch's OIHW is a transpose away), biases [out].
 */
import * as tf from "@tensorflow/tfjs";
import { GamedreamError, Rng } from "../core/index.js";
import { type Module, type NamedVariables, depthToSpace, silu, spaceToDepth, gaussianNoise } from "../nn/index.js";
import { conv2dSame } from "./vae-conv.js";
import {
  decoderConvs,
  encoderConvs,
  validateVAEConfig,
  vaeLatentShape,
  type ConvSpec,
  type VAEConfig,
} from "./vae-config.js";

export interface VAELossOptions {
  /** Weight of the KL term; both terms are per-element means (see `VAE.loss`). */
  klWeight: number;
  /** Seed of the reparameterisation noise. */
  seed: number;
}

/** Scalar tensors; the caller disposes them. */
export interface VAELoss {
  total: tf.Scalar;
  recon: tf.Scalar;
  kl: tf.Scalar;
}

export interface VAE extends Module<VAEConfig> {
  /** frames [B,S,S,3] in [-1,1] -> posterior mean and log-variance, each [B,h,w,c]. */
  encode(frames: tf.Tensor4D): { mean: tf.Tensor4D; logvar: tf.Tensor4D };
  /** Reparameterised sample mean + exp(logvar / 2) * noise(seed); [B,h,w,c] -> [B,h,w,c]. */
  sample(mean: tf.Tensor4D, logvar: tf.Tensor4D, seed: number): tf.Tensor4D;
  /** latents [B,h,w,c] (unscaled) -> frames [B,S,S,3] in [-1,1]. */
  decode(latents: tf.Tensor4D): tf.Tensor4D;
  /**
   * frames [B,S,S,3] -> latents * latentScale [B,h,w,c], what the DiT sees: the posterior mean,
   * or a posterior sample when `seed` is given.
   */
  encodeScaled(frames: tf.Tensor4D, options?: { seed?: number }): tf.Tensor4D;
  /** Scaled latents [B,h,w,c] (from the DiT) -> frames [B,S,S,3] in [-1,1]. */
  decodeScaled(latents: tf.Tensor4D): tf.Tensor4D;
  /**
   * Training loss for frames [B,S,S,3]: recon = mean over pixels and channels of the squared
   * error (reconLoss "mse") or absolute error ("l1") between the frames and the decoded posterior
   * sample; kl = mean over latent elements of KL(N(mean, var) || N(0, 1)); total = recon +
   * klWeight * kl. Differentiable with respect to every variable.
   */
  loss(frames: tf.Tensor4D, options: VAELossOptions): VAELoss;
  /** Stores a latent scale (from `estimateLatentScale`) in the config. */
  setLatentScale(scale: number): void;
}

interface Conv {
  spec: ConvSpec;
  weight: tf.Variable;
  bias: tf.Variable;
}

function inputError(what: string, expected: string, shape: number[]): GamedreamError {
  return new GamedreamError(
    "VAE_INPUT_SHAPE",
    "validation",
    `The VAE expected ${what} of shape ${expected}, got [${shape.join(", ")}].`,
    {
      recoverable: true,
      details: { shape },
    },
  );
}

class ConvVAE implements VAE {
  private currentConfig: VAEConfig;
  private readonly convs = new Map<string, Conv>();

  constructor(config: VAEConfig, seed: number) {
    validateVAEConfig(config);
    this.currentConfig = structuredClone(config);
    const rng = new Rng(seed);
    for (const spec of [...encoderConvs(config), ...decoderConvs(config)]) {
      // LeCun-normal init. There is no normalisation layer, so the second conv of each residual
      // block starts 10x smaller: every block begins close to the identity and activations keep
      // their scale through the stack, while gradients still reach both convs.
      const gain = spec.name.endsWith(".conv2") ? 0.1 : 1;
      const std = gain / Math.sqrt(spec.k * spec.k * spec.cin);
      const values = new Float32Array(spec.k * spec.k * spec.cin * spec.cout);
      for (let i = 0; i < values.length; i++) values[i] = rng.normal() * std;
      // tfjs variable names are process-global, so the PyTorch-style names live in `variables()`.
      const weight = tf.tidy(() => tf.variable(tf.tensor4d(values, [spec.k, spec.k, spec.cin, spec.cout])));
      const bias = tf.tidy(() => tf.variable(tf.zeros([spec.cout])));
      this.convs.set(spec.name, { spec, weight, bias });
    }
  }

  get config(): VAEConfig {
    return this.currentConfig;
  }

  setLatentScale(scale: number): void {
    const next = { ...this.currentConfig, latentScale: scale };
    validateVAEConfig(next);
    this.currentConfig = next;
  }

  variables(): NamedVariables {
    const vars: NamedVariables = new Map();
    for (const [name, c] of this.convs) {
      vars.set(`${name}.weight`, c.weight);
      vars.set(`${name}.bias`, c.bias);
    }
    return vars;
  }

  dispose(): void {
    for (const c of this.convs.values()) {
      c.weight.dispose();
      c.bias.dispose();
    }
    this.convs.clear();
  }

  private conv(name: string, x: tf.Tensor4D, activation: "linear" | "sigmoid" = "linear"): tf.Tensor4D {
    const c = this.convs.get(name);
    if (!c)
      throw new GamedreamError("VAE_DISPOSED", "model", "This VAE has been disposed and cannot be used.", {
        recoverable: false,
      });
    return conv2dSame(x, c.weight as tf.Tensor4D, c.bias as tf.Tensor1D, activation);
  }

  /** [B,H,W,C] -> [B,H,W,C]: x + conv2(silu(conv1(silu(x)))). */
  private resBlock(prefix: string, x: tf.Tensor4D): tf.Tensor4D {
    const h = this.conv(`${prefix}.conv1`, silu(x));
    return tf.add(x, this.conv(`${prefix}.conv2`, silu(h)));
  }

  encode(frames: tf.Tensor4D): { mean: tf.Tensor4D; logvar: tf.Tensor4D } {
    const { imageSize: s, imageChannels, latentChannels, encoder } = this.currentConfig;
    const [, hgt, wid, ch] = frames.shape;
    if (frames.rank !== 4 || hgt !== s || wid !== s || ch !== imageChannels) {
      throw inputError("frames", `[B, ${s}, ${s}, ${imageChannels}]`, frames.shape);
    }
    return tf.tidy(() => {
      const input = encoder.stem > 1 ? spaceToDepth(frames, encoder.stem) : frames;
      let h = this.conv("encoder.conv_in", input); // [B,S/stem,S/stem,C0]
      encoder.channels.forEach((_, i) => {
        for (let j = 0; j < encoder.blocks[i]; j++) h = this.resBlock(`encoder.down.${i}.block.${j}`, h);
        if (i < encoder.channels.length - 1) h = this.conv(`encoder.down.${i}.conv`, spaceToDepth(h, 2)); // half size
      });
      const out = this.conv("encoder.conv_out", silu(h)); // [B,h,w,2c]
      const [mean, logvar] = tf.split(out, [latentChannels, latentChannels], 3) as [tf.Tensor4D, tf.Tensor4D];
      return { mean, logvar };
    });
  }

  sample(mean: tf.Tensor4D, logvar: tf.Tensor4D, seed: number): tf.Tensor4D {
    return tf.tidy(() => {
      const noise = gaussianNoise(mean.shape, seed);
      return tf.add(mean, tf.mul(tf.exp(tf.mul(logvar, 0.5)), noise)) as tf.Tensor4D;
    });
  }

  decode(latents: tf.Tensor4D): tf.Tensor4D {
    const [h, w, c] = vaeLatentShape(this.currentConfig);
    if (latents.rank !== 4 || latents.shape[1] !== h || latents.shape[2] !== w || latents.shape[3] !== c) {
      throw inputError("latents", `[B, ${h}, ${w}, ${c}]`, latents.shape);
    }
    const { decoder } = this.currentConfig;
    return tf.tidy(() => {
      let x = this.conv("decoder.conv_in", latents); // [B,h,w,C0]
      decoder.channels.forEach((_, i) => {
        for (let j = 0; j < decoder.blocks[i]; j++) x = this.resBlock(`decoder.up.${i}.block.${j}`, x);
        if (i < decoder.channels.length - 1) x = depthToSpace(this.conv(`decoder.up.${i}.conv`, x), 2); // double size
      });
      // 2 * sigmoid(x) - 1 = tanh(x / 2), but sigmoid is ~10x faster than tanh on wasm; it runs
      // fused into the last conv, before the pixel shuffle (elementwise, so the order is free).
      const head = this.conv("decoder.conv_out", silu(x), "sigmoid"); // [B,S/r,S/r,3*r*r]
      const out = decoder.head > 1 ? depthToSpace(head, decoder.head) : head; // [B,S,S,3]
      return tf.sub(tf.mul(out, 2), 1) as tf.Tensor4D;
    });
  }

  encodeScaled(frames: tf.Tensor4D, options: { seed?: number } = {}): tf.Tensor4D {
    return tf.tidy(() => {
      const { mean, logvar } = this.encode(frames);
      const z = options.seed === undefined ? mean : this.sample(mean, logvar, options.seed);
      return tf.mul(z, this.currentConfig.latentScale) as tf.Tensor4D;
    });
  }

  decodeScaled(latents: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.decode(tf.div(latents, this.currentConfig.latentScale) as tf.Tensor4D));
  }

  loss(frames: tf.Tensor4D, options: VAELossOptions): VAELoss {
    return tf.tidy(() => {
      const { mean, logvar: raw } = this.encode(frames);
      // Same clamp as Stable Diffusion's DiagonalGaussianDistribution: keeps exp() finite early on.
      const logvar = tf.clipByValue(raw, -30, 20) as tf.Tensor4D;
      const recon = this.decode(this.sample(mean, logvar, options.seed));
      const diff = tf.sub(recon, frames);
      const reconLoss = (
        this.currentConfig.reconLoss === "l1" ? tf.mean(tf.abs(diff)) : tf.mean(tf.square(diff))
      ) as tf.Scalar;
      const kl = tf.mul(tf.mean(tf.sub(tf.add(tf.square(mean), tf.exp(logvar)), tf.add(logvar, 1))), 0.5) as tf.Scalar;
      const total = tf.add(reconLoss, tf.mul(kl, options.klWeight)) as tf.Scalar;
      return { total, recon: reconLoss, kl };
    });
  }
}

/** Builds a VAE with seeded initial weights (same seed, same weights, on every backend). */
export function createVAE(config: VAEConfig, seed: number): VAE {
  return new ConvVAE(config, seed);
}

/**
 * One optimiser step on frames [B,S,S,3]; returns the loss terms before the step as numbers.
 * Leaves no tensors behind.
 */
export function trainVAEStep(
  vae: VAE,
  optimizer: tf.Optimizer,
  frames: tf.Tensor4D,
  options: VAELossOptions,
): { total: number; recon: number; kl: number } {
  let parts: tf.Scalar[] = [];
  const vars = [...vae.variables().values()];
  const { value, grads } = tf.variableGrads(() => {
    const l = vae.loss(frames, options);
    parts = [tf.keep(l.recon), tf.keep(l.kl)];
    return l.total;
  }, vars);
  optimizer.applyGradients(grads);
  const [total, recon, kl] = [value, ...parts].map((t) => t.dataSync()[0]);
  tf.dispose([value, ...parts, ...Object.values(grads)]);
  return { total, recon, kl };
}

/**
 * The latent scale for `config.latentScale`: 1 / std of the encoder means over all elements of
 * frames [N,S,S,3] (encoded `batchSize` at a time), so scaled latents have unit variance on this
 * data. Store it with `vae.setLatentScale`.
 */
export async function estimateLatentScale(vae: VAE, frames: tf.Tensor4D, batchSize = 8): Promise<number> {
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  for (let start = 0; start < frames.shape[0]; start += batchSize) {
    const size = Math.min(batchSize, frames.shape[0] - start);
    const mean = tf.tidy(() => {
      const batch = tf.slice(frames, [start, 0, 0, 0], [size, -1, -1, -1]);
      const { mean, logvar } = vae.encode(batch);
      logvar.dispose();
      return mean;
    });
    const values = await mean.data();
    mean.dispose();
    for (let i = 0; i < values.length; i++) {
      sum += values[i];
      sumSq += values[i] * values[i];
    }
    n += values.length;
  }
  const variance = sumSq / n - (sum / n) ** 2;
  if (!(variance > 0)) {
    throw new GamedreamError(
      "VAE_LATENT_SCALE",
      "model",
      "The latents have zero variance on these frames, so no latent scale can be fitted.",
      {
        recoverable: true,
        details: { frames: frames.shape[0] },
      },
    );
  }
  return 1 / Math.sqrt(variance);
}
