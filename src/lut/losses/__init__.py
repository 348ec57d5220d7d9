"""Losses: MAE's pixel reconstruction and LUT's broader-contextualisation (BC) loss."""

from lut.losses.bc import (
    BC_DISTANCES,
    bc_distance,
    bc_loss,
    cosine_distance,
    infonce_distance,
    smooth_l1_distance,
)
from lut.losses.mae import mae_loss, patchify, unpatchify

__all__ = [
    "BC_DISTANCES",
    "bc_distance",
    "bc_loss",
    "cosine_distance",
    "infonce_distance",
    "mae_loss",
    "patchify",
    "smooth_l1_distance",
    "unpatchify",
]
