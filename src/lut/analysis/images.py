"""The fixed image sets the analyses run on."""

from types import ModuleType

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from lut.data.held_out import split_dataset
from lut.data.sources import ImageFolderSource
from lut.data.views import EvalTransform
from lut.errors import UsageError
from lut.extras import require
from lut.paths import DATA_ROOT

SKIMAGE = "skimage"
SKIMAGE_PHOTOS = ("astronaut", "camera", "chelsea", "coffee", "coins", "rocket", "moon", "immunohistochemistry")
"""scikit-image's bundled sample photos used by default (grey ones are repeated over RGB), in this order."""


def skimage_data() -> ModuleType:
    """`skimage.data`, imported on first use: loading scikit-image is slow and only these photos need it.

    Raises:
        MissingExtraError: scikit-image (the "analysis" extra) is not installed.
    """
    return require("skimage.data", "analysis", f"--data {SKIMAGE} (the scikit-image sample photos)")


def skimage_photo(name: str) -> Image.Image:
    """One of `SKIMAGE_PHOTOS` as an RGB PIL image."""
    pixels = getattr(skimage_data(), name)()
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=-1)
    return Image.fromarray(pixels[..., :3])


def analysis_images(
    source: str,
    size: int,
    mean: list[float],
    std: list[float],
    num_images: int = 0,
    split: str = "test",
    data_root: str = DATA_ROOT,
) -> tuple[torch.Tensor, list[str]]:
    """The first `num_images` images of `source`, resized (shorter side, bicubic), centre-cropped and normalised.

    Args:
        source: "skimage" for `SKIMAGE_PHOTOS`, else a data set name or folder (`lut.data.build_dataset`).
        size: input side in pixels.
        mean: normalisation mean per channel.
        std: normalisation std per channel.
        num_images: how many (0: all eight photos, or 16 images of a data set).
        split: data set split.
        data_root: where downloadable data sets live (nothing is downloaded).

    Returns:
        (B, 3, size, size) normalised images and one name per image.
    """
    transform = EvalTransform(size, mean, std)
    if source == SKIMAGE:
        names = list(SKIMAGE_PHOTOS[: num_images or len(SKIMAGE_PHOTOS)])
        pictures = [skimage_photo(name) for name in names]
    else:
        data, count = analysis_data(source, num_images, split, data_root)
        pictures = [data[index][0] for index in range(count)]
        names = image_names(data, source, split, count)
    return torch.stack([transform(picture) for picture in pictures]), names  # (B, 3, size, size)


def analysis_data(source: str, num_images: int, split: str, data_root: str) -> tuple[Dataset, int]:
    """The data set of `source` (not "skimage") and how many of its first images an analysis takes.

    Raises:
        UsageError: a data set without images.
    """
    data = split_dataset(source, split, data_root, download=False)
    count = min(num_images or 16, len(data))
    if count == 0:
        raise UsageError(f"data {source!r} holds no images")
    return data, count


def analysis_classes(source: str, num_images: int = 0, split: str = "test",
                     data_root: str = "~/.cache/lut/data") -> list[str] | None:
    """The true class name of each image `analysis_images` takes, for a labelled data set; None for the photos and
    unlabelled data. A folder's labels are read from its file list, without decoding an image."""
    if source == SKIMAGE:
        return None
    data, count = analysis_data(source, num_images, split, data_root)
    classes = list(getattr(data, "classes", []))
    if not classes:
        return None
    if isinstance(data, ImageFolderSource):
        labels = [label for _, label in data.samples[:count]]
    else:
        labels = [data[index][1] for index in range(count)]
    return [classes[label] for label in labels]


def image_names(data: Dataset, source: str, split: str, count: int) -> list[str]:
    """Names of the first `count` images: a folder's file paths below it, else `DATA[SPLIT][INDEX]`."""
    if isinstance(data, ImageFolderSource):
        return [path.relative_to(data.root).as_posix() for path, _ in data.samples[:count]]
    return [f"{source}[{split}][{index}]" for index in range(count)]
