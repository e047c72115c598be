"""tfjs <-> PyTorch parity: configs, weight names and layouts, DiT (full clip, action-dropped clip,
frame with a sliding KV cache), VAE encode/decode, the training task's draws and loss, schedules,
the diffusion loss per parameterisation, action encoding and the generator, for every preset.
Both directions: tfjs weights -> safetensors -> PyTorch here, PyTorch -> safetensors -> tfjs in
`test_pytorch_to_tfjs`. Tolerance 1e-4 relative to max(1, |reference|)."""
from __future__ import annotations

import json
import math
import os

import pytest
import torch

from conftest import REPO, tsx
from helpers import dit_outputs, relative_error, vae_outputs

from gamedream_torch import config as gconfig
from gamedream_torch.actions import conditioning_actions
from gamedream_torch.diffusion import alpha_bar_at, make_schedule, sigma_to_timestep
from gamedream_torch.diffusion.loss import diffusion_loss
from gamedream_torch.dit import DiT
from gamedream_torch.rng import Rng
from gamedream_torch.task import dit_loss, draw_frame_noise, train_settings
from gamedream_torch.vae import VAE
from gamedream_torch.weights import load_into, load_safetensors, save_safetensors

# The issue asks for 1e-4; both sides agree to ~1e-6, so a tighter bound also catches small
# mismatches (exact instead of tanh GELU moves outputs by 4e-5).
TOL = 1e-5
DIT_CASES = ("realtime", "small", "base", "legacy")
VAE_CASES = ("vae-realtime", "vae-small", "vae-base")


def test_shared_configs_match_typescript(reference):
    _, summary = reference
    with open(os.path.join(REPO, "python/gamedream_torch/presets.json"), encoding="utf-8") as f:
        ours = json.load(f)
    assert ours == summary["shared"], "python/gamedream_torch/presets.json is stale: regenerate it with `npx tsx test/python/reference.ts presets`"


@pytest.mark.parametrize("preset", gconfig.PRESET_NAMES)
def test_every_preset_has_the_same_weight_names_and_shapes(reference, preset):
    _, summary = reference
    expected = summary["presetWeights"][preset]
    p = gconfig.get_preset(preset)
    for kind, model in (("dit", DiT(p["dit"])), ("vae", VAE(p["vae"]))):
        ours = {k: list(v.shape) for k, v in model.state_dict().items()}
        assert ours == expected[kind], f"{preset} {kind}: names/shapes differ: only here {sorted(set(ours) - set(expected[kind]))[:5]}, only in tfjs {sorted(set(expected[kind]) - set(ours))[:5]}"


@pytest.mark.parametrize("case", DIT_CASES)
def test_dit_from_tfjs_weights(reference, case):
    out, summary = reference
    tensors, metadata = load_safetensors(out / case / "dit.safetensors")
    cfg = json.loads(metadata["config"])
    assert cfg == summary["cases"][case]["config"]
    dit = DiT(cfg).eval()
    load_into(dit, tensors, f"tfjs {case} DiT")
    inputs, _ = load_safetensors(out / case / "inputs.safetensors")
    expected, _ = load_safetensors(out / case / "outputs.safetensors")
    ours = dit_outputs(dit, inputs)
    assert set(ours) == set(expected)
    for name, value in ours.items():
        err = relative_error(value, expected[name])
        assert err <= TOL, f"{case}/{name}: relative error {err:.2e}"


@pytest.mark.parametrize("case", DIT_CASES)
def test_training_task_draws_and_loss(reference, case):
    out, summary = reference
    tensors, metadata = load_safetensors(out / case / "dit.safetensors")
    dit = DiT(json.loads(metadata["config"])).eval()
    load_into(dit, tensors, f"tfjs {case} DiT")
    inputs, _ = load_safetensors(out / case / "inputs.safetensors")
    losses = summary["cases"][case]["losses"]
    assert losses, "no loss reference"
    for variant, ref in losses.items():
        settings = train_settings(ref["settings"])
        assert settings == ref["settings"], f"{variant}: settings fields differ from dit-task.ts"
        schedule = make_schedule(settings["schedule"])
        b, clip = inputs["latents"].shape[0], ref["clip"]
        timesteps, mask, keep = draw_frame_noise(Rng(ref["seed"]), b, clip, schedule, settings)
        draws = ref["draws"]
        assert timesteps.tolist() == torch.tensor(draws["timesteps"], dtype=torch.float32).tolist(), f"{variant}: timesteps differ"
        assert mask.tolist() == draws["mask"], f"{variant}: loss mask differs"
        assert keep.tolist() == draws.get("actionKeep", [1.0] * len(keep)), f"{variant}: action-keep mask differs"
        with torch.no_grad():
            loss = dit_loss(dit, inputs["latents"][:, :clip], inputs["actions"][:, :clip], schedule, settings, Rng(ref["seed"]))
        # The 1e-4: a loss sums many squared errors of outputs that agree to ~1e-6, so it
        # agrees to ~1e-5 (base, min-SNR); a wrong weighting or mask moves it by percents.
        assert abs(float(loss) - ref["loss"]) <= 1e-4 * max(1.0, abs(ref["loss"])), f"{variant}: loss {float(loss)} vs tfjs {ref['loss']}"


@pytest.mark.parametrize("case", VAE_CASES)
def test_vae_from_tfjs_weights(reference, case):
    out, _ = reference
    tensors, metadata = load_safetensors(out / case / "vae.safetensors")
    vae = VAE(json.loads(metadata["config"])).eval()
    load_into(vae, tensors, f"tfjs {case}")
    inputs, _ = load_safetensors(out / case / "inputs.safetensors")
    expected, _ = load_safetensors(out / case / "outputs.safetensors")
    for name, value in vae_outputs(vae, inputs).items():
        err = relative_error(value, expected[name])
        assert err <= TOL, f"{case}/{name}: relative error {err:.2e}"


def test_schedules(reference):
    _, summary = reference
    for ref in summary["schedules"]:
        s = make_schedule(ref["config"])
        for ours, theirs in zip(s.alpha_bar.tolist(), ref["alphaBar"]):
            assert math.isclose(ours, theirs, rel_tol=1e-12, abs_tol=1e-15), ref["config"]
        for t, ab in ref["alphaBarAt"]:
            assert math.isclose(alpha_bar_at(s, t), ab, rel_tol=1e-12, abs_tol=1e-15), (ref["config"], t)
        for sigma, t in ref["sigmaToTimestep"]:
            assert math.isclose(sigma_to_timestep(s, sigma), t, rel_tol=1e-9, abs_tol=1e-9), (ref["config"], sigma)


def test_diffusion_loss_per_parameterization(reference):
    out, summary = reference
    x, _ = load_safetensors(out / "loss-inputs.safetensors")
    for key, expected in summary["diffusionLoss"].items():
        p, gamma, masked = key.split("/")
        value = diffusion_loss(x["prediction"], x["x0"], x["eps"], x["alpha_bar"], p, None if gamma == "none" else float(gamma), x["mask"] if masked == "masked" else None)
        assert abs(float(value) - expected) <= 1e-6 * max(1.0, abs(expected)), key


def test_actions_and_generator(reference):
    _, summary = reference
    held = torch.tensor(summary["actions"]["held"]).reshape(6, -1).numpy()
    assert conditioning_actions(held).reshape(-1).tolist() == torch.tensor(summary["actions"]["conditioning"], dtype=torch.float32).tolist()
    r = Rng(summary["rng"]["seed"])
    assert [r.next_uint32() for _ in range(8)] == summary["rng"]["uint32"]
    r = Rng(summary["rng"]["seed"])
    assert [r.normal() for _ in range(5)] == pytest.approx(summary["rng"]["normal"], rel=1e-15)


def test_optimizer_matches_the_tfjs_trainer(reference):
    """lr schedule, global-norm clipping, AdamW with decay on matrices only, EMA: src/lib/train/optim.ts."""
    from gamedream_torch.train import AdamW, Ema, clip_by_global_norm, learning_rate_at

    _, summary = reference
    ref = summary["optim"]
    optim = ref["config"]
    assert [learning_rate_at(i, ref["totalSteps"], optim) for i in range(12)] == pytest.approx(ref["schedule"], rel=1e-12)
    module = torch.nn.Module()
    for name, v in ref["initial"].items():
        module.register_parameter(name, torch.nn.Parameter(torch.tensor(v["values"]).reshape(v["shape"])))
    params = list(module.parameters())
    opt = AdamW(params, optim)
    ema = Ema(module, optim["emaDecay"])
    for step, s in enumerate(ref["steps"]):
        for name, p in module.named_parameters():
            p.grad = torch.tensor(s["grads"][name]).reshape(p.shape)
        norm = clip_by_global_norm(params, optim["clipNorm"])
        assert norm == pytest.approx(s["norm"], rel=1e-5)
        lr = learning_rate_at(step, ref["totalSteps"], optim)
        assert lr == pytest.approx(s["lr"], rel=1e-12)
        opt.step(lr)
        ema.update(module, step)
    for name, p in module.named_parameters():
        assert p.detach().reshape(-1).tolist() == pytest.approx(ref["final"][name], abs=1e-6), name
        assert ema.shadow[name].reshape(-1).tolist() == pytest.approx(ref["ema"][name], abs=1e-6), name


def _perturbed(model: torch.nn.Module, seed: int, only_bias: bool = False) -> torch.nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not only_bias or name.endswith(".bias"):
                p.add_(torch.randn(p.shape, generator=g) * 0.05)
    return model.eval()


def test_pytorch_to_tfjs(reference, tmp_path):
    """PyTorch-initialised models -> safetensors -> tfjs (`reference.ts check`) give the same outputs."""
    out, summary = reference
    for i, case in enumerate(DIT_CASES):
        cfg = summary["cases"][case]["config"]
        dit = _perturbed(DiT(cfg, seed=11 + i), 100 + i)
        (tmp_path / case).mkdir()
        save_safetensors(str(tmp_path / case / "dit.safetensors"), dit.state_dict(), {"config": json.dumps(cfg)})
        inputs, _ = load_safetensors(out / case / "inputs.safetensors")
        save_safetensors(str(tmp_path / case / "inputs.safetensors"), inputs)
        save_safetensors(str(tmp_path / case / "outputs.safetensors"), dit_outputs(dit, inputs))
    case = "vae-realtime"
    _, metadata = load_safetensors(out / case / "vae.safetensors")
    cfg = json.loads(metadata["config"])
    vae = _perturbed(VAE(cfg, seed=5), 6, only_bias=True)
    (tmp_path / case).mkdir()
    save_safetensors(str(tmp_path / case / "vae.safetensors"), vae.state_dict(), {"config": json.dumps(cfg)})
    inputs, _ = load_safetensors(out / case / "inputs.safetensors")
    save_safetensors(str(tmp_path / case / "inputs.safetensors"), inputs)
    save_safetensors(str(tmp_path / case / "outputs.safetensors"), vae_outputs(vae, inputs))
    proc = tsx("test/python/reference.ts", "check", str(tmp_path))
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["ok"], result
    assert {k.split("/")[0] for k in result["report"]} == set(DIT_CASES) | {case}
