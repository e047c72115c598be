/**
 * The TypeScript half of the PyTorch parity tests (python/tests/test_parity.py runs it with
 * `npx tsx`); src/lib is the source of truth, this script only calls it.
 *
 *   npx tsx test/python/reference.ts presets
 *       the shared configs as JSON (python/gamedream_torch/presets.json is this output)
 *   npx tsx test/python/reference.ts make DIR
 *       seeded tfjs models of every preset (perturbed so no gate is zero) saved as safetensors with
 *       their config, random inputs and the tfjs outputs: DiT full clip, action-dropped clip and
 *       frame-with-cache, VAE encode/decode, training losses, noise draws, schedules, the
 *       diffusion loss per parameterisation, action encoding; plus every full preset's weight
 *       names and shapes
 *   npx tsx test/python/reference.ts check DIR
 *       the other direction: loads DIR/CASE/{dit,vae}.safetensors written by PyTorch, runs the same
 *       inputs in tfjs and compares with PyTorch's outputs; with DIR/weights (an exported
 *       weights folder) also loads it through the model loader the CLI and the Play page use.
 *       Prints one JSON line; exits 1 when anything differs by more than the tolerance.
 *   npx tsx test/python/reference.ts play DIR
 *       the Play page's path for a PyTorch run: imports DIR/model.safetensors + DIR/config.json
 *       as the page's "Import a model" does (src/lib/play/model-choice.ts), loads the run to play with the
 *       VAE it records (the shipped one: weights/realtime), and compares the DiT's outputs on
 *       DIR/check.inputs.safetensors with DIR/check.outputs.safetensors. One JSON line.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { ACTION_DIM, encodeAction, type Action } from "../../src/lib/actions/index.js";
import { initBackend, Rng } from "../../src/lib/core/index.js";
import { actionPathway, DIT_PRESETS, createDiT, type DiT, type DiTConfig, loadModelFromWeights, PRESETS, PRESET_NAMES, VAE_PRESETS, createVAE, vaeLatentShape, type VAE, type VAEConfig } from "../../src/lib/models/index.js";
import {
  COMMON_SCHEDULE_PARAMETERS,
  SCHEDULE_KINDS,
  alphaBarAt,
  diffusionLoss,
  makeSchedule,
  sigmaToTimestep,
  type Parameterization,
  type ScheduleConfig,
} from "../../src/lib/diffusion/index.js";
import { conditioningActions } from "../../src/lib/data/index.js";
import { importModelFiles, loadPlayModel } from "../../src/lib/play/index.js";
import { MemoryCheckpointStore, decodeSafetensors, encodeSafetensors, APP_VERSION, FORMAT_VERSION, assignWeights } from "../../src/lib/storage/index.js";
import { gaussianNoise, uniformNoise } from "../../src/lib/nn/index.js";
import { readFileBytes } from "../../src/lib/storage/node.js";
import * as ditTask from "../../src/lib/train/index.js";
import { DEFAULT_OPTIM, Ema, adamWStep, clipByGlobalNorm, createAdamW, learningRateAt } from "../../src/lib/train/index.js";

/**
 * Relative to max(1, largest |reference|). The issue asks for 1e-4; the two sides agree to ~1e-6,
 * so 1e-5 also catches small mismatches (exact instead of tanh GELU moves outputs by 4e-5).
 */
const TOLERANCE = 1e-5;

type Named = Map<string, tf.Tensor>;

function scheduleDefaults(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const kind of SCHEDULE_KINDS) for (const p of kind.parameters) out[p.name] ??= p.default;
  for (const p of COMMON_SCHEDULE_PARAMETERS) out[p.name] = p.default;
  return out;
}

function shared(): Record<string, unknown> {
  return {
    comment: "Written by `npx tsx test/python/reference.ts presets` from src/lib; the parity test fails when it differs.",
    presets: PRESETS,
    ditPresets: DIT_PRESETS,
    vaePresets: VAE_PRESETS,
    scheduleDefaults: scheduleDefaults(),
    ditTrain: ditTask.DEFAULT_DIT_TRAIN,
    optim: DEFAULT_OPTIM,
    actionDim: ACTION_DIM,
    formatVersion: FORMAT_VERSION,
    appVersion: APP_VERSION,
  };
}

/** Every weight moved by N(0, std) noise, so adaLN gates and the zero-initialised head are not zero. */
function perturb(vars: Map<string, tf.Variable>, rng: Rng, std: number, only?: (name: string) => boolean): void {
  for (const [name, v] of vars) {
    if (only && !only(name)) continue;
    tf.tidy(() => v.assign(tf.add(v, tf.mul(gaussianNoise(v.shape, rng), std))));
  }
}

/** Parity cases: each preset's DiT (small and base cut to one block so the test stays quick) and a pre-pathway config. */
function ditCases(): Record<string, DiTConfig> {
  const legacy: DiTConfig = { ...DIT_PRESETS.realtime };
  for (const key of ["actionEmbedder", "actionToTokens", "nullAction", "contextLatentInput"] as const) delete (legacy as Partial<DiTConfig>)[key];
  return {
    realtime: { ...DIT_PRESETS.realtime },
    small: { ...DIT_PRESETS.small, depth: 1 },
    base: { ...DIT_PRESETS.base, depth: 1 },
    legacy,
  };
}

function randomActions(rng: Rng, count: number): Float32Array {
  const out = new Float32Array(count * ACTION_DIM);
  for (let i = 0; i < count; i++) {
    const a: Action = {
      movement: [rng.int(2), rng.int(2), rng.int(2), rng.int(2)] as Action["movement"],
      camera: [rng.uniform(-1, 1), rng.int(3) - 1],
      interaction: rng.int(3),
    };
    out.set(encodeAction(a), i * ACTION_DIM);
  }
  return out;
}

function nullActionOf(config: DiTConfig): boolean {
  return (config as { nullAction?: boolean }).nullAction === true;
}

/** The DiT computations both sides run on the same inputs. */
function ditOutputs(dit: DiT, inputs: Named): Named {
  const out: Named = new Map();
  const latents = inputs.get("latents") as tf.Tensor5D;
  const levels = inputs.get("levels") as tf.Tensor2D;
  const actions = inputs.get("actions") as tf.Tensor3D;
  const [B, T] = latents.shape;
  out.set("forward", dit.forward(latents, levels, actions).prediction);
  if (nullActionOf(dit.config)) {
    out.set("forward_dropped", dit.forward(latents, levels, actions, { actionKeep: inputs.get("keep") as tf.Tensor2D } as never).prediction);
  }
  if (actionPathway(dit.config).contextLatentInput) {
    // Given latents stacked on (training for "reuse-last-step" passes the clean ones).
    const previous = tf.mul(latents, -0.5) as tf.Tensor5D;
    out.set("forward_previous", dit.forward(latents, levels, actions, { previous }).prediction);
    previous.dispose();
  }
  // Frame with cache: frames 0..T-2 enter the cache at their own levels (the window slides past
  // its capacity), then frame T-1 is predicted against it.
  const cache = dit.createCache();
  const frame = (t: number) => tf.tidy(() => tf.squeeze(tf.slice(latents, [0, t], [B, 1]), [1]) as tf.Tensor4D);
  const column = (x: tf.Tensor, t: number) => tf.tidy(() => tf.squeeze(tf.slice(x, [0, t], [B, 1]), [1]));
  for (let t = 0; t < T - 1; t++) {
    const [l, lv, a] = [frame(t), column(levels, t) as tf.Tensor1D, column(actions, t) as tf.Tensor2D];
    dit.appendFrame(cache, l, lv, a);
    tf.dispose([l, lv, a]);
  }
  const [l, lv, a] = [frame(T - 1), column(levels, T - 1) as tf.Tensor1D, column(actions, T - 1) as tf.Tensor2D];
  out.set("frame", dit.forwardFrame(cache, l, lv, a).prediction);
  tf.dispose([l, lv, a]);
  cache.dispose();
  return out;
}

function vaeOutputs(vae: VAE, inputs: Named): Named {
  const { mean, logvar } = vae.encode(inputs.get("frames") as tf.Tensor4D);
  return new Map<string, tf.Tensor>([
    ["mean", mean],
    ["logvar", logvar],
    ["decoded", vae.decode(inputs.get("vae_latents") as tf.Tensor4D)],
  ]);
}

/** `tf.tidy` for a function returning a Map (tidy keeps only tensors, arrays and plain objects). */
function tidyMap(fn: () => Named): Named {
  return new Map(Object.entries(tf.tidy(() => Object.fromEntries(fn()))));
}

function compare(ours: Named, theirs: Named, label: string, report: Record<string, number>): void {
  for (const [name, t] of ours) {
    const other = theirs.get(name);
    if (!other) throw new Error(`${label}: PyTorch wrote no "${name}"`);
    if (t.shape.join(",") !== other.shape.join(",")) throw new Error(`${label}/${name}: shape [${t.shape}] here, [${other.shape}] from PyTorch`);
    const a = t.dataSync();
    const b = other.dataSync();
    let diff = 0;
    let scale = 1;
    for (let i = 0; i < a.length; i++) {
      diff = Math.max(diff, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(b[i]));
    }
    report[`${label}/${name}`] = diff / scale;
  }
}

async function save(file: string, tensors: Named, metadata: Record<string, string> = {}): Promise<void> {
  writeFileSync(file, await encodeSafetensors(tensors, metadata));
}

function load(file: string): { tensors: Named; metadata: Record<string, string> } {
  return decodeSafetensors(new Uint8Array(readFileSync(file)));
}

const SCHEDULE_CASES: ScheduleConfig[] = [
  { kind: "linear", T: 1000 },
  { kind: "cosine", T: 1000 },
  { kind: "cosine", T: 1000, shift: 2, zeroTerminalSnr: true },
  { kind: "sigmoid", T: 500, start: -2, end: 4, tau: 0.7 },
  { kind: "karras", T: 1000 },
  { kind: "linear", T: 100, zeroTerminalSnr: true },
];
const FRACTIONAL_T = [0, 0.5, 1.25, 17.3, 250.75, 498.5, 998.9];

async function make(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(1234);
  const summary: Record<string, unknown> = { shared: shared(), cases: {}, presetWeights: {} };

  // Every full preset: the names and shapes both sides must agree on.
  for (const name of PRESET_NAMES) {
    const dit = createDiT(PRESETS[name].dit, 0);
    const vae = createVAE(PRESETS[name].vae, 0);
    const shapes = (m: { variables(): Map<string, tf.Variable> }) => Object.fromEntries([...m.variables()].map(([k, v]) => [k, v.shape]));
    (summary.presetWeights as Record<string, unknown>)[name] = { dit: shapes(dit), vae: shapes(vae) };
    dit.dispose();
    vae.dispose();
  }

  // DiT cases: weights, inputs, outputs, and losses of the training task.
  const trainVariants: Record<string, Partial<ditTask.DiTTrainSettings>> = {
    default: {},
    forcing: { clipLength: 5, minSnrGamma: 5, lastFrameShare: 0, samplerTimestepShare: 0, actionDropout: 0 } as Partial<ditTask.DiTTrainSettings>,
    mixed: { clipLength: 4, minSnrGamma: 3, lastFrameShare: 0.5, samplerTimestepShare: 0.5, samplerSteps: 4, actionDropout: 0.3, contextNoiseMax: 0.2, schedule: { kind: "sigmoid", T: 500 } } as Partial<ditTask.DiTTrainSettings>,
    // Clean latents stacked on, middle frames at the 2-step sampler's last level, frame 0 not run.
    reuse: { clipLength: 64, samplerSteps: 2, samplerTimestepShare: 0.5, actionDropout: 0.2, cacheUpdate: "reuse-last-step" } as Partial<ditTask.DiTTrainSettings>,
  };
  for (const [label, config] of Object.entries(ditCases())) {
    const caseDir = path.join(dir, label);
    mkdirSync(caseDir, { recursive: true });
    const dit = createDiT(config, 7);
    perturb(dit.variables(), rng, 0.05);
    await save(path.join(caseDir, "dit.safetensors"), dit.variables(), { config: JSON.stringify(config) });
    const B = 2;
    const T = config.contextFrames + 2;
    const { latentHeight: h, latentWidth: w, latentChannels: c } = config;
    const keep = new Float32Array(B * T).map(() => (rng.next() < 0.5 ? 0 : 1));
    const inputs: Named = new Map<string, tf.Tensor>([
      ["latents", gaussianNoise([B, T, h, w, c], rng)],
      ["levels", uniformNoise([B, T], rng)],
      ["actions", tf.tensor3d(randomActions(rng, B * T), [B, T, ACTION_DIM])],
      ["keep", tf.tensor2d(keep, [B, T])],
    ]);
    await save(path.join(caseDir, "inputs.safetensors"), inputs);
    const outputs = tidyMap(() => ditOutputs(dit, inputs));
    // Losses: the training task's draws from Rng(seed) and its masked loss, per recipe.
    const losses: Record<string, unknown> = {};
    for (const [variant, overrides] of Object.entries(trainVariants)) {
      const settings = { ...ditTask.DEFAULT_DIT_TRAIN, ...overrides } as ditTask.DiTTrainSettings;
      if (settings.actionDropout > 0 && !nullActionOf(config)) continue;
      if (ditTask.reusesLastStep(settings) && !actionPathway(config).contextLatentInput) continue;
      const schedule = makeSchedule(settings.schedule);
      const clip = Math.min(settings.clipLength, T);
      const batch = {
        latents: tf.slice(inputs.get("latents")!, [0, 0], [B, clip]) as tf.Tensor5D,
        actions: tf.slice(inputs.get("actions")!, [0, 0], [B, clip]) as tf.Tensor3D,
      };
      const loss = ditTask.ditLoss(dit, batch, schedule, settings, new Rng(99));
      const draws = ditTask.drawFrameNoise(new Rng(99), B, clip, schedule, settings as never) as unknown as Record<string, Float32Array>;
      losses[variant] = { settings, clip, seed: 99, loss: loss.dataSync()[0], draws: Object.fromEntries(Object.entries(draws).map(([k, v]) => [k, Array.from(v)])) };
      tf.dispose([loss, batch.latents, batch.actions]);
    }
    await save(path.join(caseDir, "outputs.safetensors"), outputs);
    (summary.cases as Record<string, unknown>)[label] = { config, losses };
    tf.dispose([...inputs.values(), ...outputs.values()]);
    dit.dispose();
  }

  // VAE of every preset (full size, one frame).
  for (const name of PRESET_NAMES) {
    const caseDir = path.join(dir, `vae-${name}`);
    mkdirSync(caseDir, { recursive: true });
    const config: VAEConfig = { ...PRESETS[name].vae, latentScale: 0.75 };
    const vae = createVAE(config, 3);
    perturb(vae.variables(), rng, 0.05, (n) => n.endsWith(".bias"));
    await save(path.join(caseDir, "vae.safetensors"), vae.variables(), { config: JSON.stringify(config) });
    const [h, w, c] = vaeLatentShape(config);
    const inputs: Named = new Map<string, tf.Tensor>([
      ["frames", uniformNoise([1, config.imageSize, config.imageSize, 3], rng, -1, 1)],
      ["vae_latents", gaussianNoise([1, h, w, c], rng)],
    ]);
    await save(path.join(caseDir, "inputs.safetensors"), inputs);
    const outputs = tidyMap(() => vaeOutputs(vae, inputs));
    await save(path.join(caseDir, "outputs.safetensors"), outputs);
    tf.dispose([...inputs.values(), ...outputs.values()]);
    vae.dispose();
  }

  // Diffusion core: schedules, and the loss per parameterisation with min-SNR and a frame mask.
  summary.schedules = SCHEDULE_CASES.map((config) => {
    const s = makeSchedule(config);
    const ts = FRACTIONAL_T.filter((t) => t <= s.T - 1);
    return {
      config,
      alphaBar: Array.from(s.alphaBar),
      alphaBarAt: ts.map((t) => [t, alphaBarAt(s, t)]),
      sigmaToTimestep: [0.01, 0.5, 1, 3, 40].map((sigma) => [sigma, sigmaToTimestep(s, sigma)]),
    };
  });
  const lossInputs: Named = new Map<string, tf.Tensor>([
    ["prediction", gaussianNoise([3, 4, 2, 2, 2], rng)],
    ["x0", gaussianNoise([3, 4, 2, 2, 2], rng)],
    ["eps", gaussianNoise([3, 4, 2, 2, 2], rng)],
    ["alpha_bar", uniformNoise([3, 4, 1, 1, 1], rng, 0.01, 0.99)],
    ["mask", tf.tensor2d([1, 1, 0, 0, 0, 1, 1, 1, 1, 0, 1, 0], [3, 4])],
  ]);
  await save(path.join(dir, "loss-inputs.safetensors"), lossInputs);
  const lossValues: Record<string, number> = {};
  for (const p of ["eps", "v", "x0"] as Parameterization[]) {
    for (const gamma of [undefined, 5]) {
      for (const masked of [false, true]) {
        const l = diffusionLoss({
          prediction: lossInputs.get("prediction")!,
          x0: lossInputs.get("x0")!,
          eps: lossInputs.get("eps")!,
          alphaBar: lossInputs.get("alpha_bar")!,
          parameterization: p,
          minSnrGamma: gamma,
          frameWeights: masked ? lossInputs.get("mask")! : undefined,
        });
        lossValues[`${p}/${gamma ?? "none"}/${masked ? "masked" : "all"}`] = l.dataSync()[0];
        l.dispose();
      }
    }
  }
  summary.diffusionLoss = lossValues;

  // Optimiser: lr schedule, clipping, AdamW (decay on matrices only) and EMA over three steps.
  const optim = { ...DEFAULT_OPTIM, lr: 1e-2, warmupSteps: 2, weightDecay: 0.1, clipNorm: 0.5, emaDecay: 0.9 };
  const optimVars = new Map<string, tf.Variable>([
    ["w", tf.variable(gaussianNoise([3, 4], rng))],
    ["b", tf.variable(gaussianNoise([4], rng))],
  ]);
  const initial = new Map([...optimVars].map(([k, v]) => [k, v.clone()]));
  const adam = createAdamW(optim);
  const ema = new Ema(optimVars, optim.emaDecay);
  const optimSteps: { grads: Record<string, number[]>; lr: number; norm: number }[] = [];
  for (let step = 0; step < 3; step++) {
    const raw = new Map<string, tf.Tensor>([...optimVars].map(([k, v]) => [k, gaussianNoise(v.shape, rng)]));
    const { grads, norm } = clipByGlobalNorm(raw, optim.clipNorm);
    const lr = learningRateAt(step, 10, optim);
    adamWStep(adam, optimVars, grads, lr, optim.weightDecay);
    ema.update(optimVars, step);
    optimSteps.push({ grads: Object.fromEntries([...raw].map(([k, g]) => [k, Array.from(g.dataSync())])), lr, norm: norm.dataSync()[0] });
    tf.dispose([...raw.values(), ...grads.values(), norm]);
  }
  summary.optim = {
    config: optim,
    totalSteps: 10,
    schedule: Array.from({ length: 12 }, (_, i) => learningRateAt(i, 10, optim)),
    initial: Object.fromEntries([...initial].map(([k, v]) => [k, { shape: v.shape, values: Array.from(v.dataSync()) }])),
    steps: optimSteps,
    final: Object.fromEntries([...optimVars].map(([k, v]) => [k, Array.from(v.dataSync())])),
    ema: Object.fromEntries([...ema.shadow].map(([k, v]) => [k, Array.from(v.dataSync())])),
  };
  ema.dispose();
  adam.dispose();
  tf.dispose([...optimVars.values(), ...initial.values()]);

  // Actions: encoding and the conditioning shift.
  const held = randomActions(rng, 6);
  summary.actions = { held: Array.from(held), conditioning: Array.from(conditioningActions(held, 6)) };
  summary.rng = { seed: 42, uint32: Array.from({ length: 8 }, ((r) => () => r.nextUint32())(new Rng(42))), normal: Array.from({ length: 5 }, ((r) => () => r.normal())(new Rng(42))) };
  writeFileSync(path.join(dir, "reference.json"), JSON.stringify(summary));
}

async function check(dir: string): Promise<void> {
  const report: Record<string, number> = {};
  for (const label of readdirSync(dir).sort()) {
    const caseDir = path.join(dir, label);
    if (existsSync(path.join(caseDir, "dit.safetensors"))) {
      const { tensors, metadata } = load(path.join(caseDir, "dit.safetensors"));
      const dit = createDiT(JSON.parse(metadata.config) as DiTConfig, 0);
      assignWeights(dit, tensors, `PyTorch's ${label} DiT`);
      const inputs = load(path.join(caseDir, "inputs.safetensors")).tensors;
      const outputs = tidyMap(() => ditOutputs(dit, inputs));
      compare(outputs, load(path.join(caseDir, "outputs.safetensors")).tensors, label, report);
      dit.dispose();
    } else if (existsSync(path.join(caseDir, "vae.safetensors"))) {
      const { tensors, metadata } = load(path.join(caseDir, "vae.safetensors"));
      const vae = createVAE(JSON.parse(metadata.config) as VAEConfig, 0);
      assignWeights(vae, tensors, `PyTorch's ${label} VAE`);
      const inputs = load(path.join(caseDir, "inputs.safetensors")).tensors;
      const outputs = tidyMap(() => vaeOutputs(vae, inputs));
      compare(outputs, load(path.join(caseDir, "outputs.safetensors")).tensors, label, report);
      vae.dispose();
    } else if (existsSync(path.join(caseDir, "dit", "model.json")) && existsSync(path.join(caseDir, "vae", "model.json"))) {
      // An exported weights folder, loaded as `npm run sample/eval -- --run DIR` and the Play page load it.
      // DIR/LABEL.{inputs,outputs}.safetensors check its DiT, DIR/LABEL.vae-{inputs,outputs}.safetensors its VAE.
      const model = await loadModelFromWeights(caseDir, { readFile: readFileBytes });
      for (const [part, prefix, run] of [
        ["dit", "", (inputs: Named) => ditOutputs(model.dit, inputs)],
        ["vae", "vae-", (inputs: Named) => vaeOutputs(model.vae, inputs)],
      ] as const) {
        const inputsFile = path.join(dir, `${label}.${prefix}inputs.safetensors`);
        if (!existsSync(inputsFile)) continue;
        const inputs = load(inputsFile).tensors;
        const outputs = tidyMap(() => run(inputs));
        compare(outputs, load(path.join(dir, `${label}.${prefix}outputs.safetensors`)).tensors, part === "dit" ? label : `${label}/vae`, report);
      }
      report[`${label}/steps`] = model.sources.dit.step ?? -1;
      model.dispose();
    }
  }
  const worst = Math.max(0, ...Object.entries(report).filter(([k]) => !k.endsWith("/steps")).map(([, v]) => v));
  console.log(JSON.stringify({ ok: worst <= TOLERANCE, worst, tolerance: TOLERANCE, report }));
  if (!(worst <= TOLERANCE) || Object.keys(report).length === 0) process.exitCode = 1;
}

async function play(dir: string): Promise<void> {
  const stores = new Map<string, MemoryCheckpointStore>();
  const openStore = async (run: string) => {
    if (!stores.has(run)) stores.set(run, new MemoryCheckpointStore());
    return stores.get(run)!;
  };
  const files = ["model.safetensors", "config.json"].map((name) => ({ name, bytes: new Uint8Array(readFileSync(path.join(dir, name))) }));
  const imported = await importModelFiles(files, { openStore, listRuns: async () => [...stores.keys()] });
  const shipped = path.resolve("weights/realtime");
  const playable = await loadPlayModel(
    { kind: "run", run: imported.run, checkpoint: null, vae: null },
    { openStore, listRuns: async () => [...stores.keys()], shippedWeights: async () => (p: string) => readFileBytes(path.join(shipped, p)) },
  );
  const report: Record<string, number> = {};
  const inputs = load(path.join(dir, "check.inputs.safetensors")).tensors;
  compare(tidyMap(() => ditOutputs(playable.model.dit, inputs)), load(path.join(dir, "check.outputs.safetensors")).tensors, "play", report);
  const worst = Math.max(...Object.values(report));
  console.log(JSON.stringify({ ok: worst <= TOLERANCE, worst, report, imported, name: playable.name, description: playable.description, notes: playable.notes, vae: playable.model.sources.vae, schedule: playable.model.schedule }));
  playable.model.dispose();
  if (!(worst <= TOLERANCE)) process.exitCode = 1;
}

async function main(): Promise<void> {
  const [command, dir] = process.argv.slice(2);
  if (command === "presets") {
    console.log(JSON.stringify(shared(), null, 1));
    return;
  }
  if (!dir) throw new Error("usage: reference.ts presets | make DIR | check DIR");
  await initBackend();
  if (command === "make") await make(dir);
  else if (command === "check") await check(dir);
  else if (command === "play") await play(dir);
  else throw new Error(`unknown command ${command}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
