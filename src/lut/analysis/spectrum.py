"""Eigenvalue spectrum of the covariance of L2-normalised features (Jing et al. 2021; Fig. 4b)."""

import torch
from torch.nn import functional as F

from lut.models.encoder import ViTEncoder
from lut.models.pooling import TOKEN_POOLS, pool_tokens

POOLS = TOKEN_POOLS  # the choices of `lut analyze spectrum --pool`


class CovarianceSpectrum:
    """Streaming float64 covariance of L2-normalised feature vectors, and its eigenvalues.

    The covariance is the unbiased one, sum((f - mean)(f - mean)^T) / (M - 1) over the M vectors
    seen. For unit vectors its trace is M / (M - 1) * (1 - ||mean||^2); the biased (1 / M)
    covariance has trace exactly 1 - ||mean||^2.

    Args:
        dim: feature width D.
    """

    def __init__(self, dim: int) -> None:
        self.count = 0
        self.total = torch.zeros(dim, dtype=torch.float64)  # (D,)
        self.outer = torch.zeros(dim, dim, dtype=torch.float64)  # (D, D)

    def update(self, features: torch.Tensor) -> None:
        """Add (M, D) raw features; they are L2-normalised in float64 here."""
        unit = F.normalize(features.detach().cpu().double(), dim=-1)  # (M, D)
        self.count += unit.shape[0]
        self.total += unit.sum(dim=0)
        self.outer += unit.T @ unit

    def mean(self) -> torch.Tensor:
        """(D,) mean of the normalised features."""
        return self.total / self.count

    def covariance(self) -> torch.Tensor:
        """(D, D) unbiased covariance."""
        mean = self.mean()
        return (self.outer - self.count * torch.outer(mean, mean)) / (self.count - 1)

    def eigenvalues(self) -> torch.Tensor:
        """(D,) eigenvalues, descending, clipped at zero (round-off makes the null ones slightly negative)."""
        return covariance_eigenvalues(self.covariance())


def covariance_eigenvalues(covariance: torch.Tensor) -> torch.Tensor:
    """(D, D) symmetric matrix -> (D,) float64 eigenvalues, descending, clipped at zero."""
    return torch.linalg.eigvalsh(covariance.double()).flip(0).clamp_min(0.0)


def effective_rank(eigenvalues: torch.Tensor) -> float:
    """exp of the Shannon entropy of the eigenvalues normalised to sum one (Roy & Vetterli 2007)."""
    weights = eigenvalues.double().clamp_min(0.0)
    weights = weights[weights > 0] / weights.sum()
    return torch.exp(-(weights * weights.log()).sum()).item()



@torch.no_grad()
def layer_features(encoder: ViTEncoder, images: torch.Tensor, pool: str) -> list[torch.Tensor]:
    """Pooled output of every block (before the final norm), captured with forward hooks.

    Args:
        encoder: the encoder.
        images: (B, C, H, W).
        pool: one of `POOLS`.

    Returns:
        One feature tensor per block, shaped as `pool_tokens` returns it.
    """
    captured: list[torch.Tensor] = []
    handles = [block.register_forward_hook(lambda _m, _i, out: captured.append(pool_tokens(out, pool)))
               for block in encoder.blocks]
    try:
        encoder.forward_features(images)
    finally:
        for handle in handles:
            handle.remove()
    return captured
