"""--still-from-data (task.py `still_clips`): in a distillation, the clips in which the player holds
no action learn the real frames' diffusion target; every other clip still learns the teacher's."""
from __future__ import annotations

import torch

from gamedream_torch.actions import NO_ACTION, encode_action
from gamedream_torch.task import dit_loss_terms, guidance_distillation_terms, still_clips

from test_distill import perturbed_dit, SCHEDULE
from test_reuse_last_step import REUSE, clip


def test_still_clips_are_those_with_no_action_on_every_frame():
    none = torch.from_numpy(encode_action(NO_ACTION))
    actions = none.repeat(3, 4, 1)
    actions[1, 2, 0] = 1  # a key on one frame
    actions[2, 0, 4] = 0.5  # the camera turning on the first frame
    assert still_clips(actions).tolist() == [True, False, False]


def test_still_clips_learn_the_data_and_the_others_the_teacher():
    model = perturbed_dit(12)
    latents, actions, timesteps, mask, eps = clip(model, 13)
    actions[0] = torch.from_numpy(encode_action(NO_ACTION))  # clip 0 stands still, clip 1 does not
    teacher = perturbed_dit(14)
    total, count = guidance_distillation_terms(model, teacher, latents, actions, SCHEDULE, timesteps, mask, eps, 1.0, REUSE, still_from_data=True)
    # Clip 0: the plain diffusion loss on the real frames; clip 1: the distillation term it had before.
    real, real_count = dit_loss_terms(model, latents[:1], actions[:1], SCHEDULE, REUSE, timesteps[:4], mask[:4], torch.ones(4), eps[:1])
    taught, _ = guidance_distillation_terms(model, teacher, latents[1:], actions[1:], SCHEDULE, timesteps[4:], mask[4:], eps[1:], 1.0, REUSE)
    expected = float(real) + float(taught)
    assert abs(float(total) - expected) <= 1e-4 * expected
    assert float(count) == 2 * float(real_count)
    # Without the flag, clip 0 learns the teacher too: a different loss.
    plain, _ = guidance_distillation_terms(model, teacher, latents, actions, SCHEDULE, timesteps, mask, eps, 1.0, REUSE)
    assert abs(float(plain) - expected) > 1e-3 * expected
