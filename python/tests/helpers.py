"""The computations both sides of the parity tests run (test/python/reference.ts `ditOutputs`, `vaeOutputs`)."""
from __future__ import annotations

import torch

from gamedream_torch.config import dit_option


@torch.no_grad()
def dit_outputs(dit, inputs: dict) -> dict:
    latents, levels, actions = inputs["latents"], inputs["levels"], inputs["actions"]
    b, t = latents.shape[:2]
    out = {"forward": dit(latents, levels, actions)}
    if dit_option(dit.config, "nullAction"):
        out["forward_dropped"] = dit(latents, levels, actions, inputs["keep"])
    if dit_option(dit.config, "contextLatentInput"):
        out["forward_previous"] = dit(latents, levels, actions, None, previous=-0.5 * latents)
    cache = dit.create_cache()
    for i in range(t - 1):
        dit.append_frame(cache, latents[:, i], levels[:, i], actions[:, i])
    out["frame"] = dit.forward_frame(cache, latents[:, t - 1], levels[:, t - 1], actions[:, t - 1])
    return out


@torch.no_grad()
def vae_outputs(vae, inputs: dict) -> dict:
    mean, logvar = vae.encode(inputs["frames"])
    return {"mean": mean, "logvar": logvar, "decoded": vae.decode(inputs["vae_latents"])}


def relative_error(ours: torch.Tensor, reference: torch.Tensor) -> float:
    """max |a - b| / max(1, max |b|): the 1e-4 tolerance of the parity tests."""
    assert tuple(ours.shape) == tuple(reference.shape), f"shape {list(ours.shape)} vs {list(reference.shape)}"
    return float((ours - reference).abs().max() / max(1.0, float(reference.abs().max())))
