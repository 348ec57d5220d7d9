"""The paper's summary of a grid: the test accuracy of the point selected on validation, and mean +- std.

The selection sees validation scores only; test scores enter the summary after the choice is made.
"""

from typing import Any

from lut.evaluation.spread import mean_std


def select_point(val_scores: list[float | None]) -> int | None:
    """Index of the best validation score (the first of equal ones); None when no point finished.

    Args:
        val_scores: each point's validation score, None for a point that failed (diverged).
    """
    finished = [(score, -index) for index, score in enumerate(val_scores) if score is not None]
    return -max(finished)[1] if finished else None


def summarise_grid(points: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    """Selected point, its validation and test score, mean +- std and maximum of the test scores over the grid.

    Args:
        points: point results with `point`, and `val` and `test` metric dicts (absent for a failed point).
        metric: the score compared ("top1" or "class_mean").
    """
    finished = [point for point in points if "test" in point]
    chosen = select_point([point["val"][metric] if "test" in point else None for point in points])
    if chosen is None:
        return {"metric": metric, "finished": 0, "failed": len(points)}
    tests = [point["test"][metric] for point in finished]
    mean, std = mean_std(tests, sample=False)  # the spread of the grid itself: divisor n
    return {
        "metric": metric,
        "selected": points[chosen]["point"],
        "selected_val": points[chosen]["val"][metric],
        "selected_test": points[chosen]["test"][metric],
        "mean": mean,
        "std": std,
        "grid_max": max(tests),
        "finished": len(finished),
        "failed": len(points) - len(finished),
    }
