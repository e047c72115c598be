"""Reads the dataset directory written by `npm run dataset` / `npm run ingest` (src/lib/data/dataset.ts,
src/lib/data/store-dir.node.ts): `DIR/manifest.json` and `DIR/shard-NNNN.bin`, each shard
`[frames: uint8 RGB, n x 256 x 256 x 3][actions: float32 little-endian, n x ACTION_DIM]`.
Shards are memory-mapped, so nothing is read until a frame is.
"""
from __future__ import annotations

import hashlib
import json
import os

import numpy as np

from .actions import ACTION_DIM, INTERACTIONS, MOVEMENT_KEYS
from .errors import GamedreamError

DATASET_FORMAT = "gamedream-dataset"
DATASET_VERSION = 1
FRAME_SIZE = 256
FRAME_CHANNELS = 3
RGB_FRAME_BYTES = FRAME_SIZE * FRAME_SIZE * FRAME_CHANNELS


class DatasetReader:
    def __init__(self, directory: str):
        self.directory = directory
        path = os.path.join(directory, "manifest.json")
        try:
            with open(path, encoding="utf-8") as f:
                manifest = json.load(f)
        except FileNotFoundError as e:
            raise GamedreamError("DATASET_NOT_FOUND", f"No dataset manifest in directory {directory}; build one with `npm run dataset -- --out DIR`.") from e
        except json.JSONDecodeError as e:
            raise GamedreamError("DATASET_CORRUPT", f"{path} is not valid JSON: {e}.") from e
        if manifest.get("format") != DATASET_FORMAT or manifest.get("version") != DATASET_VERSION:
            raise GamedreamError("DATASET_BAD_VERSION", f"directory {directory} holds \"{manifest.get('format')}\" version {manifest.get('version')}; this reads {DATASET_FORMAT} version {DATASET_VERSION}.")
        frame, action = manifest["frame"], manifest["action"]
        if (frame["width"], frame["height"], frame["channels"], action["dim"]) != (FRAME_SIZE, FRAME_SIZE, FRAME_CHANNELS, ACTION_DIM):
            raise GamedreamError("DATASET_BAD_VERSION", f"directory {directory} has {frame['width']}x{frame['height']}x{frame['channels']} frames and {action['dim']}-d actions; expected {FRAME_SIZE}x{FRAME_SIZE}x{FRAME_CHANNELS} and {ACTION_DIM}.")
        if list(action.get("movementKeys", MOVEMENT_KEYS)) != list(MOVEMENT_KEYS) or list(action.get("interactions", INTERACTIONS)) != list(INTERACTIONS):
            raise GamedreamError("DATASET_BAD_VERSION", f"directory {directory} encodes actions as {action.get('movementKeys')} / {action.get('interactions')}; this reads {list(MOVEMENT_KEYS)} / {list(INTERACTIONS)}.")
        self.manifest = manifest
        self._by_id = {e["id"]: e for e in manifest["episodes"]}
        self._shards = {s["file"]: s for s in manifest["shards"]}
        self._maps: dict[str, np.memmap] = {}

    def episodes(self, split: str = "all") -> list[dict]:
        return [e for e in self.manifest["episodes"] if split == "all" or e["split"] == split]

    def _map(self, file: str) -> np.memmap:
        m = self._maps.get(file)
        if m is None:
            path = os.path.join(self.directory, file)
            if not os.path.exists(path):
                raise GamedreamError("DATASET_SHARD_MISSING", f"Shard \"{file}\" is missing from directory {self.directory}; the dataset is incomplete.")
            m = np.memmap(path, dtype=np.uint8, mode="r")
            if m.shape[0] < self._shards[file]["bytes"]:
                raise GamedreamError("DATASET_CORRUPT", f"Shard \"{file}\" in directory {self.directory} has {m.shape[0]} bytes, fewer than the {self._shards[file]['bytes']} its manifest records; it was truncated.")
            self._maps[file] = m
        return m

    def _episode(self, ident: str) -> dict:
        e = self._by_id.get(ident)
        if e is None:
            raise GamedreamError("DATASET_UNKNOWN_EPISODE", f"No episode \"{ident}\" in this dataset.")
        return e

    def read_frames(self, ident: str, start: int = 0, count: int | None = None) -> np.ndarray:
        """RGB uint8 [count, 256, 256, 3] of one episode (a view of the mapped shard)."""
        e = self._episode(ident)
        n = e["frameCount"] - start if count is None else count
        if start < 0 or n < 0 or start + n > e["frameCount"]:
            raise GamedreamError("DATASET_OUT_OF_RANGE", f"Frames {start}..{start + n - 1} are outside episode \"{ident}\" ({e['frameCount']} frames).")
        first = (e["offset"] + start) * RGB_FRAME_BYTES
        raw = self._map(e["shard"])[first : first + n * RGB_FRAME_BYTES]
        return raw.reshape(n, FRAME_SIZE, FRAME_SIZE, FRAME_CHANNELS)

    def read_actions(self, ident: str, start: int = 0, count: int | None = None) -> np.ndarray:
        """Encoded actions float32 [count, ACTION_DIM] held on those frames."""
        e = self._episode(ident)
        n = e["frameCount"] - start if count is None else count
        if start < 0 or n < 0 or start + n > e["frameCount"]:
            raise GamedreamError("DATASET_OUT_OF_RANGE", f"Frames {start}..{start + n - 1} are outside episode \"{ident}\" ({e['frameCount']} frames).")
        shard = self._shards[e["shard"]]
        first = shard["actionsOffset"] + (e["offset"] + start) * ACTION_DIM * 4
        raw = np.asarray(self._map(shard["file"])[first : first + n * ACTION_DIM * 4])
        return np.frombuffer(raw.tobytes(), dtype="<f4").reshape(n, ACTION_DIM).astype(np.float32)

    def verify(self) -> None:
        """Recomputes every shard's SHA-256; DATASET_CORRUPT on the first mismatch."""
        for s in self.manifest["shards"]:
            h = hashlib.sha256()
            with open(os.path.join(self.directory, s["file"]), "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            if h.hexdigest() != s["sha256"]:
                raise GamedreamError("DATASET_CORRUPT", f"Shard \"{s['file']}\" in directory {self.directory} does not match its checksum; rebuild the dataset.")


def rgb_to_unit(rgb: np.ndarray) -> np.ndarray:
    """uint8 -> float32 in [-1, 1] (i / 127.5 - 1, as src/lib/core/frames.ts)."""
    table = (np.arange(256, dtype=np.float64) / 127.5 - 1).astype(np.float32)
    return table[rgb]
