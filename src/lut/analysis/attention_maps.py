"""Where a query patch looks: one attention row of a block, as a map over the patch grid (Fig. 1)."""

import torch


def query_index(row: int, col: int, grid: int) -> int:
    """Token index (CLS is 0) of the patch in `row`, `col` of the grid (row-major, as `PatchEmbed` flattens)."""
    return 1 + row * grid + col


def random_queries(count: int, grid: int, seed: int) -> list[tuple[int, int]]:
    """`count` distinct (row, col) patches drawn with a seeded generator."""
    generator = torch.Generator().manual_seed(seed)
    picks = torch.randperm(grid * grid, generator=generator)[:count].tolist()
    return [divmod(pick, grid) for pick in picks]


def query_attention_maps(
    attention: torch.Tensor, row: int, col: int, grid: int, renormalise: bool = True
) -> torch.Tensor:
    """The attention of one query patch to every patch, per head, laid out on the grid.

    Args:
        attention: (B, heads, 1 + N, 1 + N) softmax weights of one block, CLS first.
        row: query patch row.
        col: query patch column.
        grid: patches per side.
        renormalise: divide by the weight left after dropping CLS, so each map sums to one.

    Returns:
        (B, heads, grid, grid) float32 maps; [..., r, c] is the weight on the patch in row r, column c.
    """
    weights = attention[:, :, query_index(row, col, grid), 1:].float()  # (B, heads, N)
    if renormalise:
        weights = weights / weights.sum(dim=-1, keepdim=True)
    return weights.reshape(*weights.shape[:2], grid, grid)
