"""Losses: MAE's pixel reconstruction and LUT's broader-contextualisation (BC) loss."""

from lut.losses.bc import bc_loss, cosine_distance
from lut.losses.mae import mae_loss, patchify, unpatchify

__all__ = ["bc_loss", "cosine_distance", "mae_loss", "patchify", "unpatchify"]
