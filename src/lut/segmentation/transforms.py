"""mmseg's ADE20K pipelines for an (image, label map) pair, with all randomness from one seed per sample.

Training: keep-ratio random resize (scale x ratio in `ratio_range`), random crop that avoids crops
dominated by one class (`cat_max_ratio`), horizontal flip, photometric distortion, normalisation, padding
to the crop (ignored label). Evaluation: keep-ratio resize to the test scale and normalisation; the
label map stays at its own size (metrics are computed at the original resolution).
"""

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F
from torchvision.transforms import functional as TF

from lut.segmentation.data import IGNORE_INDEX, SegmentationSource

CROP_TRIES = 10  # mmseg's RandomCrop tries this many crops before keeping one dominated by a class


def rescale_size(width: int, height: int, scale: Sequence[int]) -> tuple[int, int]:
    """mmcv's keep-ratio rescale: the largest size whose long side fits scale[0] and short side fits scale[1]."""
    long_side, short_side = max(scale), min(scale)
    factor = min(long_side / max(width, height), short_side / min(width, height))
    return max(1, int(width * factor + 0.5)), max(1, int(height * factor + 0.5))


def resize_pair(image: Image.Image, labels: np.ndarray, size: tuple[int, int]) -> tuple[Image.Image, np.ndarray]:
    """Bilinear image, nearest-neighbour labels, to `size` = (width, height)."""
    resized = Image.fromarray(labels).resize(size, Image.NEAREST)
    return image.resize(size, Image.BILINEAR), np.asarray(resized)


def crop_box(labels: np.ndarray, crop: int, cat_max_ratio: float, rng: np.random.Generator) -> tuple[int, int]:
    """Top-left corner of a crop whose largest class holds under `cat_max_ratio` of the labelled pixels.

    Args:
        labels: (H, W) training ids.
        crop: crop side (larger than the image: the whole side).
        cat_max_ratio: 1 accepts the first crop.
        rng: the sample's generator.
    """
    height, width = labels.shape
    top, left = 0, 0
    for _ in range(CROP_TRIES):
        top = int(rng.integers(0, max(height - crop, 0) + 1))
        left = int(rng.integers(0, max(width - crop, 0) + 1))
        if cat_max_ratio >= 1.0:
            break
        window = labels[top:top + crop, left:left + crop]
        _, counts = np.unique(window[window != IGNORE_INDEX], return_counts=True)
        if len(counts) > 1 and counts.max() / counts.sum() < cat_max_ratio:
            break
    return top, left


def photometric_distortion(pixels: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """mmseg's PhotoMetricDistortion on (3, H, W) float pixels in 0..255, each step with probability 0.5.

    Brightness +-32, contrast x[0.5, 1.5] (before or after the colour steps), saturation x[0.5, 1.5],
    hue +-18 of OpenCV's 180 steps (+-0.1 of the circle).
    """
    if rng.random() < 0.5:
        pixels = (pixels + rng.uniform(-32, 32)).clamp(0, 255)
    contrast_first = rng.random() < 0.5
    contrast = rng.uniform(0.5, 1.5) if rng.random() < 0.5 else None
    if contrast_first and contrast is not None:
        pixels = (pixels * contrast).clamp(0, 255)
    if rng.random() < 0.5:
        pixels = TF.adjust_saturation(pixels / 255, rng.uniform(0.5, 1.5)) * 255
    if rng.random() < 0.5:
        pixels = TF.adjust_hue(pixels / 255, rng.uniform(-0.1, 0.1)) * 255
    if not contrast_first and contrast is not None:
        pixels = (pixels * contrast).clamp(0, 255)
    return pixels


def normalise(image: Image.Image, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """PIL RGB -> (3, H, W) float tensor, standardised per channel (mean and std on the 0..1 scale)."""
    pixels = TF.pil_to_tensor(image).float() / 255
    return TF.normalize(pixels, list(mean), list(std))


class TrainPairs(torch.utils.data.Dataset):
    """Augmented training crops; an item is `(index, sample_seed)`, so a sampler fixes all randomness.

    Args:
        source: the training split.
        crop: crop side.
        scale: (long, short) resize target before the random ratio.
        ratio_range: random resize ratio range.
        cat_max_ratio: largest share one class may have in a crop (1 disables the check).
        mean: normalisation mean.
        std: normalisation std.
        photometric: whether to apply the photometric distortion.
    """

    def __init__(self, source: SegmentationSource, crop: int, scale: Sequence[int], ratio_range: Sequence[float],
                 cat_max_ratio: float, mean: Sequence[float], std: Sequence[float], photometric: bool = True) -> None:
        self.source, self.crop, self.scale, self.ratio_range = source, crop, scale, ratio_range
        self.cat_max_ratio, self.mean, self.std, self.photometric = cat_max_ratio, mean, std, photometric

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """(3, crop, crop) normalised image and (crop, crop) int64 labels (padding ignored)."""
        index, sample_seed = item
        rng = np.random.default_rng(sample_seed)
        image, labels = self.source[index]
        ratio = rng.uniform(*self.ratio_range)
        size = rescale_size(image.width, image.height, [side * ratio for side in self.scale])
        image, labels = resize_pair(image, labels, size)
        top, left = crop_box(labels, self.crop, self.cat_max_ratio, rng)
        image = image.crop((left, top, left + min(self.crop, image.width), top + min(self.crop, image.height)))
        labels = labels[top:top + self.crop, left:left + self.crop]
        pixels = TF.pil_to_tensor(image).float()  # (3, h, w) in 0..255
        target = torch.from_numpy(labels.astype(np.int64))  # (h, w)
        if rng.random() < 0.5:
            pixels, target = pixels.flip(-1), target.flip(-1)
        if self.photometric:
            pixels = photometric_distortion(pixels, rng)
        pixels = TF.normalize(pixels / 255, list(self.mean), list(self.std))
        pad = (0, self.crop - pixels.shape[-1], 0, self.crop - pixels.shape[-2])
        return F.pad(pixels, pad), F.pad(target, pad, value=IGNORE_INDEX)


class EvalPairs(torch.utils.data.Dataset):
    """Validation images resized (keep ratio) to the test scale, with their labels at the original size.

    Args:
        source: the validation split.
        scale: (long, short) test scale.
        mean: normalisation mean.
        std: normalisation std.
    """

    def __init__(self, source: SegmentationSource, scale: Sequence[int], mean: Sequence[float],
                 std: Sequence[float]) -> None:
        self.source, self.scale, self.mean, self.std = source, scale, mean, std

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(3, h, w) normalised resized image and (H, W) int64 labels."""
        image, labels = self.source[index]
        image = image.resize(rescale_size(image.width, image.height, self.scale), Image.BILINEAR)
        return normalise(image, self.mean, self.std), torch.from_numpy(labels.astype(np.int64))
