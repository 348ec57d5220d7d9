"""SimMIM's reconstruction loss: L1 over the masked pixels."""

import torch

from lut.losses.mae import pixel_targets


def simmim_loss(
    reconstruction: torch.Tensor, images: torch.Tensor, mask: torch.Tensor, patch_size: int, norm_pix_loss: bool
) -> torch.Tensor:
    """Mean absolute error over the pixels of the masked patches (SimMIM's loss, on MAE's targets).

    Args:
        reconstruction: (B, N, p*p*C) pixel predictions.
        images: (B, C, H, W) the (normalised) input the patches came from.
        mask: (B, N), 1 for masked patches, 0 for visible ones.
        patch_size: p.
        norm_pix_loss: regress per-patch standardised pixels.

    Returns:
        Scalar loss; every patch has p*p*C values, so the mean of the masked patches' means is
        the mean over all masked pixel values.
    """
    target = pixel_targets(images, patch_size, norm_pix_loss)
    per_patch = (reconstruction.float() - target.float()).abs().mean(dim=-1)  # (B, N)
    return (per_patch * mask).sum() / mask.sum()
