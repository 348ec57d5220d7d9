"""LARS as MAE's linear probe uses it, on top of timm's `Lars`.

MAE's LARS (momentum 0.9, trust coefficient 0.001) scales the update of every parameter with
ndim > 1 by `trust * ||w|| / ||g + wd * w||` and leaves biases and norm parameters as plain SGD
with momentum. timm's `Lars` adapts a group only when its weight decay is non-zero or
`always_adapt` is set, with ratio `trust * ||w|| / (||g|| + wd * ||w|| + eps)`. Two groups (matrices
with `always_adapt`, vectors without) and eps 0 make them identical for the protocol's weight decay
of 0; with a non-zero decay the denominators differ (norm of the sum vs sum of the norms).
"""

from timm.optim import Lars
from torch import nn


def lars_param_groups(module: nn.Module, weight_decay: float = 0.0) -> list[dict]:
    """Trainable parameters split into trust-scaled matrices and unscaled vectors.

    Args:
        module: the trained module.
        weight_decay: decay of the matrices (vectors get none).
    """
    trainable = [parameter for parameter in module.parameters() if parameter.requires_grad]
    groups = [
        {"params": [p for p in trainable if p.ndim > 1], "weight_decay": weight_decay, "always_adapt": True},
        {"params": [p for p in trainable if p.ndim <= 1], "weight_decay": 0.0, "always_adapt": False},
    ]
    return [group for group in groups if group["params"]]


def create_lars(
    module: nn.Module,
    lr: float = 0.0,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    trust_coefficient: float = 0.001,
) -> Lars:
    """timm's `Lars` configured to step like MAE's LARS.

    Args:
        module: the trained module.
        lr: learning rate (the training loop sets it every step).
        weight_decay: decay of parameters with ndim > 1.
        momentum: SGD momentum.
        trust_coefficient: LARS trust coefficient.
    """
    return Lars(lars_param_groups(module, weight_decay), lr=lr, momentum=momentum, trust_coeff=trust_coefficient,
                eps=0.0)
