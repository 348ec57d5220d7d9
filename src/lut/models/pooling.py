"""Features from the encoder's tokens: the CLS token, the mean patch token, or every patch token."""

import torch

# The one-feature-per-image poolings that k-NN, probes and classifiers read.
POOLS = ("cls", "mean")
# With "tokens": every patch token as a feature of its own (the covariance spectrum reads them so).
TOKEN_POOLS = (*POOLS, "tokens")


def pool_tokens(tokens: torch.Tensor, pool: str) -> torch.Tensor:
    """Features from a block's or the encoder's tokens.

    Args:
        tokens: (B, 1 + N, D), CLS first.
        pool: "cls" (the CLS token), "mean" (mean of the patch tokens, CLS excluded) or "tokens" (every patch token).

    Returns:
        (B, D) for "cls" and "mean"; (B * N, D) for "tokens".

    Raises:
        ValueError: another pool.
    """
    if pool == "cls":
        return tokens[:, 0]
    if pool == "mean":
        return tokens[:, 1:].mean(dim=1)
    if pool == "tokens":
        return tokens[:, 1:].reshape(-1, tokens.shape[-1])
    raise ValueError(f"pool must be one of {', '.join(TOKEN_POOLS)}, got {pool!r}")
