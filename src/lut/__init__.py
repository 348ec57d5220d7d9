"""LUT: Learning with Unmasked Tokens — pre-train, evaluate and analyse Vision Transformers."""

from lut.models import create_model

__version__ = "0.1.0"
__all__ = ["create_model", "__version__"]
