"""Configs as data, shared with TypeScript: presets.json is written from src/lib (presets.ts,
dit.ts, vae/config.ts, diffusion/schedules.ts, train/dit-task.ts, train/optim.ts,
storage/version.ts) by `npx tsx test/python/reference.ts presets > python/gamedream_torch/presets.json`,
and the parity test fails when the two differ. Model configs travel as the same JSON a tfjs
checkpoint, weights manifest or safetensors header carries.
"""
from __future__ import annotations

import json
import os

from .errors import GamedreamError

_HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(_HERE, "presets.json"), encoding="utf-8") as _f:
    SHARED = json.load(_f)

PRESETS: dict = SHARED["presets"]
PRESET_NAMES = list(PRESETS)
SCHEDULE_DEFAULTS: dict = SHARED["scheduleDefaults"]
DEFAULT_DIT_TRAIN: dict = SHARED["ditTrain"]
DEFAULT_OPTIM: dict = SHARED["optim"]
FORMAT_VERSION: str = SHARED["formatVersion"]
APP_VERSION: str = SHARED["appVersion"]

# DiT fields added after the first configs were saved, with the value that keeps older configs
# meaning what they meant (src/lib/models/dit.ts reads an absent field the same way).
DIT_FIELD_DEFAULTS = {"actionEmbedder": "linear", "actionToTokens": False, "contextLatentInput": False, "nullAction": False}


def get_preset(name: str) -> dict:
    if name not in PRESETS:
        raise GamedreamError("PRESET_UNKNOWN", f"Unknown model preset \"{name}\". Choose one of: {', '.join(PRESET_NAMES)}.")
    return PRESETS[name]


def dit_option(config: dict, key: str):
    return config.get(key, DIT_FIELD_DEFAULTS[key])


def validate_dit_config(config: dict) -> None:
    """`validateDiTConfig` of src/lib/models/dit.ts."""
    def invalid(message: str) -> GamedreamError:
        return GamedreamError("DIT_CONFIG_INVALID", message)

    for key in ("latentHeight", "latentWidth", "latentChannels", "patchSize", "hidden", "depth", "heads", "mlpRatio", "actionDim", "frequencyDim"):
        v = config.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise invalid(f"The DiT setting \"{key}\" must be a positive integer, got {v}.")
    k = config.get("contextFrames")
    if not isinstance(k, int) or k < 0:
        raise invalid(f"The DiT setting \"contextFrames\" must be a whole number of frames (0 or more), got {k}.")
    h, w, p = config["latentHeight"], config["latentWidth"], config["patchSize"]
    if h % p or w % p:
        raise invalid(f"The latent size {h}x{w} is not divisible by the patch size {p}.")
    if config["hidden"] % config["heads"]:
        raise invalid(f"The hidden width {config['hidden']} is not divisible by the {config['heads']} attention heads.")
    if config["hidden"] % 4:
        raise invalid(f"The hidden width {config['hidden']} must be a multiple of 4 for 2D sin-cos positions.")
    if config["frequencyDim"] % 2:
        raise invalid(f"The noise-level feature width {config['frequencyDim']} must be even.")
    if config.get("spatialPositions") not in ("sincos", "learned"):
        raise invalid(f"The DiT setting \"spatialPositions\" must be \"sincos\" or \"learned\", got {config.get('spatialPositions')}.")
    if config.get("parameterization") not in ("eps", "v", "x0"):
        raise invalid(f"Unknown parameterization \"{config.get('parameterization')}\". Choose one of: eps, v, x0.")
    if dit_option(config, "actionEmbedder") not in ("linear", "mlp"):
        raise invalid(f"The DiT setting \"actionEmbedder\" must be \"linear\" or \"mlp\", got {config.get('actionEmbedder')}.")


def vae_downsample(config: dict) -> int:
    return config["encoder"]["stem"] * 2 ** (len(config["encoder"]["channels"]) - 1)


def vae_latent_shape(config: dict) -> tuple[int, int, int]:
    s = config["imageSize"] // vae_downsample(config)
    return s, s, config["latentChannels"]


def validate_vae_config(config: dict) -> None:
    """`validateVAEConfig` of src/lib/models/vae-config.ts."""
    for field in ("encoder", "decoder"):
        part = config[field]
        if not part["channels"] or len(part["channels"]) != len(part["blocks"]):
            raise GamedreamError("VAE_CONFIG_INVALID", f"VAE {field}.channels and {field}.blocks must be non-empty lists of the same length.")
    down = vae_downsample(config)
    up = config["decoder"]["head"] * 2 ** (len(config["decoder"]["channels"]) - 1)
    if down != up:
        raise GamedreamError("VAE_CONFIG_INVALID", f"The VAE encoder downsamples {down}x but the decoder upsamples {up}x; they must match.")
    if config["imageSize"] % down:
        raise GamedreamError("VAE_CONFIG_INVALID", f"Image size {config['imageSize']} is not divisible by the VAE's downsampling factor {down}.")
    if not config["latentScale"] > 0:
        raise GamedreamError("VAE_CONFIG_INVALID", f"latentScale must be a positive number, got {config['latentScale']}.")
