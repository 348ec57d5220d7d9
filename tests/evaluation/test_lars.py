import pytest
import torch
from torch import nn

from lut.evaluation.lars import create_lars, lars_param_groups


def linear_with_grads() -> nn.Linear:
    layer = nn.Linear(2, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 4.0]]))  # ||W|| = 5
        layer.bias.copy_(torch.tensor([1.0, -1.0]))
    layer.weight.grad = torch.tensor([[0.6, 0.0], [0.0, 0.8]])  # ||g|| = 1
    layer.bias.grad = torch.tensor([0.5, 0.5])
    return layer


def test_first_step_by_hand():
    layer = linear_with_grads()
    optimizer = create_lars(layer, lr=2.0)
    optimizer.step()
    # Weight: trust ratio 0.001 * 5 / 1 = 0.005, so W <- W - 2 * 0.005 * g.
    torch.testing.assert_close(layer.weight.detach(), torch.tensor([[2.994, 0.0], [0.0, 3.992]]))
    # Bias (1-D): plain SGD, no trust scaling: b <- b - 2 * g.
    torch.testing.assert_close(layer.bias.detach(), torch.tensor([0.0, -2.0]))


def test_second_step_uses_momentum_of_scaled_updates():
    layer = linear_with_grads()
    optimizer = create_lars(layer, lr=2.0, momentum=0.9)
    optimizer.step()
    weight_grad, bias_grad = layer.weight.grad.clone(), layer.bias.grad.clone()
    weight, bias = layer.weight.detach().clone(), layer.bias.detach().clone()
    optimizer.step()  # same gradients again
    trust = 0.001 * weight.norm() / weight_grad.norm()
    weight_momentum = 0.9 * (0.005 * weight_grad) + trust * weight_grad
    torch.testing.assert_close(layer.weight.detach(), weight - 2.0 * weight_momentum)
    torch.testing.assert_close(layer.bias.detach(), bias - 2.0 * (0.9 * bias_grad + bias_grad))


def test_groups_split_matrices_from_vectors_and_skip_frozen():
    model = nn.Sequential(nn.BatchNorm1d(4), nn.Linear(4, 3))
    model[0].requires_grad_(False)
    groups = lars_param_groups(model, weight_decay=0.1)
    summary = [(len(g["params"]), g["weight_decay"], g["always_adapt"]) for g in groups]
    assert summary == [(1, 0.1, True), (1, 0.0, False)]
    assert groups[0]["params"][0] is model[1].weight


@pytest.mark.parametrize("foreach", [False, True])
def test_zero_gradient_leaves_weights(foreach):
    layer = linear_with_grads()
    layer.weight.grad.zero_()
    optimizer = create_lars(layer, lr=2.0)
    for group in optimizer.param_groups:
        group["foreach"] = foreach
    optimizer.step()
    assert torch.isfinite(layer.weight).all()
    torch.testing.assert_close(layer.weight.detach(), torch.tensor([[3.0, 0.0], [0.0, 4.0]]))
