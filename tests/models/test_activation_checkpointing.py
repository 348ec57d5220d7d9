"""Activation checkpointing recomputes the encoder blocks: same losses, gradients and weights."""

import pytest
import torch
from helpers import TINY_MODEL

import lut
import lut.models.encoder
from lut.config import build_config
from lut.models import Teacher
from lut.runtime.checkpoint import ARCHITECTURE_KEYS
from lut.training.lut_step import LossSettings, pretrain_losses
from lut.training.pretrain_models import build_student

TINY_KWARGS = {k: v for k, v in TINY_MODEL.items() if k != "model"}


def losses_and_gradients(activation_checkpointing: bool) -> tuple[list[float], dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    student = lut.create_model("lut_vit_tiny_patch16", activation_checkpointing=activation_checkpointing,
                               **TINY_KWARGS).train()
    teacher = Teacher.from_student(student)
    generator = torch.Generator().manual_seed(0)
    views = [torch.randn(4, 3, 16, 16, generator=generator) for _ in range(2)]
    settings = LossSettings(patch_size=4, num_patches=16)
    losses = pretrain_losses(student, teacher, views, settings, torch.Generator().manual_seed(1))
    losses.total.backward()
    gradients = {name: p.grad.clone() for name, p in student.named_parameters() if p.grad is not None}
    return [losses.total.item(), losses.mae.item(), losses.bc.item()], gradients


def test_losses_and_gradients_are_unchanged(monkeypatch):
    plain_losses, plain_gradients = losses_and_gradients(False)
    calls = []

    def counting_checkpoint(function, *args, **kwargs):
        calls.append(kwargs)
        return torch.utils.checkpoint.checkpoint(function, *args, **kwargs)

    monkeypatch.setattr(lut.models.encoder, "checkpoint", counting_checkpoint)
    checkpointed_losses, checkpointed_gradients = losses_and_gradients(True)
    # Student only (2 views in one encoder batch, 12 blocks); the teacher runs without gradients.
    assert len(calls) == 12 and all(call == {"use_reentrant": False} for call in calls)
    assert checkpointed_losses == pytest.approx(plain_losses, abs=1e-6)
    assert plain_gradients.keys() == checkpointed_gradients.keys()
    assert any(name.startswith("encoder.blocks.") for name in plain_gradients)
    for name, gradient in plain_gradients.items():
        torch.testing.assert_close(checkpointed_gradients[name], gradient, rtol=0, atol=1e-6, msg=name)


def test_config_switch_reaches_the_encoder_and_leaves_the_state_dict_alone():
    plain = build_student(build_config(dict(TINY_MODEL)))
    checkpointed = build_student(build_config({**TINY_MODEL, "activation_checkpointing": True}))
    assert checkpointed.encoder.activation_checkpointing and not plain.encoder.activation_checkpointing
    assert checkpointed.state_dict().keys() == plain.state_dict().keys()
    assert "activation_checkpointing" not in ARCHITECTURE_KEYS and "compile" not in ARCHITECTURE_KEYS
