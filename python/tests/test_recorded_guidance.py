"""A fine-tune keeps the guidance its --init weights record as their sampling default (a
guidance-distilled DiT plays unguided), from a TensorFlow.js folder or a run's safetensors."""
import json

from gamedream_torch.train import recorded_guidance


def test_guidance_recorded_by_a_tfjs_folder_or_a_run_is_kept(tmp_path):
    folder = tmp_path / "dit"
    folder.mkdir()
    (folder / "model.json").write_text(json.dumps({"gamedream": {"extra": {"sampling": {"guidanceScale": 1, "cacheUpdate": "reuse-last-step"}}}}))
    assert recorded_guidance(str(folder)) == {"guidanceScale": 1}
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"kind": "dit", "sampling": {"guidanceScale": 1.25}}))
    assert recorded_guidance(str(run / "model.safetensors")) == {"guidanceScale": 1.25}


def test_nothing_recorded_gives_nothing(tmp_path):
    assert recorded_guidance(None) == {}
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "model.json").write_text(json.dumps({"gamedream": {"extra": {}}}))
    assert recorded_guidance(str(folder)) == {}
    assert recorded_guidance(str(tmp_path / "missing")) == {}
    (tmp_path / "config.json").write_text(json.dumps({"kind": "dit"}))
    assert recorded_guidance(str(tmp_path / "model.safetensors")) == {}
