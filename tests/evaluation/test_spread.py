"""`mean_std`: one function for the spread of scores, its divisor chosen by what the scores are."""

import pytest

from lut.evaluation.spread import mean_std

EIGHT = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]  # mean 5, squared deviations sum to 32


def test_over_a_grid_the_divisor_is_n():
    assert mean_std(EIGHT, sample=False) == (5.0, 2.0)  # sqrt(32 / 8)


def test_over_seeds_the_divisor_is_n_minus_one():
    mean, std = mean_std(EIGHT, sample=True)
    assert mean == 5.0 and std == pytest.approx((32 / 7) ** 0.5, abs=1e-12)
    assert mean_std([80.0, 82.0], sample=True) == (81.0, pytest.approx(2**0.5, abs=1e-12))


def test_a_single_score_has_no_spread_and_none_is_refused():
    assert mean_std([83.02], sample=True) == (83.02, 0.0)
    assert mean_std([83.02], sample=False) == (83.02, 0.0)
    with pytest.raises(ValueError, match="at least one score"):
        mean_std([], sample=True)
