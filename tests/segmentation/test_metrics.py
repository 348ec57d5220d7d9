import math

import pytest
import torch

from lut.segmentation.data import IGNORE_INDEX
from lut.segmentation.metrics import confusion_matrix, segmentation_metrics


def test_hand_made_confusion_matrix_with_a_class_absent_everywhere():
    # rows: label, columns: prediction. Class 2 never occurs; class 3 is predicted but never labelled.
    confusion = torch.tensor([
        [6, 2, 0, 0],
        [1, 3, 0, 2],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
    ])
    metrics = segmentation_metrics(confusion, ["a", "b", "c", "d"])
    iou_a = 6 / (8 + 7 - 6)  # 6 / 9
    iou_b = 3 / (6 + 5 - 3)  # 3 / 8
    assert metrics["per_class"]["a"]["IoU"] == pytest.approx(iou_a * 100)
    assert metrics["per_class"]["b"]["IoU"] == pytest.approx(iou_b * 100)
    assert metrics["per_class"]["c"]["IoU"] is None  # 0 / 0: left out of the mean
    assert metrics["per_class"]["d"]["IoU"] == 0.0  # predicted, never labelled: counts as 0
    assert metrics["classes_evaluated"] == 3
    assert metrics["mIoU"] == pytest.approx((iou_a + iou_b + 0.0) / 3 * 100)
    assert metrics["mAcc"] == pytest.approx((6 / 8 + 3 / 6) / 2 * 100)  # c and d have no labelled pixels
    assert metrics["aAcc"] == pytest.approx(9 / 14 * 100)


def test_confusion_matrix_counts_pairs_and_skips_ignored_pixels():
    labels = torch.tensor([[0, 1, IGNORE_INDEX], [2, 2, 1]])
    predictions = torch.tensor([[0, 2, 1], [2, 0, 1]])
    expected = torch.tensor([[1, 0, 0], [0, 1, 1], [1, 0, 1]])
    assert torch.equal(confusion_matrix(predictions, labels, 3), expected)


def test_dataset_level_iou_is_not_the_mean_of_image_ious():
    # Image 1: class 1 has 1 of 1 pixels right; image 2: 0 of 3 (predicted as 0). Dataset IoU of class 1 = 1 / 4.
    first = confusion_matrix(torch.tensor([1, 0]), torch.tensor([1, 0]), 2)
    second = confusion_matrix(torch.tensor([0, 0, 0, 0]), torch.tensor([1, 1, 1, 0]), 2)
    metrics = segmentation_metrics(first + second, ["x", "y"])
    assert metrics["per_class"]["y"]["IoU"] == pytest.approx(25.0)
    assert metrics["per_class"]["x"]["IoU"] == pytest.approx(2 / 5 * 100)


def test_empty_matrix_gives_nan_means():
    metrics = segmentation_metrics(torch.zeros(2, 2, dtype=torch.int64), ["x", "y"])
    assert math.isnan(metrics["mIoU"]) and math.isnan(metrics["aAcc"]) and metrics["classes_evaluated"] == 0
