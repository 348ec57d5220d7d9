"""mmseg's IoU metric: per-class intersections and unions summed over the whole data set.

IoU_c = |pred = c and label = c| / |pred = c or label = c| over all labelled pixels; a class absent
from both the labels and the predictions has 0 / 0 = NaN and is left out of the mean (mIoU). A class
absent from the labels but predicted somewhere has IoU 0. Accuracy_c = hits / labelled pixels of c
(NaN when c never occurs); pixel accuracy = all hits / all labelled pixels.
"""

import math

import torch

from lut.segmentation.data import IGNORE_INDEX


def confusion_matrix(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(num_classes, num_classes) int64 counts, rows = label, columns = prediction; ignored pixels skipped.

    Args:
        predictions: (...) predicted class ids.
        labels: (...) training ids, `IGNORE_INDEX` where there is no label.
        num_classes: C.
    """
    kept = labels != IGNORE_INDEX
    pairs = labels[kept].long() * num_classes + predictions[kept].long()  # (P,)
    return torch.bincount(pairs, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def segmentation_metrics(confusion: torch.Tensor, classes: list[str]) -> dict:
    """mIoU, mean accuracy and pixel accuracy (percent) and per-class IoU and accuracy from a confusion matrix.

    Returns:
        {"mIoU", "mAcc", "aAcc", "per_class": {name: {"IoU", "Acc"}}}; NaN per-class values are None, and
        "classes_evaluated" counts the classes in the mean.
    """
    confusion = confusion.double()
    hits = confusion.diagonal()  # (C,)
    labelled = confusion.sum(dim=1)  # (C,) pixels of each class in the labels
    predicted = confusion.sum(dim=0)  # (C,)
    iou = hits / (labelled + predicted - hits)  # NaN for 0/0
    accuracy = hits / labelled
    total = confusion.sum()
    return {
        "mIoU": nan_mean(iou) * 100,
        "mAcc": nan_mean(accuracy) * 100,
        "aAcc": (hits.sum() / total).item() * 100 if total > 0 else math.nan,
        "classes_evaluated": int((~iou.isnan()).sum()),
        "per_class": {name: {"IoU": finite_or_none(iou[index] * 100), "Acc": finite_or_none(accuracy[index] * 100)}
                      for index, name in enumerate(classes)},
    }


def nan_mean(values: torch.Tensor) -> float:
    """Mean over the non-NaN entries (NaN when there are none)."""
    kept = values[~values.isnan()]
    return kept.mean().item() if len(kept) else math.nan


def finite_or_none(value: torch.Tensor) -> float | None:
    """A number for JSON: NaN becomes None."""
    number = value.item()
    return None if math.isnan(number) else number
