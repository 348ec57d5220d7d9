"""LUT's broader-contextualisation (BC) loss: cross-view distance to the teacher.

The distance is the cosine distance of the released code (`cosine_distance`); Table 4d of the
paper also tries InfoNCE (`infonce_distance`) and a smoothed L1 (`smooth_l1_distance`).
`bc_distance` picks one by name.
"""

from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F

Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
BC_DISTANCES = ("cosine", "infonce", "smooth_l1")


def cosine_distance(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Batch mean of `2 - 2 cos(prediction, target)` = squared distance of the unit vectors.

    Args:
        prediction: (B, D) student predictions.
        target: (B, D) teacher projections (treated as constants).
    """
    prediction = F.normalize(prediction.float(), dim=-1)
    target = F.normalize(target.float(), dim=-1)
    return (2 - 2 * (prediction * target).sum(dim=-1)).mean()


def infonce_distance(prediction: torch.Tensor, target: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """InfoNCE: each prediction must pick its own target among the batch's targets.

    `mean_i -log softmax_j(cos(p_i, t_j) / temperature)[i]` with the other rows of the
    (local, per-process) batch as negatives; no gradient-scaling factor.

    Args:
        prediction: (B, D) student predictions.
        target: (B, D) teacher projections (treated as constants).
        temperature: softmax temperature tau.
    """
    prediction = F.normalize(prediction.float(), dim=-1)
    target = F.normalize(target.float(), dim=-1)
    logits = prediction @ target.t() / temperature  # (B, B)
    labels = torch.arange(logits.shape[0], device=logits.device)
    return F.cross_entropy(logits, labels)


def smooth_l1_distance(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Smoothed L1 (Huber, beta 1) between the raw, un-normalised vectors, averaged over all elements.

    Args:
        prediction: (B, D) student predictions.
        target: (B, D) teacher projections (treated as constants).
    """
    return F.smooth_l1_loss(prediction.float(), target.float(), beta=1.0)


def bc_distance(name: str = "cosine", temperature: float = 0.2) -> Distance:
    """The distance `d(prediction, target)` named `name` (one of BC_DISTANCES)."""
    if name == "cosine":
        return cosine_distance
    if name == "infonce":
        return partial(infonce_distance, temperature=temperature)
    if name == "smooth_l1":
        return smooth_l1_distance
    raise ValueError(f"unknown BC loss {name!r}; expected one of {', '.join(BC_DISTANCES)}")


def bc_loss(
    prediction1: torch.Tensor,
    prediction2: torch.Tensor,
    target1: torch.Tensor,
    target2: torch.Tensor,
    distance: Distance = cosine_distance,
) -> torch.Tensor:
    """Symmetric cross-view BC loss: each view's prediction matches the *other* view's target.

    Args:
        prediction1: (B, D) student prediction from view 1's visible tokens.
        prediction2: (B, D) student prediction from view 2's visible tokens.
        target1: (B, D) teacher projection of the whole view 1.
        target2: (B, D) teacher projection of the whole view 2.
        distance: d(prediction, target); the cosine distance by default.
    """
    return (distance(prediction2, target1) + distance(prediction1, target2)) / 2
