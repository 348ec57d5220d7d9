"""How each benchmark's authors score a classifier's logits.

- Top-1 over all classes (ImageNet val, V2, Sketch, SI-Score, occlusion).
- Class subsets (ImageNet-A/R, Hendrycks' `eval.py`): "mask" takes the argmax over the subset's
  logits only (`logits[:, indices]`, the default); "membership" takes the argmax over all 1000 and
  counts it right only when it is the image's class (a prediction outside the subset is wrong).
- ReaL (Beyer et al. 2020): right when the argmax is in the image's label list; images with an
  empty list are left out.
- ImageNet-O (Hendrycks' `get_measures`): OOD detection with OOD as the positive class and the
  score -max softmax; AUPR is `sklearn.metrics.average_precision_score`, plus AUROC and the
  false-positive rate at 95 % recall of the OOD images.
- ObjectNet (model soups' `project_logits`): each ObjectNet class's logit is the max over the
  logits of the ImageNet classes mapped to it.
"""

from collections.abc import Sequence

import numpy as np
import torch

from lut.extras import require

SUBSET_PROTOCOLS = ("mask", "membership")


def top1(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Top-1 accuracy (%) of (N, C) logits against (N,) class indices."""
    return (logits.argmax(dim=1) == targets).double().mean().item() * 100


def subset_top1(logits: torch.Tensor, subset_targets: torch.Tensor, indices: Sequence[int], protocol: str) -> float:
    """Top-1 accuracy (%) on a class subset.

    Args:
        logits: (N, 1000) logits.
        subset_targets: (N,) positions within `indices` (0..len(indices)-1).
        indices: the subset's classes as 1000-way indices.
        protocol: "mask" (argmax over the subset's logits) or "membership" (argmax over all classes).
    """
    index_tensor = torch.as_tensor(indices, dtype=torch.long)
    if protocol == "mask":
        return top1(logits[:, index_tensor], subset_targets)  # (N, len(indices))
    return top1(logits, index_tensor[subset_targets])


def real_top1(logits: torch.Tensor, label_lists: Sequence[Sequence[int]]) -> tuple[float, int]:
    """ReaL accuracy (%): the argmax is right when it is in the image's list; empty lists are skipped.

    Returns:
        The accuracy and the number of images scored.
    """
    predictions = logits.argmax(dim=1).tolist()
    hits = [prediction in labels for prediction, labels in zip(predictions, label_lists) if labels]
    return (100 * sum(hits) / len(hits) if hits else float("nan")), len(hits)


def max_softmax(logits: torch.Tensor) -> np.ndarray:
    """(N,) maximum softmax probability of each row (MSP)."""
    return torch.softmax(logits.double(), dim=1).max(dim=1).values.numpy()


def ood_measures(in_scores: np.ndarray, out_scores: np.ndarray, recall: float = 0.95) -> dict[str, float]:
    """AUPR, AUROC (%) and FPR at `recall` (%) of telling OOD images (positive) from in-distribution ones.

    Args:
        in_scores: (N_in,) scores of in-distribution images (higher = more OOD).
        out_scores: (N_out,) scores of OOD images.
        recall: true-positive rate at which the false-positive rate is read.
    """
    metrics = require("sklearn.metrics", "robustness", "ImageNet-O's AUPR and AUROC")
    scores = np.concatenate([out_scores, in_scores])
    labels = np.concatenate([np.ones(len(out_scores)), np.zeros(len(in_scores))])
    return {
        "aupr": 100 * metrics.average_precision_score(labels, scores),
        "auroc": 100 * metrics.roc_auc_score(labels, scores),
        f"fpr{round(recall * 100)}": 100 * fpr_at_recall(labels, scores, recall),
    }


def fpr_at_recall(labels: np.ndarray, scores: np.ndarray, recall: float) -> float:
    """False-positive rate at the threshold whose recall of the positives is closest to `recall`.

    As Hendrycks' `fpr_and_fdr_at_recall`: thresholds at the distinct scores down to the first one that
    recalls every positive; on a tie in closeness the lower threshold wins.
    """
    order = np.argsort(scores, kind="mergesort")[::-1]
    sorted_scores, sorted_labels = scores[order], labels[order] == 1
    last_of_each_score = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(scores) - 1]
    true_positives = np.cumsum(sorted_labels)[last_of_each_score]
    false_positives = 1 + last_of_each_score - true_positives
    full_recall = np.searchsorted(true_positives, true_positives[-1])
    recalls = np.r_[true_positives[full_recall::-1] / true_positives[-1], 1.0]
    false_positives = np.r_[false_positives[full_recall::-1], 0]
    cutoff = np.argmin(np.abs(recalls - recall))
    return float(false_positives[cutoff] / np.sum(~(labels == 1)))


def rms_calibration_error(confidence: np.ndarray, correct: np.ndarray, bin_size: int = 100) -> float:
    """RMS calibration error (%) as Hendrycks' `calib_err(p="2", beta=100)`.

    Images sorted by confidence fall into bins of `bin_size` (the last bin takes the remainder); the
    error is sqrt(sum over bins of share * (mean confidence - accuracy)^2). As in that code, the last
    bin is left out of the sum. NaN with fewer than `bin_size` images.
    """
    count = len(confidence)
    if count < bin_size:
        return float("nan")
    order = np.argsort(confidence)
    confidence, correct = confidence[order], correct[order].astype(float)
    starts = list(range(0, (count // bin_size) * bin_size, bin_size))
    total = 0.0
    for start in starts[:-1]:
        stop = start + bin_size
        total += bin_size / count * (confidence[start:stop].mean() - correct[start:stop].mean()) ** 2
    return 100 * float(np.sqrt(total))


def project_logits(logits: torch.Tensor, groups: Sequence[Sequence[int]]) -> torch.Tensor:
    """(N, 1000) -> (N, len(groups)): each group's logit is the max over its ImageNet classes' logits."""
    return torch.stack([logits[:, list(group)].max(dim=1).values for group in groups], dim=1)
