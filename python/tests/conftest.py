"""Shared fixtures: the repository root, `npx tsx` for the TypeScript half, two-core-friendly threads."""
from __future__ import annotations

import json
import os
import subprocess

import pytest
import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
torch.set_num_threads(int(os.environ.get("GAMEDREAM_TORCH_THREADS", "1")))


def tsx(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """Runs a TypeScript file of the repo with `npx tsx`; fails the test with its stderr."""
    proc = subprocess.run(["npx", "tsx", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"npx tsx {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="session")
def reference(tmp_path_factory):
    """tfjs reference outputs of every parity case (test/python/reference.ts make)."""
    out = tmp_path_factory.mktemp("tfjs-reference")
    tsx("test/python/reference.ts", "make", str(out))
    with open(out / "reference.json", encoding="utf-8") as f:
        summary = json.load(f)
    return out, summary
