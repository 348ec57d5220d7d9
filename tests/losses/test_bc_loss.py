"""The BC loss: 2 - 2 cos, cross-view and symmetric."""

import pytest
import torch

from lut.losses import bc_loss, cosine_distance

E1 = torch.tensor([[1.0, 0.0]])
E2 = torch.tensor([[0.0, 1.0]])


def test_cosine_distance_of_identical_vectors_is_zero():
    vector = torch.tensor([[0.3, -1.2, 2.0]])
    assert cosine_distance(vector, vector).item() == pytest.approx(0.0, abs=1e-6)


def test_cosine_distance_of_opposite_vectors_is_four():
    assert cosine_distance(E1, -E1).item() == pytest.approx(4.0)


def test_cosine_distance_of_orthogonal_vectors_is_two():
    assert cosine_distance(E1, E2).item() == pytest.approx(2.0)


def test_cosine_distance_ignores_vector_length():
    assert cosine_distance(5.0 * E1, 0.01 * (E1 + E2)).item() == pytest.approx(2 - 2 / 2**0.5)


def test_cosine_distance_averages_over_the_batch():
    prediction = torch.cat([E1, E1, E1])
    target = torch.cat([E1, E2, -E1])
    assert cosine_distance(prediction, target).item() == pytest.approx((0.0 + 2.0 + 4.0) / 3)


def test_bc_loss_pairs_each_prediction_with_the_other_views_target():
    # q1 points at z2 and q2 at z1: the cross-view loss is 0, a same-view pairing would give 2.
    assert bc_loss(prediction1=E1, prediction2=E2, target1=E2, target2=E1).item() == pytest.approx(0.0, abs=1e-6)
    assert bc_loss(prediction1=E1, prediction2=E2, target1=E1, target2=E2).item() == pytest.approx(2.0)


def test_bc_loss_is_the_mean_of_both_directions():
    # d(q2, z1) = d(E1, E1) = 0 and d(q1, z2) = d(E1, -E1) = 4 -> 2.
    assert bc_loss(prediction1=E1, prediction2=E1, target1=E1, target2=-E1).item() == pytest.approx(2.0)
    # d(q2, z1) = d(E2, -E1) = 2 and d(q1, z2) = d(E1, -E1) = 4 -> 3.
    assert bc_loss(prediction1=E1, prediction2=E2, target1=-E1, target2=-E1).item() == pytest.approx(3.0)


def test_bc_loss_gradient_is_orthogonal_to_the_prediction():
    # The loss depends on the prediction's direction only, so its gradient has no radial part.
    prediction = torch.tensor([[2.0, 1.0]], requires_grad=True)
    bc_loss(prediction, prediction, E1, E1).backward()
    assert prediction.grad.abs().max().item() > 0.1
    assert (prediction.grad * prediction.detach()).sum().item() == pytest.approx(0.0, abs=1e-6)
