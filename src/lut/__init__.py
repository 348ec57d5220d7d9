"""LUT: Learning with Unmasked Tokens — pre-train, evaluate and analyse Vision Transformers."""

from lut.models import create_model
from lut.version import __version__

__all__ = ["create_model", "__version__"]
