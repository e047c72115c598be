"""A run folder's settings, RUN/run.json, as the PyTorch trainers keep them (train.py for the DiT,
tune_decoder.py for a VAE's decoder): flags over what the run stored over defaults, and a resumed
run may not change what it stored, since its checkpoints and curves were made with it."""
from __future__ import annotations

import json
import os

from .errors import GamedreamError

RUN_JSON = "run.json"


def read_run_settings(run: str) -> dict | None:
    """RUN/run.json, or None for a new run."""
    path = os.path.join(run, RUN_JSON)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_run_settings(run: str, settings: dict) -> None:
    """Writes RUN/run.json through a temporary file, so a crash leaves the old one or the new one."""
    os.makedirs(run, exist_ok=True)
    path = os.path.join(run, RUN_JSON)
    with open(f"{path}.tmp", "w", encoding="utf-8") as f:
        json.dump(settings, f, indent=2)
    os.replace(f"{path}.tmp", path)


def merge_run_settings(out: str, given: dict, stored: dict | None, defaults: dict, kind: tuple[str, str], unknown_kind: str) -> dict:
    """`given` (flags; None where not passed) over `stored` over `defaults`. A stored run of another
    kind (`kind` = (key, value), `unknown_kind` names one without the key) or a flag that differs
    from what the run stored is a CLI_BAD_FLAG error naming the way out."""
    if stored:
        key, value = kind
        if stored.get(key) != value:
            raise GamedreamError("CLI_BAD_FLAG", f"{out} is a run of another {key} ({stored.get(key, unknown_kind)}); pass another --out.")
        for name, flag_value in given.items():
            if flag_value is not None and flag_value != stored.get(name):
                raise GamedreamError("CLI_BAD_FLAG", f"{out} is a run with {name} = {json.dumps(stored.get(name))}; resume it without --{name}, or pass another --out for a new run.")
    return {**defaults, **(stored or {}), **{k: v for k, v in given.items() if v is not None}}
