"""`random_subset`, the one seeded subset of every command (evaluation, transfer and pre-training data)."""

import pytest
from torch.utils.data import Subset

from lut.data.sampling import random_subset

TEN = list(range(10, 20))  # sample i is 10 + i


def test_a_subset_is_seeded_and_drawn_without_replacement():
    subset = random_subset(TEN, 4, seed=3)
    assert isinstance(subset, Subset)
    assert subset.indices == [6, 0, 3, 7]  # torch.randperm(10) under seed 3, first four
    assert [subset[position] for position in range(4)] == [16, 10, 13, 17]
    assert random_subset(TEN, 4, seed=3).indices == subset.indices


@pytest.mark.parametrize("count", [0, -1, 10, 11])
def test_zero_negative_or_too_large_a_count_keeps_the_whole_set(count):
    # A negative count once kept all but the last |count| samples on one of two copies; it is the whole set now.
    assert random_subset(TEN, count, seed=0) is TEN
