"""The linear probe's head, and a frozen encoder with one head as a classifier of images."""

import torch
from timm.layers import trunc_normal_
from torch import nn

from lut.models.encoder import ViTEncoder
from lut.models.pooling import pool_tokens


def probe_head(dim: int, num_classes: int) -> nn.Sequential:
    """`BatchNorm1d(affine=False, eps=1e-6) -> Linear`, the Linear trunc-normal (std 0.01) with zero bias."""
    linear = nn.Linear(dim, num_classes)
    trunc_normal_(linear.weight, std=0.01)
    nn.init.zeros_(linear.bias)
    return nn.Sequential(nn.BatchNorm1d(dim, affine=False, eps=1e-6), linear)


class ProbeClassifier(nn.Module):
    """An encoder and one linear-probe head, differentiable end to end (Grad-CAM reads its gradients).

    Args:
        encoder: the pre-trained encoder.
        head: the probe head (`BatchNorm1d -> Linear`).
        pool: "cls" or "mean", the features the head was trained on.
    """

    def __init__(self, encoder: ViTEncoder, head: nn.Module, pool: str) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.pool = pool

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, num_classes) logits."""
        return self.head(pool_tokens(self.encoder.forward_features(images), self.pool))
