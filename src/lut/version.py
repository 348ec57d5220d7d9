"""The installed package's version (`lut --version`, and the `lut_version` every checkpoint records)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lut")  # the installed package's metadata, from pyproject.toml
except PackageNotFoundError:  # a source tree on the path that was never installed
    __version__ = "0+unknown"
