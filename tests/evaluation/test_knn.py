import math

import pytest
import torch

from lut.data.views import eval_crop_pct
from lut.evaluation.knn import knn_accuracy, knn_class_scores, knn_sweep


def test_identical_train_and_test_features_give_100_percent_1nn():
    torch.manual_seed(0)
    features, labels = torch.randn(50, 16), torch.randint(0, 7, (50,))
    assert knn_accuracy(features, labels, features, labels, k=1) == 100.0


def test_hand_made_vote_weights():
    # Query along x; neighbours at 0, 60 and 90 degrees with labels 0, 1, 1.
    train = torch.tensor([[1.0, 0.0], [0.5, math.sqrt(3) / 2], [0.0, 2.0], [-1.0, 0.0]])
    labels = torch.tensor([0, 1, 1, 0])
    scores = knn_class_scores(train, labels, torch.tensor([[3.0, 0.0]]), num_classes=2, k=3, temperature=0.5)
    expected = torch.tensor([[math.exp(1 / 0.5), math.exp(0.5 / 0.5) + math.exp(0 / 0.5)]])
    torch.testing.assert_close(scores, expected)
    assert scores.argmax().item() == 0  # e^2 = 7.39 beats e^1 + e^0 = 3.72


def test_tiny_temperature_reduces_to_1nn_and_large_to_majority():
    # The nearest neighbour says 0; the other two, slightly less similar, say 1.
    train = torch.tensor([[1.0, 0.0], [0.95, 0.31], [0.95, -0.31]])
    labels = torch.tensor([0, 1, 1])
    query = torch.tensor([[1.0, 0.0]])
    assert knn_class_scores(train, labels, query, 2, k=3, temperature=0.001).argmax().item() == 0
    assert knn_class_scores(train, labels, query, 2, k=3, temperature=100.0).argmax().item() == 1
    assert knn_class_scores(train, labels, query, 2, k=1, temperature=0.07).argmax().item() == 0


def test_top5_counts_a_hit_among_the_five_best_classes():
    # One neighbour per class 0..6, similarity decreasing with the class index.
    angles = torch.arange(7) * 0.1
    train = torch.stack([angles.cos(), angles.sin()], dim=1)
    labels = torch.arange(7)
    queries = torch.tensor([[1.0, 0.0]] * 7)
    results = {r["k"]: r for r in knn_sweep(train, labels, queries, torch.arange(7), ks=(7, 3), temperature=0.07)}
    assert results[7]["top1"] == pytest.approx(100 / 7)  # only the class-0 query is right
    assert results[7]["top5"] == pytest.approx(500 / 7)  # classes 0..4 are in the top five
    assert results[3]["top5"] == pytest.approx(300 / 7)  # DINO: with k=3 only three classes receive votes


def test_sweep_matches_single_k_and_does_not_depend_on_chunking():
    torch.manual_seed(1)
    train, train_labels = torch.randn(300, 8), torch.randint(0, 5, (300,))
    test, test_labels = torch.randn(70, 8), torch.randint(0, 5, (70,))
    sweep = knn_sweep(train, train_labels, test, test_labels, ks=(1, 10, 20), temperature=0.07, chunk_size=16)
    for record in sweep:
        assert record["top1"] == pytest.approx(knn_accuracy(train, train_labels, test, test_labels, k=record["k"]))
    assert sweep == knn_sweep(train, train_labels, test, test_labels, ks=(1, 10, 20), chunk_size=1000)
    assert [r["k"] for r in knn_sweep(train, train_labels, test, test_labels, ks=(200, 500, 1000))] == [200, 300]


@pytest.mark.parametrize(("img_size", "crop_pct"), [(224, 0.875), (384, 0.875), (223, 1.0), (32, 1.0)])
def test_evaluation_view_crops_like_dino_at_imagenet_sizes(img_size, crop_pct):
    assert eval_crop_pct(img_size) == crop_pct
