"""Robust image loading: any file PIL can decode becomes an RGB image, anything else a clear error."""

import logging
import os
import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from lut.errors import LutError

logger = logging.getLogger("lut.data")

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")

# Modes holding more than 8 bits per pixel; PIL's own conversion to RGB clips them at 255.
_HIGH_BIT_DEPTH_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
_BACKGROUND = (255, 255, 255, 255)


class UnreadableImageError(LutError):
    """A file that cannot be decoded as an image (corrupt, truncated or not an image at all).

    Args:
        path: the file.
        reason: why PIL could not read it.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(f"cannot read image {path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def is_image_file(path: str | os.PathLike[str]) -> bool:
    """Whether the file name has one of :data:`IMAGE_EXTENSIONS`, ignoring case.

    Args:
        path: file name or path.

    Returns:
        True for image file names.
    """
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def _high_bit_depth_to_l(img: Image.Image) -> Image.Image:
    """Scales a 16-bit grayscale image to 8 bits instead of clipping it.

    Args:
        img: image in one of the 16/32-bit integer modes, values taken as 16-bit.

    Returns:
        Mode "L" image of the same size.
    """
    values = np.asarray(img).astype(np.float64)  # (H, W)
    scaled = np.rint(np.clip(values, 0, 65535) / 257.0).astype(np.uint8)  # 65535 / 257 == 255
    return Image.fromarray(scaled)


def _float_to_l(img: Image.Image) -> Image.Image:
    """Maps a 32-bit float grayscale image to 8 bits: values in [0, 1] scaled by 255, larger ranges taken as 0-255.

    Args:
        img: mode "F" image.

    Returns:
        Mode "L" image of the same size.
    """
    values = np.nan_to_num(np.asarray(img, dtype=np.float64), nan=0.0)  # (H, W)
    if values.size and values.max() <= 1.0:
        values = values * 255.0
    return Image.fromarray(np.rint(np.clip(values, 0, 255)).astype(np.uint8))


def to_rgb(img: Image.Image) -> Image.Image:
    """Converts an image of any PIL mode to RGB.

    Transparent pixels are composited on white, so a fully transparent pixel is
    white whatever colour value it stores. 16-bit grayscale is scaled to 8 bits, and float
    grayscale in [0, 1] too (PIL itself would clip both).

    Args:
        img: loaded image of any mode.

    Returns:
        An RGB image of the same size.
    """
    if img.mode in _HIGH_BIT_DEPTH_MODES:
        img = _high_bit_depth_to_l(img)
    elif img.mode == "F":
        img = _float_to_l(img)
    if img.mode in _ALPHA_MODES or "transparency" in img.info:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _BACKGROUND)
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode == "RGB":
        return img
    return img.convert("RGB")


def load_rgb(path: str | os.PathLike[str]) -> Image.Image:
    """Opens, fully decodes and converts an image file to RGB.

    Args:
        path: image file.

    Returns:
        The decoded RGB image.

    Raises:
        UnreadableImageError: the file is missing, not a regular file (a pipe would block the
            read), corrupt, truncated or not an image.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise UnreadableImageError(path, "not a regular file")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.load()
                rgb = to_rgb(img)
        for warning in caught:
            logger.warning("%s: %s", path, warning.message)
        return rgb
    except UnreadableImageError:
        raise
    # PIL reports corrupt data through many exception types (OSError, SyntaxError,
    # ValueError, struct.error, DecompressionBombError, ...), depending on the decoder.
    except Exception as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        raise UnreadableImageError(path, reason) from exc
