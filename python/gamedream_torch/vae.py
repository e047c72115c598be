"""The convolutional KL autoencoder of src/lib/vae (architecture in vae/config.ts) in PyTorch:
frames [B, 256, 256, 3] in [-1, 1] <-> latents [B, h, w, c], both NHWC at the interface as in tfjs;
NCHW inside. Conv kernels are stored [k, k, in, out] under the same names
(`encoder.down.0.block.0.conv1.weight`), so tfjs weights load as they are.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import validate_vae_config, vae_latent_shape
from .errors import GamedreamError
from .nn import Conv2d, add_nested, depth_to_space_nchw, get_nested, space_to_depth_nchw


def encoder_convs(config: dict) -> list[dict]:
    """Every encoder conv in order (`encoderConvs`)."""
    enc = config["encoder"]
    convs = [{"name": "encoder.conv_in", "k": 3, "cin": config["imageChannels"] * enc["stem"] ** 2, "cout": enc["channels"][0]}]
    for i, c in enumerate(enc["channels"]):
        for j in range(enc["blocks"][i]):
            convs.append({"name": f"encoder.down.{i}.block.{j}.conv1", "k": 3, "cin": c, "cout": c})
            convs.append({"name": f"encoder.down.{i}.block.{j}.conv2", "k": 3, "cin": c, "cout": c})
        if i < len(enc["channels"]) - 1:
            convs.append({"name": f"encoder.down.{i}.conv", "k": 1, "cin": 4 * c, "cout": enc["channels"][i + 1]})
    convs.append({"name": "encoder.conv_out", "k": 3, "cin": enc["channels"][-1], "cout": 2 * config["latentChannels"]})
    return convs


def decoder_convs(config: dict) -> list[dict]:
    dec = config["decoder"]
    convs = [{"name": "decoder.conv_in", "k": 3, "cin": config["latentChannels"], "cout": dec["channels"][0]}]
    for i, c in enumerate(dec["channels"]):
        for j in range(dec["blocks"][i]):
            convs.append({"name": f"decoder.up.{i}.block.{j}.conv1", "k": 3, "cin": c, "cout": c})
            convs.append({"name": f"decoder.up.{i}.block.{j}.conv2", "k": 3, "cin": c, "cout": c})
        if i < len(dec["channels"]) - 1:
            convs.append({"name": f"decoder.up.{i}.conv", "k": 1, "cin": c, "cout": 4 * dec["channels"][i + 1]})
    convs.append({"name": "decoder.conv_out", "k": 1, "cin": dec["channels"][-1], "cout": config["imageChannels"] * dec["head"] ** 2})
    return convs


class VAE(nn.Module):
    def __init__(self, config: dict, seed: int = 0):
        super().__init__()
        validate_vae_config(config)
        self.config = dict(config)
        g = torch.Generator().manual_seed(seed)
        for spec in encoder_convs(config) + decoder_convs(config):
            # LeCun-normal; the second conv of a residual block 10x smaller (vae/model.ts).
            gain = 0.1 if spec["name"].endswith(".conv2") else 1.0
            std = gain / math.sqrt(spec["k"] * spec["k"] * spec["cin"])
            add_nested(self, spec["name"], Conv2d(spec["k"], spec["cin"], spec["cout"], std, generator=g))

    def _conv(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return get_nested(self, name)(x)

    def _res_block(self, prefix: str, x: torch.Tensor) -> torch.Tensor:
        h = self._conv(f"{prefix}.conv1", F.silu(x))
        return x + self._conv(f"{prefix}.conv2", F.silu(h))

    def encode(self, frames: torch.Tensor):
        """frames [B, S, S, 3] in [-1, 1] -> (mean, logvar), each [B, h, w, c]."""
        c = self.config
        s = c["imageSize"]
        if frames.dim() != 4 or tuple(frames.shape[1:]) != (s, s, c["imageChannels"]):
            raise GamedreamError("VAE_INPUT_SHAPE", f"The VAE expected frames of shape [B, {s}, {s}, {c['imageChannels']}], got {list(frames.shape)}.")
        enc = c["encoder"]
        x = frames.permute(0, 3, 1, 2)
        if enc["stem"] > 1:
            x = space_to_depth_nchw(x, enc["stem"])
        h = self._conv("encoder.conv_in", x)
        for i in range(len(enc["channels"])):
            for j in range(enc["blocks"][i]):
                h = self._res_block(f"encoder.down.{i}.block.{j}", h)
            if i < len(enc["channels"]) - 1:
                h = self._conv(f"encoder.down.{i}.conv", space_to_depth_nchw(h, 2))
        out = self._conv("encoder.conv_out", F.silu(h)).permute(0, 2, 3, 1)
        lc = c["latentChannels"]
        return out[..., :lc], out[..., lc:]

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """latents [B, h, w, c] (unscaled) -> frames [B, S, S, 3] in [-1, 1]."""
        shape = vae_latent_shape(self.config)
        if latents.dim() != 4 or tuple(latents.shape[1:]) != shape:
            raise GamedreamError("VAE_INPUT_SHAPE", f"The VAE expected latents of shape [B, {shape[0]}, {shape[1]}, {shape[2]}], got {list(latents.shape)}.")
        dec = self.config["decoder"]
        x = self._conv("decoder.conv_in", latents.permute(0, 3, 1, 2))
        for i in range(len(dec["channels"])):
            for j in range(dec["blocks"][i]):
                x = self._res_block(f"decoder.up.{i}.block.{j}", x)
            if i < len(dec["channels"]) - 1:
                x = depth_to_space_nchw(self._conv(f"decoder.up.{i}.conv", x), 2)
        head = torch.sigmoid(self._conv("decoder.conv_out", F.silu(x)))
        out = depth_to_space_nchw(head, dec["head"]) if dec["head"] > 1 else head
        return (out * 2 - 1).permute(0, 2, 3, 1)

    def encode_scaled(self, frames: torch.Tensor) -> torch.Tensor:
        """frames -> posterior mean * latentScale [B, h, w, c], what the DiT sees."""
        mean, _ = self.encode(frames)
        return mean * self.config["latentScale"]

    def decode_scaled(self, latents: torch.Tensor) -> torch.Tensor:
        return self.decode(latents / self.config["latentScale"])


def create_vae(config: dict, seed: int = 0) -> VAE:
    return VAE(config, seed)
