"""Diffusion core of src/lib/diffusion: schedules, parameterisations, q-sample, loss."""
from .schedules import alpha_bar_at, make_schedule, resolve_schedule_config, sigma_to_timestep, timestep_to_sigma
from .parameterization import alpha_bar_tensor, diffusion_target, prediction_to_x0_eps, q_sample
from .loss import diffusion_loss, min_snr_weights

__all__ = [
    "alpha_bar_at", "make_schedule", "resolve_schedule_config", "sigma_to_timestep", "timestep_to_sigma",
    "alpha_bar_tensor", "diffusion_target", "prediction_to_x0_eps", "q_sample", "diffusion_loss", "min_snr_weights",
]
