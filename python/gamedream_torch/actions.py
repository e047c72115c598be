"""Action encoding of src/lib/actions/schema.ts and the DiT's conditioning convention of src/lib/data/latents.ts.

An action `{movement: [forward, back, left, right], camera: [yaw, pitch], interaction: id}` is the
vector movement multi-hot (4) | camera clamped to [-1, 1] (2) | one-hot interaction (3).
Frame t of a clip is conditioned on the action held on frame t-1 (its effect shows in frame t);
the first frame of an episode gets NO_ACTION.
"""
from __future__ import annotations

import math

import numpy as np

MOVEMENT_KEYS = ("forward", "back", "left", "right")
INTERACTIONS = ("none", "use", "jump")
ACTION_DIM = len(MOVEMENT_KEYS) + 2 + len(INTERACTIONS)
ACTION_LAYOUT = {"movement": 0, "camera": len(MOVEMENT_KEYS), "interaction": len(MOVEMENT_KEYS) + 2}
NO_ACTION = {"movement": [0, 0, 0, 0], "camera": [0.0, 0.0], "interaction": 0}


def _clamp_unit(v: float) -> float:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return 0.0
    return max(-1.0, min(1.0, float(v)))


def encode_action(action: dict) -> np.ndarray:
    """One action -> float32 [ACTION_DIM] (never raises, like `encodeActionInto`)."""
    out = np.zeros(ACTION_DIM, dtype=np.float32)
    for i in range(len(MOVEMENT_KEYS)):
        out[ACTION_LAYOUT["movement"] + i] = 1.0 if action["movement"][i] > 0.5 else 0.0
    for i in range(2):
        out[ACTION_LAYOUT["camera"] + i] = _clamp_unit(action["camera"][i])
    ident = action.get("interaction", 0)
    if not (isinstance(ident, int) and 0 <= ident < len(INTERACTIONS)):
        ident = 0
    out[ACTION_LAYOUT["interaction"] + ident] = 1.0
    return out


def encode_actions(actions: list[dict]) -> np.ndarray:
    """T actions -> float32 [T, ACTION_DIM]."""
    if not actions:
        return np.zeros((0, ACTION_DIM), dtype=np.float32)
    return np.stack([encode_action(a) for a in actions])


def decode_action(vec) -> dict:
    """Inverse of `encode_action` (movement thresholded, camera clamped, interaction = argmax)."""
    m = ACTION_LAYOUT["movement"]
    c = ACTION_LAYOUT["camera"]
    k = ACTION_LAYOUT["interaction"]
    best = 0
    for i in range(1, len(INTERACTIONS)):
        if vec[k + i] > vec[k + best]:
            best = i
    return {
        "movement": [1 if vec[m + i] > 0.5 else 0 for i in range(4)],
        "camera": [_clamp_unit(float(vec[c])), _clamp_unit(float(vec[c + 1]))],
        "interaction": best,
    }


def conditioning_actions(held: np.ndarray) -> np.ndarray:
    """`conditioningActions` of latents.ts: [frames, A] held -> [frames, A] conditioning (row t = held t-1)."""
    frames = held.shape[0]
    out = np.empty((frames, ACTION_DIM), dtype=np.float32)
    out[0] = encode_action(NO_ACTION)
    out[1:] = held[: frames - 1]
    return out
