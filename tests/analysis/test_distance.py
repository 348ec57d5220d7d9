"""Average attention distance against closed forms."""

import math

import pytest
import torch

from lut.analysis.distance import attention_distance, uniform_attention_distance, unit_scale


def with_cls(patch_attention: torch.Tensor, cls_share: float = 0.0) -> torch.Tensor:
    """(N, N) patch-to-patch weights -> (1, 1, 1 + N, 1 + N) attention giving `cls_share` of each row to CLS."""
    n = patch_attention.shape[0]
    full = torch.zeros(1 + n, 1 + n, dtype=torch.float64)
    full[0, 0] = 1.0
    full[1:, 0] = cls_share
    full[1:, 1:] = patch_attention * (1 - cls_share)
    return full.view(1, 1, 1 + n, 1 + n)


def test_identity_attention_is_zero():
    assert attention_distance(with_cls(torch.eye(16, dtype=torch.float64)), 4).item() == 0.0


def brute_force_mean_distance(grid: int) -> float:
    """Mean Euclidean distance over all ordered pairs of cells (self-pairs included) of a grid x grid board."""
    cells = [(row, col) for row in range(grid) for col in range(grid)]
    return sum(math.dist(a, b) for a in cells for b in cells) / len(cells) ** 2


UNIFORM_14 = brute_force_mean_distance(14)  # 7.280764...


@pytest.mark.parametrize("grid, expected", [(2, (2 + math.sqrt(2)) / 4), (14, UNIFORM_14)])
def test_uniform_attention_is_mean_pairwise_distance(grid, expected):
    n = grid * grid
    value = attention_distance(with_cls(torch.full((n, n), 1.0 / n, dtype=torch.float64)), grid).item()
    assert value == pytest.approx(expected, abs=1e-6)
    assert uniform_attention_distance(grid) == pytest.approx(expected, abs=1e-6)


def test_uniform_14x14_in_pixels_and_normalised():
    n = 196
    grid_units = attention_distance(with_cls(torch.full((n, n), 1.0 / n, dtype=torch.float64)), 14).item()
    assert grid_units * unit_scale("px", 16, 14) == pytest.approx(16 * UNIFORM_14, abs=1e-6)  # 116.49 px
    assert grid_units * unit_scale("normalised", 16, 14) == pytest.approx(UNIFORM_14 / 14, abs=1e-6)


def attend_right(grid: int) -> torch.Tensor:
    """Each patch attends to its right neighbour (the last column to its left neighbour)."""
    n = grid * grid
    weights = torch.zeros(n, n, dtype=torch.float64)
    for row in range(grid):
        for col in range(grid):
            target = col + 1 if col + 1 < grid else col - 1
            weights[row * grid + col, row * grid + target] = 1.0
    return weights


def test_one_hot_neighbour_is_one_grid_unit():
    assert attention_distance(with_cls(attend_right(5)), 5).item() == pytest.approx(1.0, abs=1e-12)


def test_cls_share_is_renormalised_or_counted_as_zero():
    attention = with_cls(attend_right(4), cls_share=0.25)
    assert attention_distance(attention, 4, renormalise=True).item() == pytest.approx(1.0)
    assert attention_distance(attention, 4, renormalise=False).item() == pytest.approx(0.75)


def test_batch_and_heads_are_kept_apart():
    first = with_cls(torch.eye(4, dtype=torch.float64))
    second = with_cls(torch.full((4, 4), 0.25, dtype=torch.float64))
    attention = torch.cat([torch.cat([first, second], dim=1), torch.cat([second, first], dim=1)])  # (2, 2, 5, 5)
    expected = (2 + math.sqrt(2)) / 4
    assert torch.allclose(attention_distance(attention, 2), torch.tensor([[0.0, expected], [expected, 0.0]],
                                                                          dtype=torch.float64))
