"""What a denoiser predicts (eps, v or x0), as src/lib/diffusion/parameterization.ts.

With a = sqrt(ab), b = sqrt(1 - ab): x_t = a x0 + b eps, v = a eps - b x0, x0 = a x_t - b v,
eps = b x_t + a v. `alpha_bar` is a tensor broadcastable to the data ([B, T, 1, 1, 1] per frame).
"""
from __future__ import annotations

import torch

from ..errors import GamedreamError
from .schedules import Schedule, alpha_bar_at

PARAMETERIZATIONS = ("eps", "v", "x0")


def check_parameterization(name: str) -> str:
    if name not in PARAMETERIZATIONS:
        raise GamedreamError("PARAMETERIZATION_UNKNOWN", f"Unknown parameterization \"{name}\". Choose one of: {', '.join(PARAMETERIZATIONS)}.")
    return name


def _coefficients(alpha_bar: torch.Tensor):
    return torch.sqrt(alpha_bar), torch.sqrt(torch.relu(1 - alpha_bar))


def q_sample(x0: torch.Tensor, eps: torch.Tensor, alpha_bar: torch.Tensor) -> torch.Tensor:
    a, b = _coefficients(alpha_bar)
    return x0 * a + eps * b


def diffusion_target(x0: torch.Tensor, eps: torch.Tensor, alpha_bar: torch.Tensor, parameterization: str) -> torch.Tensor:
    if parameterization == "eps":
        return eps
    if parameterization == "x0":
        return x0
    check_parameterization(parameterization)
    a, b = _coefficients(alpha_bar)
    return eps * a - x0 * b


def prediction_to_x0_eps(prediction: torch.Tensor, xt: torch.Tensor, alpha_bar: torch.Tensor, parameterization: str):
    a, b = _coefficients(alpha_bar)
    if parameterization == "eps":
        return (xt - prediction * b) / a, prediction
    if parameterization == "x0":
        return prediction, (xt - prediction * a) / b
    check_parameterization(parameterization)
    return xt * a - prediction * b, xt * b + prediction * a


def alpha_bar_tensor(schedule: Schedule, timesteps, shape) -> torch.Tensor:
    """Alpha-bar of each fractional timestep, float32 of `shape` (float64 math, then rounded, as TS)."""
    values = [alpha_bar_at(schedule, float(t)) for t in timesteps]
    return torch.tensor(values, dtype=torch.float32).reshape(list(shape))
