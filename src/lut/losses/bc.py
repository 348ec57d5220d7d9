"""LUT's broader-contextualisation (BC) loss: cross-view cosine distance to the teacher."""

import torch
import torch.nn.functional as F


def cosine_distance(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Batch mean of `2 - 2 cos(prediction, target)` = squared distance of the unit vectors.

    Args:
        prediction: (B, D) student predictions.
        target: (B, D) teacher projections (treated as constants).
    """
    prediction = F.normalize(prediction.float(), dim=-1)
    target = F.normalize(target.float(), dim=-1)
    return (2 - 2 * (prediction * target).sum(dim=-1)).mean()


def bc_loss(
    prediction1: torch.Tensor, prediction2: torch.Tensor, target1: torch.Tensor, target2: torch.Tensor
) -> torch.Tensor:
    """Symmetric cross-view BC loss: each view's prediction matches the *other* view's target.

    Args:
        prediction1: (B, D) student prediction from view 1's visible tokens.
        prediction2: (B, D) student prediction from view 2's visible tokens.
        target1: (B, D) teacher projection of the whole view 1.
        target2: (B, D) teacher projection of the whole view 2.
    """
    return (cosine_distance(prediction2, target1) + cosine_distance(prediction1, target2)) / 2
