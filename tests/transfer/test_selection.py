"""The summary: selection on validation only, mean +- std by hand, mean per-class accuracy."""

import math

import torch

from lut.evaluation.supervised import mean_class_accuracy
from lut.transfer.selection import mean_std, select_point, summarise_grid


def point(lr: float, val: float, test: float) -> dict:
    return {"point": {"lr": lr}, "val": {"top1": val}, "test": {"top1": test}}


def test_selection_follows_validation_not_test():
    # The best test score (lr 0.3: 90) is not the best validation score (lr 0.2: 80 -> test 70).
    points = [point(0.1, 60.0, 65.0), point(0.2, 80.0, 70.0), point(0.3, 75.0, 90.0)]
    summary = summarise_grid(points, "top1")
    assert summary["selected"] == {"lr": 0.2}
    assert summary["selected_test"] == 70.0 and summary["selected_val"] == 80.0
    assert summary["grid_max"] == 90.0
    # mean (65 + 70 + 90) / 3 = 75; deviations -10, -5, 15: std sqrt((100 + 25 + 225) / 3)
    assert summary["mean"] == 75.0 and math.isclose(summary["std"], math.sqrt(350 / 3))


def test_select_point_sees_validation_scores_only():
    assert select_point([50.0, None, 70.0, 70.0]) == 2  # the first of equal scores; None = diverged
    assert select_point([None, None]) is None


def test_diverged_points_are_left_out():
    points = [point(0.1, 60.0, 64.0), {"point": {"lr": 1.0}, "error": "loss became nan"}, point(0.2, 50.0, 66.0)]
    summary = summarise_grid(points, "top1")
    assert (summary["finished"], summary["failed"], summary["mean"], summary["std"]) == (2, 1, 65.0, 1.0)
    assert summary["selected"] == {"lr": 0.1}


def test_mean_std_by_hand():
    assert mean_std([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]) == (5.0, 2.0)


def test_mean_per_class_accuracy_on_an_imbalanced_confusion_matrix():
    # Rows: true class, columns: prediction. Class 0 has 90 images (81 right), class 1 has 10 (2 right),
    # class 2 has none. Top-1 = 83 %, mean per class = (90 % + 20 %) / 2 = 55 %.
    confusion = torch.tensor([[81, 9, 0], [8, 2, 0], [0, 0, 0]], dtype=torch.float64)
    hits, counts = confusion.diagonal(), confusion.sum(dim=1)
    assert math.isclose(mean_class_accuracy(hits, counts), 55.0)
    assert math.isclose((hits.sum() / counts.sum()).item() * 100, 83.0)
