"""MAE's reconstruction loss on the masked patches."""

import torch

from lut.models.patches import patchify


def normalize_patches(patches: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Standardise each patch by its own mean and unbiased variance (MAE's norm_pix_loss target)."""
    mean = patches.mean(dim=-1, keepdim=True)
    var = patches.var(dim=-1, keepdim=True)
    return (patches - mean) / (var + eps) ** 0.5


def pixel_targets(images: torch.Tensor, patch_size: int, norm_pix_loss: bool) -> torch.Tensor:
    """What the reconstruction regresses: (B, C, H, W) -> (B, N, p*p*C) patches, standardised per patch if asked."""
    target = patchify(images, patch_size)
    return normalize_patches(target) if norm_pix_loss else target


def mae_loss(
    reconstruction: torch.Tensor, images: torch.Tensor, mask: torch.Tensor, patch_size: int, norm_pix_loss: bool
) -> torch.Tensor:
    """Mean squared error over the masked patches.

    Args:
        reconstruction: (B, N, p*p*C) decoder output.
        images: (B, C, H, W) the (normalised) input the patches came from.
        mask: (B, N), 1 for masked patches, 0 for visible ones.
        patch_size: p.
        norm_pix_loss: regress per-patch standardised pixels.

    Returns:
        Scalar loss: per-patch MSE averaged over the masked patches.
    """
    target = pixel_targets(images, patch_size, norm_pix_loss)
    per_patch = (reconstruction.float() - target.float()).pow(2).mean(dim=-1)  # (B, N)
    return (per_patch * mask).sum() / mask.sum()
