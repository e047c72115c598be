"""The DiT training task of src/lib/train/dit-task.ts: which frames of a clip are context and which
are targets, their noise levels, action dropout, and the masked diffusion loss.

A clip of T frames splits into context frames (clean latents at a small random noise level in
[0, contextNoiseMax], as at generation time) and target frames, the only ones in the loss:
diffusion forcing (the first k frames are context, k uniform in 1..T-1) or, for `lastFrameShare`
of the clips, only the last frame is a target. Target levels are uniform over the schedule, except
`samplerTimestepShare` of them sit on the timesteps a `samplerSteps`-step sampler visits. With
probability `actionDropout` a frame's action is replaced by the DiT's learned null action.
The draws come from `Rng` (rng.py, the same generator as TypeScript), in the same order.

`cacheUpdate` says how play fills the KV cache, and so what the context frames must look like:
"context-pass" (above) trains for one more DiT pass per played frame on its clean latent;
"reuse-last-step" trains for a cache of the keys/values of each played frame's own last sampling
step, which saves that pass. Then the first frame of a clip only lends its clean latent to the
second frame's channels; the middle frames run at the sampler's last timestep, as played frames
did, each with the clean latent of the frame before stacked on; the last frame is the target.
"""
from __future__ import annotations

import json

import torch

from .config import DEFAULT_DIT_TRAIN, dit_option
from .actions import NO_ACTION, encode_action
from .diffusion import alpha_bar_tensor, diffusion_target, make_schedule, q_sample
from .diffusion.loss import diffusion_loss, diffusion_loss_terms
from .diffusion.schedules import Schedule
from .errors import GamedreamError
from .rng import Rng, gaussian_noise

# Settings older runs saved before a field existed read as the recipe they trained with.
_ABSENT_MEANS = {"lastFrameShare": 0, "samplerTimestepShare": 0, "samplerSteps": 2, "actionDropout": 0, "cacheUpdate": "context-pass"}

CACHE_UPDATES = ("context-pass", "reuse-last-step")


def train_settings(overrides: dict | None = None) -> dict:
    """DEFAULT_DIT_TRAIN (from presets.json) with `overrides` on top."""
    return {**DEFAULT_DIT_TRAIN, **(overrides or {})}


def _get(settings: dict, key: str):
    return settings.get(key, _ABSENT_MEANS.get(key))


def reuses_last_step(settings: dict) -> bool:
    """Whether the clips train for the "reuse-last-step" cache update (see the module comment)."""
    return _get(settings, "cacheUpdate") == "reuse-last-step"


def sampler_timesteps(T: int, steps: int) -> list[float]:
    """`samplerTimesteps` of src/lib/diffusion/samplers.ts: trailing spacing, T*(steps-i)/steps - 1."""
    if not isinstance(steps, int) or steps < 1 or steps > T:
        raise GamedreamError("SAMPLER_STEPS", f"The number of sampling steps must be an integer from 1 to {T} (got {steps}).")
    return [(T * (steps - i)) / steps - 1 for i in range(steps)]


def draw_frame_noise(rng: Rng, batch: int, frames: int, schedule: Schedule, settings: dict):
    """Per-frame timesteps (fractional, [0, T-1]), loss mask and action-keep mask, each float32 [B*T]."""
    last = schedule.T - 1
    share = _get(settings, "samplerTimestepShare")
    last_share = _get(settings, "lastFrameShare")
    dropout = _get(settings, "actionDropout")
    sampler_levels = sampler_timesteps(schedule.T, _get(settings, "samplerSteps")) if share > 0 else []
    reuse = reuses_last_step(settings)
    played_level = sampler_timesteps(schedule.T, _get(settings, "samplerSteps"))[-1] if reuse else 0.0
    timesteps = [0.0] * (batch * frames)
    mask = [0.0] * (batch * frames)
    keep = [1.0] * (batch * frames)
    for b in range(batch):
        last_only = not reuse and last_share > 0 and rng.next() < last_share
        context = 0 if frames <= 1 else (frames - 1 if last_only or reuse else 1 + rng.int(frames - 1))
        for t in range(frames):
            i = b * frames + t
            if reuse and t < context:
                # The first frame lends its clean latent only; the others ran as played frames did.
                timesteps[i] = 0.0 if t == 0 else played_level
            elif t < context:
                timesteps[i] = rng.next() * settings["contextNoiseMax"] * last
            else:
                on_sampler = len(sampler_levels) > 0 and rng.next() < share
                timesteps[i] = sampler_levels[rng.int(len(sampler_levels))] if on_sampler else rng.next() * last
                mask[i] = 1.0
            if dropout > 0 and rng.next() < dropout:
                keep[i] = 0.0
    as32 = lambda xs: torch.tensor(xs, dtype=torch.float32)  # noqa: E731
    return as32(timesteps), as32(mask), as32(keep)


def validate_train_settings(settings: dict, dit_config: dict) -> None:
    """`validateDiTTrainSettings`."""
    def err(message: str) -> GamedreamError:
        return GamedreamError("TRAIN_SETTINGS_INVALID", message)

    for key in ("lastFrameShare", "samplerTimestepShare"):
        if not 0 <= _get(settings, key) <= 1:
            raise err(f"The training setting \"{key}\" must lie in [0, 1], got {settings[key]}.")
    if not isinstance(settings["clipLength"], int) or settings["clipLength"] < 1:
        raise err(f"\"clipLength\" must be a positive whole number of frames, got {settings['clipLength']}.")
    steps = _get(settings, "samplerSteps")
    if not isinstance(steps, int) or steps < 1:
        raise err(f"\"samplerSteps\" must be a positive whole number, got {steps}.")
    dropout = _get(settings, "actionDropout")
    if not 0 <= dropout < 1:
        raise err(f"\"actionDropout\" must lie in [0, 1), got {dropout}.")
    if dropout > 0 and not dit_option(dit_config, "nullAction"):
        raise err("Action dropout needs a DiT with a learned null action (nullAction); this one has none: set actionDropout to 0.")
    cache_update = _get(settings, "cacheUpdate")
    if cache_update not in CACHE_UPDATES:
        raise err(f"\"cacheUpdate\" must be one of {', '.join(CACHE_UPDATES)}, got {json.dumps(cache_update)}.")
    if cache_update == "reuse-last-step":
        if not dit_option(dit_config, "contextLatentInput"):
            raise err("\"cacheUpdate\": \"reuse-last-step\" needs a DiT that stacks the previous clean latent on its input (contextLatentInput): its cached frames carry no clean latent of their own.")
        needed = dit_config["contextFrames"] + 2
        if settings["clipLength"] < needed:
            raise err(f"\"cacheUpdate\": \"reuse-last-step\" needs clips of at least contextFrames + 2 = {needed} frames (one that lends its latent, {dit_config['contextFrames']} of context, the target), got {settings['clipLength']}.")


def _noised(latents: torch.Tensor, schedule: Schedule, timesteps, eps):
    """The forward process at each frame's timestep: alpha-bar [B, T, 1, 1, 1], x_t like latents and
    the noise levels t / (T - 1) [B, T] that the DiT is given."""
    b, t = latents.shape[:2]
    alpha_bar = alpha_bar_tensor(schedule, timesteps.tolist(), [b, t, 1, 1, 1]).to(latents.device)
    levels = (timesteps / (schedule.T - 1)).reshape(b, t).to(latents.device)
    return alpha_bar, q_sample(latents, eps, alpha_bar), levels


def loss_inputs(dit, latents: torch.Tensor, actions: torch.Tensor, schedule: Schedule, settings: dict, timesteps, mask, keep, eps):
    """Everything `ditLoss` feeds `diffusionLoss`, from drawn noise: the prediction and the clean
    latents, noise, alpha-bar [B, T', 1, 1, 1] and frame mask [B, T'] of the frames it covers (all
    T, or frames 1.. under "reuse-last-step", whose first frame only lends its latent)."""
    b, t = latents.shape[:2]
    alpha_bar, xt, levels = _noised(latents, schedule, timesteps, eps)
    action_keep = keep.reshape(b, t) if _get(settings, "actionDropout") > 0 else None
    frame_mask = mask.reshape(b, t)
    if not reuses_last_step(settings):
        prediction = dit(xt, levels, actions, action_keep)
        return prediction, latents, eps, alpha_bar, frame_mask
    run = slice(1, None)
    prediction = dit(xt[:, run], levels[:, run], actions[:, run], None if action_keep is None else action_keep[:, run], previous=latents[:, :-1])
    return prediction, latents[:, run], eps[:, run], alpha_bar[:, run], frame_mask[:, run]


def dit_loss(dit, latents: torch.Tensor, actions: torch.Tensor, schedule: Schedule, settings: dict, rng: Rng) -> torch.Tensor:
    """`ditLoss`: levels, the split and dropped actions, then the noise, all from `rng` in TS order."""
    b, t = latents.shape[:2]
    timesteps, mask, keep = draw_frame_noise(rng, b, t, schedule, settings)
    eps = gaussian_noise(list(latents.shape), rng)
    prediction, clean, noise, alpha_bar, frame_mask = loss_inputs(dit, latents, actions, schedule, settings, timesteps, mask, keep, eps)
    return diffusion_loss(prediction, clean, noise, alpha_bar, dit.config["parameterization"], settings.get("minSnrGamma"), frame_mask)


def dit_loss_terms(dit, latents, actions, schedule: Schedule, settings: dict, timesteps, mask, keep, eps):
    """Numerator and denominator of the masked loss (data-parallel ranks divide by the global count)."""
    prediction, clean, noise, alpha_bar, frame_mask = loss_inputs(dit, latents, actions, schedule, settings, timesteps, mask, keep, eps)
    config = getattr(dit, "module", dit).config  # a DistributedDataParallel wrapper holds the DiT as .module
    return diffusion_loss_terms(prediction, clean, noise, alpha_bar, config["parameterization"], settings.get("minSnrGamma"), frame_mask)


def still_clips(actions: torch.Tensor) -> torch.Tensor:
    """Conditioning actions [B, T, A] -> bool [B]: the clips in which every frame came from no action
    (no key, a still camera, no interaction)."""
    none = torch.from_numpy(encode_action(NO_ACTION)).to(actions.device)
    return (actions == none).all(dim=2).all(dim=1)


def guidance_distillation_terms(student, teacher, latents, actions, schedule: Schedule, timesteps, mask, eps, scale: float, settings: dict | None = None, still_from_data: bool = False):
    """Guidance distillation (Meng et al., "On distillation of guided diffusion models", 2023): the
    student's conditional prediction learns the frozen teacher's guided one, uncond + scale *
    (cond - uncond), so one conditional pass samples what a guided batch of 2 did. The unconditional
    teacher pass gives the target frames the learned null action and keeps the context frames'
    actions, as guidance does at play time (src/lib/play/world-model.ts). At scale 1 the target is
    the teacher's conditional prediction alone (one teacher pass).

    Under "reuse-last-step" (`settings`) the student trains for that cache update (see the module
    comment) while the teacher, a DiT of the "context-pass" kind, sees what it was trained on: the
    same frames 1.., its context frames clean, the target frame as noisy as the student's. So a
    student learns to play without the context pass what its teacher played with it.
    With `still_from_data`, clips in which the player holds no action (`still_clips`) learn the
    real frames' diffusion target instead of the teacher's: a teacher trained on players who never
    stand still lets a still view drift, and the data knows the view does not move.
    Returns the masked squared error's numerator and denominator over target frames, as
    `dit_loss_terms`. latents [B, T, h, w, c], actions [B, T, A], timesteps / mask [B*T], eps like latents."""
    b, t = latents.shape[:2]
    alpha_bar, xt, levels = _noised(latents, schedule, timesteps, eps)
    frame_mask = mask.reshape(b, t).to(latents.device)
    still = still_clips(actions) if still_from_data else None
    clean = latents
    reuse = settings is not None and reuses_last_step(settings)
    student_args: dict = {}
    teacher_x, teacher_levels, teacher_actions = xt, levels, actions
    if reuse:
        run = slice(1, None)
        targets = frame_mask[:, run].reshape(b, t - 1, 1, 1, 1) > 0
        student_args = {"previous": latents[:, :-1]}
        teacher_x = torch.where(targets, xt[:, run], latents[:, run])
        teacher_levels = levels[:, run] * frame_mask[:, run]
        teacher_actions = actions[:, run]
        xt, levels, actions, frame_mask = xt[:, run], levels[:, run], actions[:, run], frame_mask[:, run]
        clean, eps, alpha_bar = latents[:, run], eps[:, run], alpha_bar[:, run]
    with torch.no_grad():
        if scale == 1:
            target = teacher(teacher_x, teacher_levels, teacher_actions, None)
        else:
            keep = torch.cat([torch.ones_like(frame_mask), 1 - frame_mask])
            both = teacher(torch.cat([teacher_x, teacher_x]), torch.cat([teacher_levels, teacher_levels]), torch.cat([teacher_actions, teacher_actions]), keep)
            cond, uncond = both.chunk(2)
            target = uncond + scale * (cond - uncond)
        if still is not None:
            parameterization = getattr(student, "module", student).config["parameterization"]
            real = diffusion_target(clean, eps, alpha_bar, parameterization)
            target = torch.where(still.reshape(b, 1, 1, 1, 1), real, target)
    prediction = student(xt, levels, actions, None, **student_args)
    weights = torch.broadcast_to(frame_mask.reshape(*frame_mask.shape, 1, 1, 1), prediction.shape)
    return (((prediction - target) ** 2) * weights).sum(), weights.sum()


def schedule_of(settings: dict) -> Schedule:
    return make_schedule(settings["schedule"])
