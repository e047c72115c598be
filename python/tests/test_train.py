"""The torchrun trainer on CPU: a 2-process gloo DDP run equals a 1-process run of the same global
batch, a killed run resumes to the same weights as an uninterrupted one, and the export loads in
tfjs with PyTorch's outputs: the weights folder through the model loader of `npm run sample` /
`npm run eval` (and `npm run eval` itself), model.safetensors + config.json through the Play page's
import (src/lib/play/model-choice.ts)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import REPO, tsx
from helpers import dit_outputs, relative_error

from gamedream_torch.train import list_checkpoints, load_latest_checkpoint
from gamedream_torch.weights import load_safetensors, read_tfjs_weights, save_safetensors

PKG = os.path.join(REPO, "python")
VAE = os.path.join(REPO, "weights", "realtime", "vae")
# A small recipe so a step is quick: realtime preset, 2 blocks; lr and warm-up so steps move weights.
COMMON = ["--preset", "realtime", "--vae", VAE, "--override", '{"depth": 2}', "--lr", "1e-3", "--warmup", "1", "--threads", "1", "--log-every", "1"]


def env() -> dict:
    return {**os.environ, "PYTHONPATH": PKG, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def single(*args: str) -> list[str]:
    return [sys.executable, "-m", "gamedream_torch.train", *COMMON, *args]


def torchrun(n: int, *args: str) -> list[str]:
    return [sys.executable, "-m", "gamedream_torch.torchrun", "--standalone", f"--nproc_per_node={n}", "-m", "gamedream_torch.train", *COMMON, *args]


def run(cmd: list[str], timeout: int = 300) -> dict:
    proc = subprocess.run(cmd, cwd=REPO, env=env(), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("dataset")
    subprocess.run(["npm", "run", "dataset", "--", "--episodes", "3", "--frames", "24", "--seed", "1", "--out", str(out)], cwd=REPO, check=True, capture_output=True)
    return str(out)


def final_state(run_dir: str) -> dict:
    ckpt = load_latest_checkpoint(run_dir, print)
    assert ckpt is not None
    return ckpt


def max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


@pytest.fixture(scope="module")
def ddp_runs(data, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    two = run(torchrun(2, "--data", data, "--out", str(root / "ddp"), "--batch", "4", "--steps", "3"))
    one = run(single("--data", data, "--out", str(root / "one"), "--batch", "8", "--steps", "3"))
    return root, two, one


def test_two_gloo_processes_at_batch_4_match_one_at_batch_8(ddp_runs, data):
    root, two, one = ddp_runs
    assert two["processes"] == 2 and two["backend"] == "gloo" and two["globalBatch"] == 8 and two["state"] == "done"
    assert one["processes"] == 1 and one["globalBatch"] == 8
    a, b = final_state(str(root / "ddp")), final_state(str(root / "one"))
    losses_a = [m["loss"] for m in a["metrics"]]
    losses_b = [m["loss"] for m in b["metrics"]]
    assert len(losses_a) == 3
    assert losses_a == pytest.approx(losses_b, rel=1e-5), (losses_a, losses_b)
    # Three AdamW steps at lr 1e-3 move weights by ~3e-3; the two runs agree far closer than that.
    moved = max_diff(a["model"], {k: torch.zeros_like(v) for k, v in a["model"].items()})
    assert moved > 0
    assert max_diff(a["model"], b["model"]) < 2e-5
    assert max_diff(a["ema"], b["ema"]) < 2e-5


def test_the_comparison_can_fail(ddp_runs, data):
    """Another seed draws other clips and noise: its weights differ by far more than the tolerance."""
    root, _, _ = ddp_runs
    run(single("--data", data, "--out", str(root / "other-seed"), "--batch", "8", "--steps", "3", "--seed", "5"))
    assert max_diff(final_state(str(root / "ddp"))["model"], final_state(str(root / "other-seed"))["model"]) > 1e-4


def test_resume_after_kill_matches_an_uninterrupted_run(ddp_runs, data):
    root, _, _ = ddp_runs
    straight = root / "straight"
    run(torchrun(2, "--data", data, "--out", str(straight), "--batch", "2", "--steps", "6", "--checkpoint-every", "2"))
    killed = root / "killed"
    cmd = torchrun(2, "--data", data, "--out", str(killed), "--batch", "2", "--steps", "6", "--checkpoint-every", "2")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and not list_checkpoints(str(killed)):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole torchrun job, no chance to save
    proc.wait()
    saved = list_checkpoints(str(killed))
    assert saved, "no checkpoint before the kill"
    resumed = run(cmd)
    assert resumed["resumedFrom"] >= 2 and resumed["step"] == 6 and resumed["state"] == "done"
    a, b = final_state(str(straight)), final_state(str(killed))
    assert [m["loss"] for m in a["metrics"]] == pytest.approx([m["loss"] for m in b["metrics"]], rel=1e-6)
    assert max_diff(a["model"], b["model"]) < 1e-6


def test_a_damaged_checkpoint_is_skipped(ddp_runs):
    root, _, _ = ddp_runs
    run_dir = root / "damaged"
    shutil.copytree(root / "one", run_dir)
    newest = list_checkpoints(str(run_dir))[-1]
    path = run_dir / "torch" / newest
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    messages = []
    assert load_latest_checkpoint(str(run_dir), messages.append) is None or messages
    assert any("CHECKPOINT_CORRUPT" in m for m in messages)


def test_export_loads_in_tfjs_with_the_same_outputs(ddp_runs, tmp_path):
    root, two, _ = ddp_runs
    exported = two["exported"]
    tensors, metadata = load_safetensors(exported["safetensors"])
    assert metadata["kind"] == "dit" and metadata["weights"] == "ema" and int(metadata["step"]) == 3
    config = json.loads(metadata["config"])
    # The tfjs manifest holds exactly the safetensors weights, under the same names.
    dit_weights, info = read_tfjs_weights(os.path.join(exported["weights"], "dit"))
    assert info["config"] == config and info["extra"]["kind"] == "dit" and info["extra"]["settings"] == json.loads(metadata["settings"])
    assert list(dit_weights) == list(tensors) and max_diff(dit_weights, tensors) == 0
    from gamedream_torch.dit import DiT
    dit = DiT(config).eval()
    dit.load_state_dict(tensors)
    g = torch.Generator().manual_seed(3)
    t = config["contextFrames"] + 2
    inputs = {
        "latents": torch.randn(1, t, 16, 16, 8, generator=g),
        "levels": torch.rand(1, t, generator=g),
        "actions": torch.randint(0, 2, (1, t, 9), generator=g).float(),
        "keep": torch.tensor([[1.0, 0.0] * (t // 2)]),
    }
    shutil.copytree(exported["weights"], tmp_path / "export")
    save_safetensors(str(tmp_path / "export.inputs.safetensors"), inputs)
    save_safetensors(str(tmp_path / "export.outputs.safetensors"), dit_outputs(dit, inputs))
    result = json.loads(tsx("test/python/reference.ts", "check", str(tmp_path)).stdout.strip().splitlines()[-1])
    assert result["ok"], result
    assert result["report"]["export/steps"] == 3
    assert {"export/forward", "export/frame"} <= set(result["report"])

    # The Play page: "Import a model" with model.safetensors + config.json, played with the VAE
    # the run records (the shipped one), the same outputs.
    with open(exported["config"], encoding="utf-8") as f:
        saved = json.load(f)
    assert saved["kind"] == "dit" and saved["model"] == config and saved["settings"] == json.loads(metadata["settings"])
    assert saved["runInfo"]["session"]["vae"] == {"kind": "shipped"}
    play_dir = tmp_path / "play"
    play_dir.mkdir()
    shutil.copy(exported["safetensors"], play_dir / "model.safetensors")
    shutil.copy(exported["config"], play_dir / "config.json")
    shutil.copy(tmp_path / "export.inputs.safetensors", play_dir / "check.inputs.safetensors")
    shutil.copy(tmp_path / "export.outputs.safetensors", play_dir / "check.outputs.safetensors")
    played = json.loads(tsx("test/python/reference.ts", "play", str(play_dir)).stdout.strip().splitlines()[-1])
    assert played["ok"], played
    assert played["imported"] == {"run": "model", "kind": "dit", "step": 3}
    assert played["schedule"] == saved["settings"]["schedule"]


def test_export_evaluates_with_npm_run_eval(ddp_runs, data, tmp_path):
    _, two, _ = ddp_runs
    out = tmp_path / "eval.json"
    proc = subprocess.run(["npm", "run", "eval", "--", "--run", two["exported"]["weights"], "--data", data, "--out", str(out), "--rollout-frames", "4", "--samples", "2", "--branch-states", "2"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["model"]["sources"]["dit"]["step"] == 3


def test_init_starts_from_exported_weights_and_refuses_another_config(ddp_runs, data, tmp_path):
    """--init: step 0 of a fine-tune holds the given weights (the run then moves them); a DiT of another
    config is refused in plain words; a run stopped by --minutes still exports."""
    _, two, _ = ddp_runs
    given, _ = load_safetensors(two["exported"]["safetensors"])
    tuned = run(single("--data", data, "--out", str(tmp_path / "tuned"), "--batch", "2", "--steps", "1", "--seed", "9", "--init", two["exported"]["weights"] + "/dit"))
    first = final_state(str(tmp_path / "tuned"))
    assert tuned["state"] == "done" and tuned["exported"]
    # One AdamW step at lr 1e-3 (warm-up 1) moves the weights by about 1e-3 from where they started, far less than a fresh init.
    assert 0 < max_diff(first["model"], given) < 5e-3
    # The same run without --init starts from seed 9's initialisation, far from the given weights.
    fresh = run(single("--data", data, "--out", str(tmp_path / "fresh"), "--batch", "2", "--steps", "1", "--seed", "9"))
    assert fresh["state"] == "done"
    assert max_diff(final_state(str(tmp_path / "fresh"))["model"], given) > 5e-2
    bad = subprocess.run(single("--data", data, "--out", str(tmp_path / "bad"), "--steps", "1", "--override", '{"depth": 3}', "--init", two["exported"]["safetensors"]),
                         cwd=REPO, env=env(), capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "error[CLI_BAD_FLAG]" in bad.stderr and "depth" in bad.stderr, bad.stderr[-2000:]


def test_distill_guidance_exports_weights_that_play_unguided(ddp_runs, data, tmp_path):
    """--distill-guidance: the --init weights teach; the export records the distillation and the
    sampling default guidanceScale 1 (manifest and config.json); without --init it is refused."""
    _, two, _ = ddp_runs
    teacher = two["exported"]["weights"] + "/dit"
    out = run(single("--data", data, "--out", str(tmp_path / "distilled"), "--batch", "2", "--steps", "2", "--init", teacher, "--distill-guidance", "1.5"))
    assert out["state"] == "done" and out["loss"] is not None and out["loss"] >= 0
    with open(os.path.join(out["exported"]["weights"], "dit", "model.json"), encoding="utf-8") as f:
        extra = json.load(f)["gamedream"]["extra"]
    assert extra["sampling"] == {"guidanceScale": 1}
    assert extra["guidanceDistillation"] == {"scale": 1.5, "teacher": os.path.abspath(teacher)}
    with open(out["exported"]["config"], encoding="utf-8") as f:
        assert json.load(f)["sampling"] == {"guidanceScale": 1}
    # The student moved from its teacher.
    given, _ = load_safetensors(two["exported"]["safetensors"])
    assert max_diff(final_state(str(tmp_path / "distilled"))["model"], given) > 0
    bad = subprocess.run(single("--data", data, "--out", str(tmp_path / "no-teacher"), "--steps", "1", "--distill-guidance", "1.5"),
                         cwd=REPO, env=env(), capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "error[CLI_BAD_FLAG]" in bad.stderr and "--init" in bad.stderr, bad.stderr[-2000:]


def test_distillation_for_the_reuse_last_step_cache_update_from_a_named_teacher(ddp_runs, data, tmp_path):
    """--train cacheUpdate reuse-last-step at --distill-guidance 1: the export records that the
    weights play without a context pass; --teacher names the teacher when the student starts from
    other weights, and alone it is refused."""
    _, two, _ = ddp_runs
    teacher = two["exported"]["weights"] + "/dit"
    reuse = '{"cacheUpdate": "reuse-last-step", "clipLength": 4, "actionDropout": 0}'
    out = run(single("--data", data, "--out", str(tmp_path / "student"), "--batch", "2", "--steps", "2", "--init", two["exported"]["safetensors"],
                     "--teacher", teacher, "--distill-guidance", "1", "--train", reuse))
    assert out["state"] == "done" and out["loss"] is not None and out["loss"] > 0
    with open(os.path.join(out["exported"]["weights"], "dit", "model.json"), encoding="utf-8") as f:
        extra = json.load(f)["gamedream"]["extra"]
    assert extra["sampling"] == {"guidanceScale": 1, "cacheUpdate": "reuse-last-step"}
    assert extra["guidanceDistillation"] == {"scale": 1.0, "teacher": os.path.abspath(teacher)}
    assert extra["settings"]["cacheUpdate"] == "reuse-last-step"
    bad = subprocess.run(single("--data", data, "--out", str(tmp_path / "alone"), "--steps", "1", "--teacher", teacher),
                         cwd=REPO, env=env(), capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "error[CLI_BAD_FLAG]" in bad.stderr and "--distill-guidance" in bad.stderr, bad.stderr[-2000:]
