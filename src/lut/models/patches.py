"""Images as sequences of flattened patches, in MAE's order, and back."""

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
