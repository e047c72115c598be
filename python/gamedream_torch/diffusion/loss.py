"""The diffusion training loss of src/lib/diffusion/loss.ts: masked, optionally min-SNR weighted MSE."""
from __future__ import annotations

import torch

from .parameterization import check_parameterization, diffusion_target


def min_snr_weights(alpha_bar: torch.Tensor, gamma: float, parameterization: str) -> torch.Tensor:
    """Min-SNR-gamma (Hang et al. 2023) per parameterization: eps min(1, gamma/snr), v min(snr, gamma)/(snr+1), x0 min(snr, gamma)."""
    snr = alpha_bar / (1 - alpha_bar)
    if parameterization == "eps":
        return torch.clamp(gamma / snr, max=1.0)
    if parameterization == "v":
        return torch.clamp(snr, max=gamma) / (snr + 1)
    check_parameterization(parameterization)
    return torch.clamp(snr, max=gamma)


def _with_trailing_axes(t: torch.Tensor, rank: int) -> torch.Tensor:
    return t if t.dim() >= rank else t.reshape(list(t.shape) + [1] * (rank - t.dim()))


def diffusion_loss_terms(prediction, x0, eps, alpha_bar, parameterization, min_snr_gamma=None, frame_weights=None):
    """(sum(w * m * (prediction - target)^2), sum(m)) over all elements: the numerator and
    denominator of `diffusionLoss`, so data-parallel ranks can divide by the global count."""
    target = diffusion_target(x0, eps, alpha_bar, parameterization)
    squared = (prediction - target) ** 2
    if min_snr_gamma is not None:
        squared = squared * min_snr_weights(alpha_bar, min_snr_gamma, parameterization)
    if frame_weights is None:
        return squared.sum(), torch.tensor(float(squared.numel()))
    mask = torch.broadcast_to(_with_trailing_axes(frame_weights, prediction.dim()), prediction.shape)
    return (squared * mask).sum(), mask.sum()


def diffusion_loss(prediction, x0, eps, alpha_bar, parameterization, min_snr_gamma=None, frame_weights=None) -> torch.Tensor:
    """Scalar: sum(w m (prediction - target)^2) / sum(m); mean(w * squared error) without a mask."""
    if frame_weights is None:
        target = diffusion_target(x0, eps, alpha_bar, parameterization)
        squared = (prediction - target) ** 2
        if min_snr_gamma is not None:
            squared = squared * min_snr_weights(alpha_bar, min_snr_gamma, parameterization)
        return squared.mean()
    total, count = diffusion_loss_terms(prediction, x0, eps, alpha_bar, parameterization, min_snr_gamma, frame_weights)
    return total / torch.clamp(count, min=1e-12)
