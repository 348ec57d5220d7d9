"""LUT: Learning with Unmasked Tokens — pre-train, evaluate and analyse Vision Transformers."""

from importlib.metadata import PackageNotFoundError, version

from lut.models import create_model

try:
    __version__ = version("lut")  # the installed package's metadata, from pyproject.toml
except PackageNotFoundError:  # a source tree on the path that was never installed
    __version__ = "0+unknown"
__all__ = ["create_model", "__version__"]
