"""One LUT forward, top to bottom: views -> masks -> teacher -> student -> losses.

The MAE baseline takes the same path with one view and no teacher.
"""

from dataclasses import dataclass

import torch
from torch import nn

from lut.losses import bc_loss, mae_loss
from lut.masking import keep_ids_to_mask, sample_keep_ids
from lut.models.pretrain import Teacher


@dataclass(frozen=True)
class LossSettings:
    """The method's knobs that enter the loss."""

    patch_size: int
    num_patches: int
    mask_ratio: float = 0.75
    norm_pix_loss: bool = True
    mae_weight: float = 1.0
    bc_weight: float = 0.25


@dataclass
class StepLosses:
    """Scalar losses of one step; `bc` is None for MAE."""

    total: torch.Tensor
    mae: torch.Tensor
    bc: torch.Tensor | None = None


def pretrain_losses(
    student: nn.Module,
    teacher: Teacher | None,
    views: list[torch.Tensor],
    settings: LossSettings,
    mask_generator: torch.Generator,
) -> StepLosses:
    """Compute the pre-training losses of one micro-batch.

    Args:
        student: the `PretrainModel`, possibly wrapped in DDP.
        teacher: the EMA teacher (None for MAE).
        views: [view1] for MAE, [view1 (weak), view2 (strong)] for LUT; each (B, C, H, W).
        settings: loss knobs.
        mask_generator: random source of the masks.
    """
    view1 = views[0]
    batch = view1.shape[0]
    # Disjoint visible sets, K = N * (1 - mask_ratio) each.
    keep_ids = [
        ids.to(view1.device, non_blocking=True)
        for ids in sample_keep_ids(batch, settings.num_patches, settings.mask_ratio, len(views), mask_generator)
    ]  # (B, K) per view
    hidden1 = keep_ids_to_mask(keep_ids[0], settings.num_patches)  # (B, N), 1 = masked in view 1

    if teacher is None:
        output = student(view1, keep_ids[0])
        reconstruction = mae_loss(output.reconstruction, view1, hidden1, settings.patch_size, settings.norm_pix_loss)
        return StepLosses(settings.mae_weight * reconstruction, reconstruction)

    view2 = views[1]
    # Teacher: both whole views in one batch; its BatchNorm is in eval mode, so batching is exact.
    target1, target2 = teacher(torch.cat([view1, view2])).split(batch)  # (B, D) each
    # Student: visible tokens of both views; decoder on view 1, predictor per view.
    output = student(view1, keep_ids[0], view2, keep_ids[1])
    reconstruction = mae_loss(output.reconstruction, view1, hidden1, settings.patch_size, settings.norm_pix_loss)
    # Cross-view: view 2's prediction matches the teacher on view 1, and vice versa.
    context = bc_loss(output.prediction1, output.prediction2, target1, target2)
    total = settings.mae_weight * reconstruction + settings.bc_weight * context
    return StepLosses(total, reconstruction, context)
