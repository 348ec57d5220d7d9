"""The summary: selection on validation only, mean +- std by hand, mean per-class accuracy."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from lut.config import build_config
from lut.evaluation.config import FinetuneConfig
from lut.evaluation.supervised import SupervisedRun, mean_class_accuracy
from lut.runtime.distributed import DistributedContext
from lut.transfer.selection import select_point, summarise_grid


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


# Rows: true class, columns: prediction. Class 0 has 90 images (81 right), class 1 has 10 (2 right), class 2 none.
# Top-1 = 83 %, mean per class = (90 % + 20 %) / 2 = 55 % (a class without images is left out).
CONFUSION = [[81, 9, 0], [8, 2, 0], [0, 0, 0]]


def test_mean_per_class_accuracy_on_an_imbalanced_confusion_matrix():
    confusion = torch.tensor(CONFUSION, dtype=torch.float64)
    assert math.isclose(mean_class_accuracy(confusion.diagonal(), confusion.sum(dim=1)), 55.0)


class Lookup(nn.Module):
    """Predicts the class written in its input's single value."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, predictions: torch.Tensor) -> torch.Tensor:
        return F.one_hot(predictions[:, 0].long(), 3).float() + 0 * self.unused  # (B, 3)


def test_evaluation_reports_mean_per_class_accuracy(tmp_path):
    pairs = [(predicted, true) for true, row in enumerate(CONFUSION) for predicted, count in enumerate(row)
             for _ in range(count)]
    data = TensorDataset(torch.tensor([[float(p)] for p, _ in pairs]), torch.tensor([t for _, t in pairs]))
    config = build_config({"batch_size": 16, "num_workers": 0, "device": "cpu", "precision": "fp32",
                           "output_dir": str(tmp_path)}, FinetuneConfig)
    model = Lookup()
    run = SupervisedRun(model, torch.optim.SGD(model.parameters()), data, data, nn.CrossEntropyLoss(), config,
                        DistributedContext(), peak_lr=0.0, encoder_digest="none", class_mean=True)
    metrics = run.evaluate()
    assert metrics["top1"] == pytest.approx(83.0) and metrics["class_mean"] == pytest.approx(55.0)
    assert "top5" not in metrics  # three classes: every label is among the top five
