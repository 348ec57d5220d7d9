"""Losses: MAE's and SimMIM's pixel reconstruction and LUT's broader-contextualisation (BC) loss."""

from lut.losses.bc import (
    BC_DISTANCES,
    bc_distance,
    bc_loss,
    cosine_distance,
    infonce_distance,
    smooth_l1_distance,
)
from lut.losses.mae import mae_loss
from lut.losses.simmim import simmim_loss

__all__ = [
    "BC_DISTANCES",
    "bc_distance",
    "bc_loss",
    "cosine_distance",
    "infonce_distance",
    "mae_loss",
    "simmim_loss",
    "smooth_l1_distance",
]
