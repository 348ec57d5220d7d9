"""The mean and standard deviation of a set of scores, with the divisor that fits what the set is."""

import math
from collections.abc import Sequence


def mean_std(values: Sequence[float], *, sample: bool) -> tuple[float, float]:
    """Mean and standard deviation of scores.

    Args:
        values: one score or more.
        sample: True for repeated runs of one setting (seeds): the sample standard deviation, divisor n - 1,
            estimates the spread of the method. False for every point of a grid: the spread of the grid itself,
            divisor n (the transfer literature's "mean +- std over the grid").

    Returns:
        The mean and the standard deviation (0 for a single score).

    Raises:
        ValueError: no scores.
    """
    if not values:
        raise ValueError("mean_std needs at least one score")
    mean = math.fsum(values) / len(values)
    if len(values) == 1:
        return mean, 0.0
    squares = math.fsum((value - mean) ** 2 for value in values)
    return mean, math.sqrt(squares / (len(values) - 1 if sample else len(values)))
