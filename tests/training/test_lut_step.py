"""One LUT / MAE loss computation: weights, cross-view pairing and the teacher's batched views."""

import copy

import pytest
import torch
from helpers import TINY_MODEL

import lut
from lut.losses import bc_loss, mae_loss
from lut.masking import keep_ids_to_mask, sample_keep_ids
from lut.models import Teacher
from lut.training.lut_step import LossSettings, pretrain_losses

TINY_KWARGS = {k: v for k, v in TINY_MODEL.items() if k != "model"}


def views(batch: int = 4) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return [torch.randn(batch, 3, 16, 16, generator=generator) for _ in range(2)]


def test_lut_losses_match_a_step_by_step_computation():
    torch.manual_seed(0)
    student = lut.create_model("lut_vit_tiny_patch16", **TINY_KWARGS).eval()
    teacher = Teacher.from_student(student)
    settings = LossSettings(patch_size=4, num_patches=16, mask_ratio=0.75, norm_pix_loss=True, mae_weight=0.5,
                            bc_weight=2.0)
    view1, view2 = views()
    with torch.no_grad():
        losses = pretrain_losses(student, teacher, [view1, view2], settings, torch.Generator().manual_seed(5))
        keep1, keep2 = sample_keep_ids(4, 16, 0.75, 2, torch.Generator().manual_seed(5))
        output = student(view1, keep1, view2, keep2)
        # The teacher sees each whole view; batching both views changes nothing in eval mode.
        target1, target2 = teacher(view1), teacher(view2)
        expected_mae = mae_loss(output.reconstruction, view1, keep_ids_to_mask(keep1, 16), 4, True)
        expected_bc = bc_loss(output.prediction1, output.prediction2, target1, target2)
    assert losses.mae.item() == pytest.approx(expected_mae.item(), rel=1e-5)
    assert losses.bc.item() == pytest.approx(expected_bc.item(), rel=1e-5)
    assert losses.total.item() == pytest.approx(0.5 * expected_mae.item() + 2.0 * expected_bc.item(), rel=1e-5)


def test_student_gets_gradients_and_the_teacher_none():
    torch.manual_seed(0)
    student = lut.create_model("lut_vit_tiny_patch16", **TINY_KWARGS).train()
    teacher = Teacher.from_student(student)
    settings = LossSettings(patch_size=4, num_patches=16)
    losses = pretrain_losses(student, teacher, views(), settings, torch.Generator().manual_seed(1))
    losses.total.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in student.parameters() if p.requires_grad)
    assert student.head[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in teacher.parameters())


def test_mae_losses_have_no_bc_term():
    torch.manual_seed(0)
    student = lut.create_model("mae_vit_tiny_patch16", **TINY_KWARGS)
    settings = LossSettings(patch_size=4, num_patches=16, mae_weight=3.0)
    view1 = views()[0]
    losses = pretrain_losses(student, None, [view1], settings, torch.Generator().manual_seed(2))
    assert losses.bc is None
    assert losses.total.item() == pytest.approx(3.0 * losses.mae.item())


def test_batched_views_give_the_losses_and_gradients_of_per_view_passes():
    """Both student views in one encoder batch (heads still per view) change no number."""
    torch.manual_seed(0)
    batched = lut.create_model("lut_vit_tiny_patch16", **TINY_KWARGS).train()
    per_view = copy.deepcopy(batched)
    teacher = Teacher.from_student(batched)
    settings = LossSettings(patch_size=4, num_patches=16, mask_ratio=0.75, norm_pix_loss=True, bc_weight=1.0)
    view1, view2 = views()

    losses = pretrain_losses(batched, teacher, [view1, view2], settings, torch.Generator().manual_seed(3))
    losses.total.backward()

    keep1, keep2 = sample_keep_ids(4, 16, 0.75, 2, torch.Generator().manual_seed(3))
    tokens1 = per_view.encoder.forward_encoder(view1, keep1)  # (B, 1 + K, D), view 1 alone
    tokens2 = per_view.encoder.forward_encoder(view2, keep2)
    prediction1 = per_view.predictor(per_view.head(tokens1[:, 1:].mean(dim=1)))
    prediction2 = per_view.predictor(per_view.head(tokens2[:, 1:].mean(dim=1)))
    reconstruction = per_view.decoder(tokens1, keep1)
    expected_mae = mae_loss(reconstruction, view1, keep_ids_to_mask(keep1, 16), 4, True)
    expected_bc = bc_loss(prediction1, prediction2, teacher(view1), teacher(view2))
    (expected_mae + expected_bc).backward()

    assert losses.mae.item() == pytest.approx(expected_mae.item(), rel=1e-5)
    assert losses.bc.item() == pytest.approx(expected_bc.item(), rel=1e-5)
    for (name, fast), (_, slow) in zip(batched.named_parameters(), per_view.named_parameters(), strict=True):
        assert torch.allclose(fast.grad, slow.grad, atol=1e-5, rtol=1e-4), name
