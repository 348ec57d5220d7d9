"""Random masking: which patches each view's student sees."""

import torch


def num_visible_patches(num_patches: int, mask_ratio: float) -> int:
    """Patches kept per view: `int(N * (1 - mask_ratio))`, as in MAE."""
    return int(num_patches * (1 - mask_ratio))


def checked_visible_patches(num_patches: int, mask_ratio: float, num_views: int) -> int:
    """K, the visible patches per view, after checking that `num_views` disjoint sets of K fit in N.

    Raises:
        ValueError: K is 0, or the views would need more than N patches.
    """
    keep = num_visible_patches(num_patches, mask_ratio)
    if keep < 1 or num_views * keep > num_patches:
        raise ValueError(
            f"mask_ratio {mask_ratio} leaves {keep} of {num_patches} patches per view; "
            f"{num_views} disjoint views need 1 <= keep <= N / {num_views}"
        )
    return keep


def sample_keep_ids(
    batch_size: int, num_patches: int, mask_ratio: float, num_views: int, generator: torch.Generator
) -> list[torch.Tensor]:
    """Draw disjoint visible-patch sets for `num_views` views of each sample.

    One random permutation of the N positions is drawn per sample; view v keeps permutation
    entries `[v * K, (v + 1) * K)`, so the views never share a visible patch.

    Args:
        batch_size: B.
        num_patches: N.
        mask_ratio: fraction of patches hidden from each view.
        num_views: 1 (MAE) or 2 (LUT).
        generator: the random source; the caller seeds it.

    Returns:
        `num_views` tensors of shape (B, K), int64, on the generator's device.
    """
    keep = checked_visible_patches(num_patches, mask_ratio, num_views)
    noise = torch.rand(batch_size, num_patches, generator=generator, device=generator.device)  # (B, N)
    permutation = noise.argsort(dim=1)  # (B, N)
    return [permutation[:, view * keep:(view + 1) * keep] for view in range(num_views)]


def keep_ids_to_mask(keep_ids: torch.Tensor, num_patches: int) -> torch.Tensor:
    """Binary mask, 1 where a patch is hidden: (B, K) -> (B, N) float."""
    mask = torch.ones(keep_ids.shape[0], num_patches, device=keep_ids.device)
    return mask.scatter(1, keep_ids, 0.0)


def gather_tokens(tokens: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """The tokens at `ids` of each sample, in `ids` order: (B, N, D), (B, K) -> (B, K, D)."""
    return torch.gather(tokens, 1, ids.unsqueeze(-1).expand(-1, -1, tokens.shape[-1]))
