"""Training for the "reuse-last-step" cache update (task.py): the student runs frames 1.. with the
clean latent before each stacked on, the middle frames at the sampler's last level, and a teacher of
the "context-pass" kind sees those frames clean."""
from __future__ import annotations

import pytest
import torch

from gamedream_torch.diffusion import alpha_bar_tensor, q_sample
from gamedream_torch.errors import GamedreamError
from gamedream_torch.task import dit_loss_terms, guidance_distillation_terms, train_settings, validate_train_settings

from test_distill import SCHEDULE, perturbed_dit

REUSE = train_settings({"clipLength": 4, "samplerSteps": 1, "actionDropout": 0, "cacheUpdate": "reuse-last-step"})


def clip(model, seed: int):
    g = torch.Generator().manual_seed(seed)
    c = model.config
    latents = torch.randn(2, 4, c["latentHeight"], c["latentWidth"], c["latentChannels"], generator=g)
    actions = torch.randn(2, 4, c["actionDim"], generator=g)
    # What draw_frame_noise gives these clips: frame 0 lends its latent, 1-2 at the played level.
    timesteps = torch.tensor([0.0, 999.0, 999.0, 999.0, 0.0, 999.0, 999.0, 400.0])
    mask = torch.tensor([0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0])
    eps = torch.randn(latents.shape, generator=g)
    return latents, actions, timesteps, mask, eps


def test_the_student_runs_on_clean_stacked_latents_and_the_teacher_on_clean_context():
    teacher, student = perturbed_dit(7), perturbed_dit(8)
    latents, actions, timesteps, mask, eps = clip(teacher, 9)
    total, count = guidance_distillation_terms(student, teacher, latents, actions, SCHEDULE, timesteps, mask, eps, 1.0, REUSE)
    xt = q_sample(latents, eps, alpha_bar_tensor(SCHEDULE, timesteps.tolist(), [2, 4, 1, 1, 1]))
    levels = (timesteps / 999).reshape(2, 4)
    with torch.no_grad():
        # The teacher: frames 1..3, the first two clean at level 0, the target as noisy as the student's.
        teacher_in = torch.cat([latents[:, 1:3], xt[:, 3:]], dim=1)
        teacher_levels = torch.cat([torch.zeros(2, 2), levels[:, 3:]], dim=1)
        target = teacher(teacher_in, teacher_levels, actions[:, 1:])[:, 2]
        prediction = student(xt[:, 1:], levels[:, 1:], actions[:, 1:], None, previous=latents[:, :-1])[:, 2]
    expected = float(((prediction - target) ** 2).sum())
    assert float(count) == prediction.numel()
    assert abs(float(total) - expected) <= 1e-4 * expected
    # Not what the stacked noisy inputs (the "context-pass" default) would give.
    with torch.no_grad():
        default_stack = student(xt[:, 1:], levels[:, 1:], actions[:, 1:])[:, 2]
    assert abs(float(((default_stack - target) ** 2).sum()) - expected) > 1e-3 * expected


def test_the_loss_ignores_frame_zero_but_its_clean_latent():
    model = perturbed_dit(10)
    latents, actions, timesteps, mask, eps = clip(model, 11)
    base, count = dit_loss_terms(model, latents, actions, SCHEDULE, REUSE, timesteps, mask, torch.ones(8), eps)
    assert float(count) == 2 * latents[0, 0].numel()
    moved_eps, moved_action, moved_latent = eps.clone(), actions.clone(), latents.clone()
    moved_eps[:, 0] += 1
    moved_action[:, 0] += 1
    moved_latent[:, 0] += 1
    for name, args in (("noise", (latents, actions, moved_eps)), ("action", (latents, moved_action, eps))):
        total, _ = dit_loss_terms(model, args[0], args[1], SCHEDULE, REUSE, timesteps, mask, torch.ones(8), args[2])
        assert float(total) == float(base), f"frame 0's {name} reached the loss"
    total, _ = dit_loss_terms(model, moved_latent, actions, SCHEDULE, REUSE, timesteps, mask, torch.ones(8), eps)
    assert abs(float(total) - float(base)) > 1e-6 * float(base)


def test_settings_that_cannot_train_for_it_are_refused():
    config = perturbed_dit(1).config
    validate_train_settings(REUSE, config)
    with pytest.raises(GamedreamError, match="at least contextFrames \\+ 2 = 4 frames"):
        validate_train_settings({**REUSE, "clipLength": 3}, config)
    with pytest.raises(GamedreamError, match="contextLatentInput"):
        validate_train_settings(REUSE, {**config, "contextLatentInput": False})
    with pytest.raises(GamedreamError, match='"cacheUpdate" must be one of'):
        validate_train_settings({**REUSE, "cacheUpdate": "sometimes"}, config)
