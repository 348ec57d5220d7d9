"""Table 4d's BC distances on hand-computed numbers."""

import math

import pytest
import torch

from lut.losses import bc_distance, bc_loss, cosine_distance, infonce_distance, smooth_l1_distance

E1 = torch.tensor([[1.0, 0.0]])
E2 = torch.tensor([[0.0, 1.0]])


def test_infonce_picks_the_matching_target_among_the_batch():
    # Rows are orthogonal unit vectors: logits 1/tau on the diagonal, 0 elsewhere.
    prediction = torch.cat([E1, E2])
    target = torch.cat([3 * E1, 0.5 * E2])  # lengths do not matter: cosine logits
    expected = math.log(1 + math.exp(-1 / 0.5))  # -log(e^2 / (e^2 + e^0))
    assert infonce_distance(prediction, target, temperature=0.5).item() == pytest.approx(expected, rel=1e-6)
    # Swapped targets: each row now prefers the other one.
    swapped = infonce_distance(prediction, target.flip(0), temperature=0.5).item()
    assert swapped == pytest.approx(math.log(1 + math.exp(2.0)), rel=1e-6)


def test_smooth_l1_is_huber_with_beta_one_on_raw_vectors():
    prediction = torch.tensor([[0.0, 0.0]])
    target = torch.tensor([[0.5, 3.0]])
    # 0.5 * 0.5^2 = 0.125 (quadratic zone) and 3 - 0.5 = 2.5 (linear zone), mean over elements.
    assert smooth_l1_distance(prediction, target).item() == pytest.approx((0.125 + 2.5) / 2)


def test_bc_distance_by_name():
    assert bc_distance("cosine") is cosine_distance
    assert bc_distance("smooth_l1") is smooth_l1_distance
    prediction, target = torch.randn(5, 3), torch.randn(5, 3)
    assert bc_distance("infonce", 0.3)(prediction, target).item() == pytest.approx(
        infonce_distance(prediction, target, 0.3).item()
    )
    with pytest.raises(ValueError, match="unknown BC loss"):
        bc_distance("l2")


def test_bc_loss_pairs_views_crosswise_with_any_distance():
    p1, p2, t1, t2 = (torch.randn(3, 4) for _ in range(4))
    expected = (smooth_l1_distance(p2, t1) + smooth_l1_distance(p1, t2)) / 2
    assert bc_loss(p1, p2, t1, t2, smooth_l1_distance).item() == pytest.approx(expected.item())
    assert bc_loss(p1, p2, t1, t2).item() == pytest.approx(bc_loss(p1, p2, t1, t2, cosine_distance).item())
