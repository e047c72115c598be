"""RUN/run.json as both PyTorch trainers keep it: flags over the stored settings over defaults; a
resumed run refuses a changed flag or a run of another kind; the file is replaced whole."""
import os

import pytest

from gamedream_torch.errors import GamedreamError
from gamedream_torch.run_settings import merge_run_settings, read_run_settings, write_run_settings

DEFAULTS = {"trainer": "pytorch", "batch": 4, "lr": 1e-3}
KIND = ("trainer", "pytorch")


def test_new_run_takes_flags_over_defaults_and_round_trips(tmp_path):
    run = str(tmp_path / "run")
    assert read_run_settings(run) is None
    settings = merge_run_settings(run, {"batch": 8, "lr": None}, None, DEFAULTS, KIND, "npm run train")
    assert settings == {"trainer": "pytorch", "batch": 8, "lr": 1e-3}
    write_run_settings(run, settings)
    assert read_run_settings(run) == settings
    assert sorted(os.listdir(run)) == ["run.json"]  # no temporary file left behind


def test_resume_keeps_stored_settings_and_refuses_changes():
    stored = {"trainer": "pytorch", "batch": 8, "lr": 5e-4}
    assert merge_run_settings("R", {"batch": None, "lr": 5e-4}, stored, DEFAULTS, KIND, "x") == stored
    with pytest.raises(GamedreamError, match=r"R is a run with batch = 8; resume it without --batch"):
        merge_run_settings("R", {"batch": 4}, stored, DEFAULTS, KIND, "x")


def test_a_run_of_another_kind_is_refused():
    with pytest.raises(GamedreamError, match=r"R is a run of another trainer \(npm run train\)"):
        merge_run_settings("R", {}, {"batch": 8}, DEFAULTS, KIND, "npm run train")
    with pytest.raises(GamedreamError, match=r"another model \(dit\)"):
        merge_run_settings("R", {}, {"model": "dit"}, DEFAULTS, ("model", "vae-decoder"), "unknown")
