"""Guidance distillation: the loss of task.py `guidance_distillation_terms` (the student learns the
teacher's guided prediction; the unconditional teacher pass drops only the target frames' actions)."""
from __future__ import annotations

import copy

import torch

from gamedream_torch.config import get_preset
from gamedream_torch.diffusion import alpha_bar_tensor, make_schedule, q_sample
from gamedream_torch.dit import DiT
from gamedream_torch.task import guidance_distillation_terms

SCHEDULE = make_schedule({"kind": "cosine", "T": 1000})


def perturbed_dit(seed: int) -> DiT:
    """A 2-block realtime DiT with every weight moved off its initialisation (adaLN-Zero would make
    the blocks the identity and the prediction blind to the action)."""
    model = DiT({**get_preset("realtime")["dit"], "latentHeight": 16, "latentWidth": 16, "latentChannels": 8, "depth": 2}, seed=seed)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.05)
    return model


def batch(model: DiT, seed: int):
    """Two clips of 3 frames: clip 0 has one target (the last), clip 1 two (diffusion forcing)."""
    g = torch.Generator().manual_seed(seed)
    c = model.config
    latents = torch.randn(2, 3, c["latentHeight"], c["latentWidth"], c["latentChannels"], generator=g)
    actions = torch.randn(2, 3, c["actionDim"], generator=g)
    timesteps = torch.tensor([10.0, 5.0, 999.0, 2.0, 600.0, 999.0])
    mask = torch.tensor([0.0, 0.0, 1.0, 0.0, 1.0, 1.0])
    eps = torch.randn(latents.shape, generator=g)
    return latents, actions, timesteps, mask, eps


@torch.no_grad()
def teacher_passes(teacher: DiT, latents, actions, timesteps, mask, eps):
    """The teacher's conditional pass and its pass with only the target frames given the null action."""
    b, t = latents.shape[:2]
    xt = q_sample(latents, eps, alpha_bar_tensor(SCHEDULE, timesteps.tolist(), [b, t, 1, 1, 1]))
    levels = (timesteps / (SCHEDULE.T - 1)).reshape(b, t)
    cond = teacher(xt, levels, actions)
    uncond = teacher(xt, levels, actions, (1 - mask).reshape(b, t))
    return cond, uncond


def test_the_student_learns_the_guided_prediction_of_the_teacher():
    teacher = perturbed_dit(3)
    student = copy.deepcopy(teacher)
    latents, actions, timesteps, mask, eps = batch(teacher, 4)
    cond, uncond = teacher_passes(teacher, latents, actions, timesteps, mask, eps)
    weights = mask.reshape(2, 3, 1, 1, 1).expand_as(cond)
    # The null action changes the targets' predictions: the test is not blind to guidance.
    assert float(((cond - uncond).abs() * weights).max()) > 1e-3
    # A student equal to its teacher already gives the scale-1 target exactly.
    total, count = guidance_distillation_terms(student, teacher, latents, actions, SCHEDULE, timesteps, mask, eps, 1.0)
    assert float(total) < 1e-8 and float(count) == 3 * cond[0, 0].numel()
    # At scale s its error is (1 - s)(cond - uncond) on the target frames only.
    total, count = guidance_distillation_terms(student, teacher, latents, actions, SCHEDULE, timesteps, mask, eps, 1.5)
    expected = float((((0.5 * (cond - uncond)) ** 2) * weights).sum())
    assert abs(float(total) - expected) <= 1e-4 * expected
    # Dropping the context frames' actions too would give another target (play keeps them).
    all_dropped = teacher(
        q_sample(latents, eps, alpha_bar_tensor(SCHEDULE, timesteps.tolist(), [2, 3, 1, 1, 1])),
        (timesteps / (SCHEDULE.T - 1)).reshape(2, 3), actions, torch.zeros(2, 3),
    ).detach()
    wrong = float((((0.5 * (cond - all_dropped)) ** 2) * weights).sum())
    assert abs(wrong - expected) > 1e-3 * expected


def test_only_the_student_gets_gradients():
    teacher = perturbed_dit(5)
    student = copy.deepcopy(teacher)
    for p in teacher.parameters():
        p.requires_grad_(False)
    latents, actions, timesteps, mask, eps = batch(teacher, 6)
    total, _ = guidance_distillation_terms(student, teacher, latents, actions, SCHEDULE, timesteps, mask, eps, 2.0)
    total.backward()
    grads = [p.grad for p in student.parameters() if p.grad is not None]
    assert grads and max(float(g.abs().max()) for g in grads) > 0
    assert all(p.grad is None for p in teacher.parameters())
