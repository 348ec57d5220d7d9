"""One LUT forward, top to bottom: views -> masks -> teacher -> student -> losses.

The MAE baseline takes the same path with one view and no teacher. The paper's ablations
(Table 4a-e, and the paper's single-view reading) are `LossSettings` switches; their
defaults are the released code, and each variant lives in a small helper below the step.
`mim=simmim` (the SimMIM-style student, see `PretrainModel`) changes only what the student
computes inside and the reconstruction loss (SimMIM's L1 instead of MAE's MSE).
"""

from dataclasses import dataclass

import torch
from torch import nn

from lut.errors import UsageError
from lut.losses import bc_distance, bc_loss, mae_loss, simmim_loss
from lut.masking import keep_ids_to_mask, sample_keep_ids
from lut.models.pretrain import StudentOutput, StudentReadout, Teacher

CHOICES = {
    "bc_tokens": ("unmasked", "all"),
    "context_token": ("pooled", "cls"),
    "supervision": ("pooled", "tokenwise", "both"),
    "bc_loss": ("cosine", "infonce", "smooth_l1"),
    "views": ("cross", "single"),
    "mim": ("mae", "simmim"),
}


@dataclass(frozen=True)
class LossSettings:
    """The method's knobs that enter the loss (the config's help text says what each does)."""

    patch_size: int
    num_patches: int
    mask_ratio: float = 0.75
    norm_pix_loss: bool = True
    mae_weight: float = 1.0
    bc_weight: float = 0.25
    bc_tokens: str = "unmasked"
    context_token: str = "pooled"
    supervision: str = "pooled"
    bc_loss: str = "cosine"
    bc_temperature: float = 0.2
    target_mask_ratio: float = 0.0
    views: str = "cross"
    symmetric_heads: bool = False
    mim: str = "mae"

    def __post_init__(self) -> None:
        for key, allowed in CHOICES.items():
            if getattr(self, key) not in allowed:
                raise UsageError(f"{key}: {getattr(self, key)!r} is not one of {', '.join(allowed)}")
        if not 0.0 <= self.target_mask_ratio < 1.0:
            raise UsageError(f"target_mask_ratio must be in [0, 1), got {self.target_mask_ratio}")
        if self.bc_temperature <= 0:
            raise UsageError(f"bc_temperature must be positive, got {self.bc_temperature}")
        if self.bc_tokens == "all" and self.context_token == "cls":
            raise UsageError("bc_tokens=all pools patch tokens; it needs context_token=pooled")
        if self.supervision != "pooled" and self.views == "single":
            raise UsageError("token-wise supervision needs views=cross (the teacher must see the student's view)")
        if self.supervision != "pooled" and self.target_mask_ratio > 0:
            raise UsageError("token-wise supervision needs target_mask_ratio=0 (every position must have a target)")
        if self.mim == "simmim" and self.bc_tokens == "all":
            raise UsageError("bc_tokens=all pools the MAE decoder's mask-token outputs; mim=simmim has no decoder")

    @property
    def tokenwise(self) -> bool:
        return self.supervision in ("tokenwise", "both")

    @property
    def pooled(self) -> bool:
        return self.supervision in ("pooled", "both")

    def readout(self) -> StudentReadout:
        """What the student must compute for these settings."""
        return StudentReadout(self.context_token, self.bc_tokens, self.pooled, self.tokenwise,
                              not self.symmetric_heads)

    def is_released_default(self) -> bool:
        """True when every ablation switch has the released code's value."""
        return (self.bc_tokens, self.context_token, self.supervision, self.bc_loss, self.target_mask_ratio,
                self.views, self.symmetric_heads) == ("unmasked", "pooled", "pooled", "cosine", 0.0, "cross", False)


@dataclass
class StepLosses:
    """Scalar losses of one step; `mae` is the reconstruction loss (SimMIM's L1 with mim=simmim), `bc` None for MAE."""

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
    student_views = 1 if settings.views == "single" else len(views)
    # Disjoint visible sets, K = N * (1 - mask_ratio) each.
    keep_ids = [
        to_device(ids, view1.device)
        for ids in sample_keep_ids(batch, settings.num_patches, settings.mask_ratio, student_views, mask_generator)
    ]  # (B, K) per view
    hidden1 = keep_ids_to_mask(keep_ids[0], settings.num_patches)  # (B, N), 1 = masked in view 1

    if teacher is None:
        output = student(view1, keep_ids[0])
        reconstruction = _reconstruction_loss(output.reconstruction, view1, hidden1, settings)
        return StepLosses(settings.mae_weight * reconstruction, reconstruction)
    if not settings.is_released_default():
        return _ablation_losses(student, teacher, views, keep_ids, hidden1, settings, mask_generator)

    view2 = views[1]
    # Teacher: both whole views in one batch; its BatchNorm is in eval mode, so batching is exact.
    target1, target2 = teacher(torch.cat([view1, view2])).split(batch)  # (B, D) each
    # Student: both views' visible tokens (simmim: of a pass over all positions); view 1 rebuilt; predictor per view.
    output = student(view1, keep_ids[0], view2, keep_ids[1])
    reconstruction = _reconstruction_loss(output.reconstruction, view1, hidden1, settings)
    # Cross-view: view 2's prediction matches the teacher on view 1, and vice versa.
    context = bc_loss(output.prediction1, output.prediction2, target1, target2)
    total = settings.mae_weight * reconstruction + settings.bc_weight * context
    return StepLosses(total, reconstruction, context)


def to_device(ids: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Move CPU-drawn masks to `device`; to a GPU through pinned memory, so the copy does not wait for the GPU."""
    if device.type == "cuda" and ids.device.type == "cpu":
        return ids.pin_memory().to(device, non_blocking=True)
    return ids.to(device)


def _reconstruction_loss(
    reconstruction: torch.Tensor, view1: torch.Tensor, hidden1: torch.Tensor, settings: LossSettings
) -> torch.Tensor:
    """MAE's MSE, or SimMIM's L1 with mim=simmim, over view 1's masked patches: (B, N, p*p*C) -> scalar."""
    loss = simmim_loss if settings.mim == "simmim" else mae_loss
    return loss(reconstruction, view1, hidden1, settings.patch_size, settings.norm_pix_loss)


# ---------------------------------------------------------------------------------- ablations
def _ablation_losses(
    student: nn.Module,
    teacher: Teacher,
    views: list[torch.Tensor],
    keep_ids: list[torch.Tensor],
    hidden1: torch.Tensor,
    settings: LossSettings,
    mask_generator: torch.Generator,
) -> StepLosses:
    """The step above with the paper's ablation switches; the same numbers at the default values."""
    view1, view2 = views[0], views[1]
    batch = view1.shape[0]
    teacher_keep = _teacher_keep_ids(2 * batch, settings, mask_generator, view1.device)
    # Token-wise targets sit at the student's visible positions of the *same* view: the two
    # views are different crops, so a patch position means different content across views.
    token_ids = torch.cat(keep_ids) if settings.tokenwise else None
    target, target_tokens = teacher.targets(torch.cat([view1, view2]), teacher_keep, settings.context_token, token_ids)
    target1, target2 = target.split(batch)  # (B, D) each

    if settings.views == "single":
        output = student(view1, keep_ids[0], readout=settings.readout())
    else:
        output = student(view1, keep_ids[0], view2, keep_ids[1], readout=settings.readout())
    reconstruction = _reconstruction_loss(output.reconstruction, view1, hidden1, settings)

    distance = bc_distance(settings.bc_loss, settings.bc_temperature)
    terms = []
    if settings.pooled:
        if settings.views == "single":
            # One masked student view (view 1) against the teacher's separately augmented whole view 2.
            terms.append(distance(output.prediction1, target2))
        else:
            terms.append(bc_loss(output.prediction1, output.prediction2, target1, target2, distance))
    if settings.tokenwise:
        terms.append(_tokenwise_loss(output, target_tokens.split(batch), distance))
    context = terms[0] if len(terms) == 1 else terms[0] + terms[1]
    total = settings.mae_weight * reconstruction + settings.bc_weight * context
    return StepLosses(total, reconstruction, context)


def _teacher_keep_ids(
    count: int, settings: LossSettings, mask_generator: torch.Generator, device: torch.device
) -> torch.Tensor | None:
    """Table 4e: the teacher's own random visible sets (drawn after the student's), None when unmasked.

    One draw for the batched teacher input (view 1 samples, then view 2 samples): (2B, Kt).
    """
    if settings.target_mask_ratio == 0:
        return None
    (keep,) = sample_keep_ids(count, settings.num_patches, settings.target_mask_ratio, 1, mask_generator)
    return to_device(keep, device)


def _tokenwise_loss(output: StudentOutput, targets: tuple[torch.Tensor, torch.Tensor], distance) -> torch.Tensor:
    """Table 4c token-wise: each visible token's prediction vs the teacher's token at that position,
    same view; the distance is taken over all B*K tokens of a view, then the two views averaged."""
    losses = []
    for prediction, target in zip((output.token_prediction1, output.token_prediction2), targets, strict=True):
        width = prediction.shape[-1]
        losses.append(distance(prediction.reshape(-1, width), target.reshape(-1, width)))
    return (losses[0] + losses[1]) / 2
