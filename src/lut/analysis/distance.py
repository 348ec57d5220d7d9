"""Average attention distance (eq. 4 of the paper): how far, on the patch grid, each head looks."""

import torch

UNITS = ("px", "grid", "normalised")


def patch_distances(grid: int) -> torch.Tensor:
    """Euclidean distances between the centres of the patches of a `grid` x `grid` image.

    Returns:
        (N, N) float64 distances in grid units (neighbouring patches are 1 apart), patches in
        row-major order as `PatchEmbed` flattens them.
    """
    rows, cols = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    centres = torch.stack([rows.flatten(), cols.flatten()], dim=-1).double()  # (N, 2)
    return torch.cdist(centres, centres)


def unit_scale(unit: str, patch_size: int, grid: int) -> float:
    """Factor from grid units to `unit`: pixels (x patch size), grid units, or fractions of the image side."""
    scales = {"px": float(patch_size), "grid": 1.0, "normalised": 1.0 / grid}
    return scales[unit]


def attention_distance(attention: torch.Tensor, grid: int, renormalise: bool = True) -> torch.Tensor:
    """Attention-weighted mean distance between each query patch and the patches it attends to.

    Only patch tokens count: the CLS row and column are dropped. With `renormalise`, each
    query's remaining weights are divided by their sum (the attention given to CLS is
    spread over the patches in proportion); without it, the CLS share counts as distance 0.

    Args:
        attention: (B, heads, 1 + N, 1 + N) softmax weights, CLS first.
        grid: patches per side (N = grid * grid).
        renormalise: re-normalise the patch-to-patch rows to sum to one.

    Returns:
        (B, heads) float64 distances in grid units, averaged over the N query patches.
    """
    patches = attention[:, :, 1:, 1:].double()  # (B, heads, N, N)
    if renormalise:
        patches = patches / patches.sum(dim=-1, keepdim=True)
    per_query = (patches * patch_distances(grid).to(patches.device)).sum(dim=-1)  # (B, heads, N)
    return per_query.mean(dim=-1)


def uniform_attention_distance(grid: int) -> float:
    """Mean distance between two patches drawn uniformly from the grid (the value of uniform attention)."""
    return patch_distances(grid).mean().item()
