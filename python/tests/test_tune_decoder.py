"""The decoder tuner (gamedream_torch.tune_decoder): only the decoder moves, so the latent space every
paired DiT lives in is untouched; a run stopped part-way and resumed ends where an uninterrupted
one does; the exported folder loads in tfjs (the model loader of `npm run eval` and the site) with
PyTorch's outputs; a resumed run refuses changed settings."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from conftest import REPO, tsx
from helpers import vae_outputs

from gamedream_torch.train import load_latest_checkpoint, load_vae
from gamedream_torch.weights import read_tfjs_weights, save_safetensors

PKG = os.path.join(REPO, "python")
SHIPPED_VAE = os.path.join(REPO, "weights", "realtime", "vae")
SHIPPED_DIT = os.path.join(REPO, "weights", "realtime", "dit")
# lr high enough that 4 steps visibly move the decoder.
COMMON = ["--vae", SHIPPED_VAE, "--batch", "2", "--lr", "1e-3", "--warmup", "1", "--threads", "1", "--heldout-frames", "6", "--heldout-every", "2", "--log-every", "1"]


def tune(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": PKG, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "gamedream_torch.tune_decoder", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def summary(proc: subprocess.CompletedProcess) -> dict:
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("dataset")
    subprocess.run(["npm", "run", "dataset", "--", "--episodes", "3", "--frames", "12", "--seed", "2", "--out", str(out)], cwd=REPO, check=True, capture_output=True)
    return str(out)


@pytest.fixture(scope="module")
def whole(data, tmp_path_factory):
    run = tmp_path_factory.mktemp("tune") / "whole"
    return run, summary(tune(*COMMON, "--data", data, "--out", str(run), "--steps", "4"))


def test_only_the_decoder_moves_and_the_export_records_it(whole):
    run, result = whole
    assert result["state"] == "done" and result["step"] == 4
    before, before_info = read_tfjs_weights(SHIPPED_VAE)
    after, info = read_tfjs_weights(os.path.join(run, "weights", "vae"))
    assert list(after) == list(before)
    assert info["config"] == before_info["config"]  # latentScale included: the DiT's latents stay valid
    encoder = [k for k in before if k.startswith("encoder.")]
    decoder = [k for k in before if k.startswith("decoder.")]
    assert encoder and decoder and len(encoder) + len(decoder) == len(before)
    assert all(torch.equal(after[k], before[k]) for k in encoder)
    assert max(float((after[k] - before[k]).abs().max()) for k in decoder) > 1e-4
    tuning = info["extra"]["decoderTuning"]
    assert info["extra"]["kind"] == "vae" and tuning["steps"] == 4 and info["step"] == before_info["step"] + 4
    assert tuning["heldoutPsnr"] == result["heldoutPsnr"] and [p["step"] for p in tuning["curve"]] == [0, 2, 4]
    assert tuning["curve"][0]["psnr"] == pytest.approx(tuning["heldoutPsnr"]["before"])


def test_a_stopped_run_resumes_to_the_uninterrupted_weights(whole, data, tmp_path):
    _, _ = whole
    run = tmp_path / "stopped"
    # --minutes stops it after its first step or so; resumed, it must end where the whole run did.
    first = summary(tune(*COMMON, "--data", data, "--out", str(run), "--steps", "4", "--minutes", "0.0001"))
    assert first["state"] == "stopped" and first["step"] < 4
    resumed = summary(tune("--data", data, "--out", str(run), "--steps", "4", "--threads", "1", "--heldout-frames", "6", "--heldout-every", "2"))
    assert resumed["state"] == "done" and resumed["resumedFrom"] == first["step"]
    a = load_latest_checkpoint(str(whole[0]), print)["model"]
    b = load_latest_checkpoint(str(run), print)["model"]
    assert max(float((a[k] - b[k]).abs().max()) for k in a) == 0


def test_the_export_decodes_in_tfjs_as_in_pytorch(whole, tmp_path):
    run, _ = whole
    folder = tmp_path / "export"
    shutil.copytree(SHIPPED_DIT, folder / "dit")
    shutil.copytree(os.path.join(run, "weights", "vae"), folder / "vae")
    vae = load_vae(str(folder / "vae"))
    g = torch.Generator().manual_seed(5)
    inputs = {"frames": torch.rand(2, 256, 256, 3, generator=g) * 2 - 1, "vae_latents": torch.randn(2, 16, 16, 8, generator=g)}
    save_safetensors(str(tmp_path / "export.vae-inputs.safetensors"), inputs)
    save_safetensors(str(tmp_path / "export.vae-outputs.safetensors"), vae_outputs(vae, inputs))
    result = json.loads(tsx("test/python/reference.ts", "check", str(tmp_path)).stdout.strip().splitlines()[-1])
    assert result["ok"], result
    assert {"export/vae/mean", "export/vae/decoded"} <= set(result["report"])


def test_a_resumed_run_refuses_changed_settings(whole, data):
    run, _ = whole
    proc = tune("--data", data, "--out", str(run), "--steps", "6", "--lr", "5e-4", check=False)
    assert proc.returncode == 2 and "error[CLI_BAD_FLAG]" in proc.stderr and "lr = 0.001" in proc.stderr
