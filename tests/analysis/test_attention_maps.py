"""Query maps are laid out in image orientation."""

import torch

from lut.analysis.attention_maps import query_attention_maps, query_index, random_queries


def test_attend_right_lights_the_right_patch():
    grid, row, col = 4, 1, 2
    attention = torch.zeros(1, 2, 1 + grid * grid, 1 + grid * grid)  # (B, heads, T, T)
    attention[:, :, query_index(row, col, grid), query_index(row, col + 1, grid)] = 0.8
    attention[:, :, query_index(row, col, grid), 0] = 0.2  # CLS share, dropped and re-normalised away
    maps = query_attention_maps(attention, row, col, grid)  # (1, 2, 4, 4)
    assert maps.shape == (1, 2, grid, grid)
    expected = torch.zeros(grid, grid)
    expected[row, col + 1] = 1.0
    assert torch.equal(maps[0, 0], expected) and torch.equal(maps[0, 1], expected)


def test_query_index_is_row_major_after_cls():
    assert query_index(0, 0, 14) == 1
    assert query_index(1, 0, 14) == 15


def test_random_queries_are_distinct_and_seeded():
    queries = random_queries(5, 4, seed=3)
    assert len(set(queries)) == 5 and all(0 <= r < 4 and 0 <= c < 4 for r, c in queries)
    assert queries == random_queries(5, 4, seed=3)
