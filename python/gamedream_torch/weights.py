"""Weight files shared with the TypeScript side, without extra dependencies:

- safetensors (src/lib/storage/safetensors.ts): [u64 LE header length][JSON header, space-padded to
  8 bytes][data]; `__metadata__` holds strings (gamedream writes `config` and `settings` as JSON);
- TensorFlow.js weights manifests (src/lib/storage/tfjs-manifest.ts): `model.json` with
  `weightsManifest` and a `gamedream` section (format version, config, step, SHA-256 of every
  shard) beside `group1-shard{i}of{n}.bin`, as `npm run train` writes and the model loaders read.

Names and layouts are the modules' own (Linear [in, out], conv [k, k, in, out]): nothing is transposed.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct

import numpy as np
import torch

from .config import APP_VERSION, FORMAT_VERSION
from .errors import GamedreamError

_DTYPES = {"F32": (np.float32, torch.float32), "F64": (np.float64, torch.float64), "I32": (np.int32, torch.int32), "I64": (np.int64, torch.int64), "U8": (np.uint8, torch.uint8), "BOOL": (np.bool_, torch.bool), "F16": (np.float16, torch.float16)}
_TORCH_TO_ST = {torch.float32: "F32", torch.float64: "F64", torch.int32: "I32", torch.int64: "I64", torch.uint8: "U8", torch.bool: "BOOL", torch.float16: "F16"}
TFJS_SHARD_BYTES = 4 * 1024 * 1024


def _write_atomic(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def encode_safetensors(tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> bytes:
    header: dict = {}
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    parts = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        dtype = _TORCH_TO_ST.get(t.dtype)
        if dtype is None:
            raise GamedreamError("WEIGHTS_FORMAT", f"Cannot write tensor \"{name}\" ({t.dtype}) to safetensors.")
        data = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        parts.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((-len(raw)) % 8)
    return struct.pack("<Q", len(raw)) + raw + b"".join(parts)


def decode_safetensors(data: bytes) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    if len(data) < 8:
        raise GamedreamError("WEIGHTS_FORMAT", "This is not a readable safetensors file: it is shorter than the 8-byte header length.")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise GamedreamError("WEIGHTS_FORMAT", f"This is not a readable safetensors file: its header length ({n}) does not fit the file.")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise GamedreamError("WEIGHTS_FORMAT", f"This is not a readable safetensors file: its header is not JSON ({e}).") from e
    start = 8 + n
    metadata = header.pop("__metadata__", {}) or {}
    entries = sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"]))
    tensors = {}
    for name, e in entries:
        if e["dtype"] not in _DTYPES:
            raise GamedreamError("WEIGHTS_FORMAT", f"This is not a readable safetensors file: tensor \"{name}\" has unsupported dtype {e['dtype']}.")
        np_dtype = np.dtype(_DTYPES[e["dtype"]][0]).newbyteorder("<")
        b, end = e["data_offsets"]
        arr = np.frombuffer(data[start + b : start + end], dtype=np_dtype).reshape(e["shape"])
        tensors[name] = torch.from_numpy(arr.astype(np_dtype.newbyteorder("=")).copy())
    return tensors, metadata


def save_safetensors(path: str, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    _write_atomic(path, encode_safetensors(tensors, metadata))


def load_safetensors(path: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    with open(path, "rb") as f:
        return decode_safetensors(f.read())


def write_tfjs_weights_dir(directory: str, tensors: dict[str, torch.Tensor], config=None, step: int | None = None, extra: dict | None = None) -> dict:
    """`writeTfjsWeightsDir`: shards first (4 MiB), then model.json naming their SHA-256s."""
    specs = []
    chunks = []
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous().float()
        specs.append({"name": name, "shape": list(t.shape), "dtype": "float32"})
        chunks.append(t.numpy().astype("<f4").tobytes())
    data = b"".join(chunks)
    shards = [data[i : i + TFJS_SHARD_BYTES] for i in range(0, len(data), TFJS_SHARD_BYTES)] or [b""]
    os.makedirs(directory, exist_ok=True)
    paths = []
    sha = {}
    for i, shard in enumerate(shards):
        name = f"group1-shard{i + 1}of{len(shards)}.bin"
        _write_atomic(os.path.join(directory, name), shard)
        paths.append(name)
        sha[name] = hashlib.sha256(shard).hexdigest()
    info: dict = {"formatVersion": FORMAT_VERSION, "appVersion": APP_VERSION, "sha256": sha}
    if config is not None:
        info["config"] = config
    if step is not None:
        info["step"] = step
    if extra is not None:
        info["extra"] = extra
    manifest = {"format": "weights-only", "generatedBy": f"gamedream_torch {APP_VERSION}", "convertedBy": None, "weightsManifest": [{"paths": paths, "weights": specs}], "gamedream": info}
    _write_atomic(os.path.join(directory, "model.json"), json.dumps(manifest, indent=1).encode("utf-8"))
    return manifest


def read_tfjs_weights(model_json: str) -> tuple[dict[str, torch.Tensor], dict]:
    """Reads model.json (or a folder holding one) and its shards, verifying every recorded SHA-256.
    Returns the tensors by name and the `gamedream` section ({} for plain tfjs manifests)."""
    if not model_json.endswith(".json"):
        model_json = os.path.join(model_json, "model.json")
    try:
        with open(model_json, encoding="utf-8") as f:
            manifest = json.load(f)
    except FileNotFoundError as e:
        raise GamedreamError("WEIGHTS_NOT_FOUND", f"There is no file {model_json}.") from e
    if not isinstance(manifest.get("weightsManifest"), list):
        raise GamedreamError("WEIGHTS_CORRUPT", f"{model_json} has no weightsManifest, so it is not a TensorFlow.js weights manifest.")
    info = manifest.get("gamedream") or {}
    fv = info.get("formatVersion")
    if info and (not isinstance(fv, str) or fv.split(".")[0] != FORMAT_VERSION.split(".")[0]):
        raise GamedreamError("INCOMPATIBLE_VERSION", f"{model_json} was written in format version {json.dumps(fv)}, which this reader (format {FORMAT_VERSION}) cannot read.")
    base = os.path.dirname(model_json)
    tensors = {}
    for group in manifest["weightsManifest"]:
        data = b""
        for p in group["paths"]:
            with open(os.path.join(base, p), "rb") as f:
                shard = f.read()
            expected = info.get("sha256", {}).get(p)
            if expected is not None and hashlib.sha256(shard).hexdigest() != expected:
                raise GamedreamError("WEIGHTS_CORRUPT", f"Weight shard {p} of {model_json} is damaged: its SHA-256 does not match the manifest. Download or copy it again.")
            data += shard
        offset = 0
        for spec in group["weights"]:
            if spec.get("quantization") or spec["dtype"] != "float32":
                raise GamedreamError("WEIGHTS_FORMAT", f"{model_json}: tensor \"{spec['name']}\" is {spec['dtype']}; only float32 weights are read.")
            count = int(np.prod(spec["shape"])) if spec["shape"] else 1
            arr = np.frombuffer(data[offset : offset + 4 * count], dtype="<f4").reshape(spec["shape"])
            tensors[spec["name"]] = torch.from_numpy(arr.astype(np.float32).copy())
            offset += 4 * count
        if offset != len(data):
            raise GamedreamError("WEIGHTS_CORRUPT", f"The shards of {model_json} hold {len(data)} bytes but the manifest describes {offset}.")
    return tensors, info


def load_into(module: torch.nn.Module, tensors: dict[str, torch.Tensor], what: str) -> None:
    """Copies weights by name; a missing, extra or misshapen weight is WEIGHTS_MISMATCH naming it."""
    own = module.state_dict()
    missing = [k for k in own if k not in tensors]
    extra = [k for k in tensors if k not in own]
    if missing or extra:
        raise GamedreamError("WEIGHTS_MISMATCH", f"{what} do not fit this model (missing {missing[:5]}, unexpected {extra[:5]}); the model config must match the one they were saved with.")
    for k, v in own.items():
        if tuple(v.shape) != tuple(tensors[k].shape):
            raise GamedreamError("WEIGHTS_MISMATCH", f"{what} do not fit this model (weight \"{k}\" has shape {list(tensors[k].shape)} but the model expects {list(v.shape)}).")
    module.load_state_dict({k: tensors[k] for k in own}, strict=True)
