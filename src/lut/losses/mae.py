"""MAE's reconstruction loss on the masked patches."""

import torch


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Cut images into flattened patches in MAE's order.

    Args:
        images: (B, C, H, W), H and W multiples of `patch_size`.
        patch_size: p.

    Returns:
        (B, N, p*p*C), each patch flattened as (row, column, channel).
    """
    batch, channels, height, width = images.shape
    rows, cols = height // patch_size, width // patch_size
    patches = images.reshape(batch, channels, rows, patch_size, cols, patch_size)
    patches = patches.permute(0, 2, 4, 3, 5, 1)  # (B, rows, cols, p, p, C)
    return patches.reshape(batch, rows * cols, patch_size * patch_size * channels)


def unpatchify(patches: torch.Tensor, patch_size: int, channels: int = 3) -> torch.Tensor:
    """Inverse of `patchify` for a square grid: (B, N, p*p*C) -> (B, C, H, W)."""
    batch, num_patches, _ = patches.shape
    side = int(round(num_patches**0.5))
    images = patches.reshape(batch, side, side, patch_size, patch_size, channels)
    images = images.permute(0, 5, 1, 3, 2, 4)  # (B, C, rows, p, cols, p)
    return images.reshape(batch, channels, side * patch_size, side * patch_size)


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
