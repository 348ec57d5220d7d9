"""Fixed 2-D sin-cos position tables, laid out exactly as MAE's so weights interchange."""

import torch


def sincos_1d(dim: int, positions: torch.Tensor) -> torch.Tensor:
    """Sin-cos embedding of 1-D positions.

    Args:
        dim: output width, even.
        positions: (M,) positions.

    Returns:
        (M, dim) float64 table: the first half sines, the second half cosines.
    """
    if dim % 2:
        raise ValueError(f"sin-cos embedding width must be even, got {dim}")
    frequencies = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2))
    angles = positions.to(torch.float64)[:, None] * frequencies[None, :]  # (M, dim/2)
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def sincos_2d_position_table(dim: int, grid_size: int, cls_token: bool = True) -> torch.Tensor:
    """The fixed position table of MAE's encoder and decoder.

    Args:
        dim: embedding width, divisible by 4.
        grid_size: patches per side.
        cls_token: prepend an all-zero row for the CLS token.

    Returns:
        (1, [1 +] grid_size**2, dim) float32 table; rows run over the grid row by row.
    """
    if dim % 4:
        raise ValueError(f"2-D sin-cos embedding width must be divisible by 4, got {dim}")
    coords = torch.arange(grid_size, dtype=torch.float64)
    # MAE builds meshgrid(w, h): its first half encodes the column, its second the row.
    rows, cols = torch.meshgrid(coords, coords, indexing="ij")  # (G, G) each
    table = torch.cat([sincos_1d(dim // 2, cols.flatten()), sincos_1d(dim // 2, rows.flatten())], dim=1)
    if cls_token:
        table = torch.cat([torch.zeros(1, dim, dtype=torch.float64), table], dim=0)
    return table.float().unsqueeze(0)
