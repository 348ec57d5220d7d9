"""Scoring rules on hand-made logits: class masks, ReaL lists, OOD measures, ObjectNet projection."""

import numpy as np
import pytest
import torch

from lut.robustness.scoring import (
    fpr_at_recall,
    ood_measures,
    project_logits,
    real_top1,
    rms_calibration_error,
    subset_top1,
    top1,
)


def test_mask_takes_the_argmax_among_the_subset_and_membership_among_all():
    logits = torch.zeros(2, 1000)
    logits[0, 500] = 9.0  # outside the subset: wrong for membership, ignored by the mask
    logits[0, 11] = 5.0   # subset class 1
    logits[1, 13] = 3.0   # subset class 2
    logits[1, 6] = 4.0    # subset class 0
    indices = (6, 11, 13)
    targets = torch.tensor([1, 2])
    assert subset_top1(logits, targets, indices, "mask") == pytest.approx(50.0)  # image 0 right, image 1 wrong
    assert subset_top1(logits, targets, indices, "membership") == pytest.approx(0.0)
    logits[0, 500] = 0.0
    assert subset_top1(logits, targets, indices, "membership") == pytest.approx(50.0)


def test_real_skips_empty_lists_and_accepts_any_listed_label():
    logits = torch.zeros(4, 5)
    for row, predicted in enumerate((3, 1, 0, 4)):
        logits[row, predicted] = 1.0
    accuracy, scored = real_top1(logits, [(3,), (0, 1), (), (2,)])
    assert scored == 3
    assert accuracy == pytest.approx(200 / 3)


def test_first_label_predictor_scores_100_on_the_non_empty_entries():
    lists = [(1, 2), (), (0,), (4, 3)]
    logits = torch.zeros(4, 5)
    for row, labels in enumerate(lists):
        if labels:
            logits[row, labels[0]] = 1.0
    assert real_top1(logits, lists) == (100.0, 3)


def test_aupr_is_100_for_perfect_separation_and_the_positive_fraction_for_constant_scores():
    in_scores, out_scores = -np.linspace(0.5, 1.0, 10), -np.linspace(0.1, 0.3, 2)
    perfect = ood_measures(in_scores, out_scores)
    assert perfect["aupr"] == pytest.approx(100.0) and perfect["auroc"] == pytest.approx(100.0)
    assert perfect["fpr95"] == pytest.approx(0.0)
    constant = ood_measures(np.full(10, -0.7), np.full(2, -0.7))
    assert constant["aupr"] == pytest.approx(100 * 2 / 12)
    assert constant["auroc"] == pytest.approx(50.0)
    assert constant["fpr95"] == pytest.approx(100.0)


def test_fpr_at_recall_reads_the_threshold_closest_to_the_recall():
    # positives score 0.9, 0.8, 0.4, 0.3; negatives 0.7, 0.6, 0.2, 0.1
    scores = np.array([0.9, 0.8, 0.4, 0.3, 0.7, 0.6, 0.2, 0.1])
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    # recall 0.25 at threshold 0.9 (no negative at or above); recall 0.5 at 0.8, 0.7 and 0.6, of which the lowest
    # (two negatives at or above) counts, as in Hendrycks' code; recall 0.75 at 0.4 (two negatives)
    assert fpr_at_recall(labels, scores, 0.25) == pytest.approx(0.0)
    assert fpr_at_recall(labels, scores, 0.5) == pytest.approx(0.5)
    assert fpr_at_recall(labels, scores, 0.75) == pytest.approx(0.5)
    assert fpr_at_recall(labels, scores, 0.95) == pytest.approx(0.5)  # recall 1.0 at 0.3: two negatives above


def test_objectnet_projection_takes_the_max_over_each_groups_logits():
    logits = torch.tensor([[0.0, 5.0, 1.0, 7.0, 2.0], [3.0, 0.0, 4.0, 1.0, 0.5]])
    projected = project_logits(logits, [[0, 1], [2], [3, 4]])
    assert torch.equal(projected, torch.tensor([[5.0, 1.0, 7.0], [3.0, 4.0, 1.0]]))
    assert top1(projected, torch.tensor([2, 1])) == pytest.approx(100.0)


def test_rms_calibration_error_over_bins_of_100_without_the_last():
    # 300 images: bins [0, 100), [100, 200), [200, 300); the last is left out as in Hendrycks' calib_err
    confidence = np.concatenate([np.full(100, 0.2), np.full(100, 0.6), np.full(100, 0.9)])
    correct = np.concatenate([np.zeros(100), np.ones(100), np.zeros(100)])
    expected = np.sqrt(100 / 300 * 0.2**2 + 100 / 300 * 0.4**2)
    assert rms_calibration_error(confidence, correct) == pytest.approx(100 * expected)
    assert np.isnan(rms_calibration_error(confidence[:99], correct[:99]))
