"""Augmentations that turn one PIL image into the tensor views a pre-training method needs.

All randomness comes from torch's global RNG (through torchvision transforms or
``torch.rand``/``torch.randint``), never from Python's ``random`` or numpy, so that
seeding torch per sample makes every view reproducible, including after a resume.
"""

import math
from collections.abc import Callable, Sequence

import torch
from PIL import Image, ImageFilter, ImageOps
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode

from lut.errors import UsageError

ImageTransform = Callable[[Image.Image], Image.Image]

CROPS = ("src", "rrc")
SRC_PADDING = 4


def simple_resized_crop(input_size: int) -> ImageTransform:
    """Simple Random Crop (SRC) of DeiT-III.

    The shorter side is resized to ``input_size`` so the crop keeps almost the
    whole image, unlike RandomResizedCrop which can zoom into a small part.

    Args:
        input_size: side of the square output image in pixels.

    Returns:
        A callable mapping a PIL image to an ``input_size`` x ``input_size`` PIL image.
    """
    return T.Compose(
        [
            T.Resize(input_size, interpolation=InterpolationMode.BICUBIC),
            T.RandomCrop(input_size, padding=SRC_PADDING, padding_mode="reflect"),
            T.RandomHorizontalFlip(),
        ]
    )


def random_resized_crop(input_size: int, scale: tuple[float, float] = (0.2, 1.0)) -> ImageTransform:
    """RandomResizedCrop followed by a horizontal flip (the MAE recipe).

    Args:
        input_size: side of the square output image in pixels.
        scale: range of the cropped area as a fraction of the image area.

    Returns:
        A callable mapping a PIL image to an ``input_size`` x ``input_size`` PIL image.
    """
    return T.Compose(
        [
            T.RandomResizedCrop(input_size, scale=scale, interpolation=InterpolationMode.BICUBIC),
            T.RandomHorizontalFlip(),
        ]
    )


def _crop(crop: str, input_size: int, rrc_scale: tuple[float, float]) -> ImageTransform:
    """Builds the crop named ``crop`` ("src" or "rrc").

    Args:
        crop: name of the crop.
        input_size: side of the square output image in pixels.
        rrc_scale: area range of the random resized crop.

    Returns:
        The crop transform.
    """
    if crop == "src":
        return simple_resized_crop(input_size)
    if crop == "rrc":
        return random_resized_crop(input_size, rrc_scale)
    raise UsageError(f"unknown crop {crop!r}; choose one of: {', '.join(CROPS)}")


def _to_normalized_tensor(mean: Sequence[float], std: Sequence[float]) -> Callable[[Image.Image], torch.Tensor]:
    """Builds PIL image -> float tensor (3, H, W) in [0, 1] -> per-channel normalisation.

    Args:
        mean: per-channel normalisation mean.
        std: per-channel normalisation standard deviation.

    Returns:
        The conversion callable.
    """
    return T.Compose([T.ToTensor(), T.Normalize(mean, std)])


class ThreeAugment:
    """DeiT-III's 3-Augment: exactly one of grayscale, solarize or Gaussian blur, chosen uniformly.

    Args:
        solarize_threshold: pixels at or above this value are inverted by solarize.
        blur_radius: range of the Gaussian blur radius, drawn uniformly.
    """

    def __init__(self, solarize_threshold: int = 128, blur_radius: tuple[float, float] = (0.1, 2.0)) -> None:
        self.solarize_threshold = solarize_threshold
        self.blur_radius = blur_radius

    def __call__(self, img: Image.Image) -> Image.Image:
        """Applies one randomly chosen operation to an RGB image.

        Args:
            img: RGB image.

        Returns:
            The augmented RGB image, same size.
        """
        choice = int(torch.randint(3, ()).item())
        if choice == 0:
            # Back to RGB so every view has three channels.
            return img.convert("L").convert("RGB")
        if choice == 1:
            return ImageOps.solarize(img, threshold=self.solarize_threshold)
        low, high = self.blur_radius
        radius = low + (high - low) * torch.rand(()).item()
        return img.filter(ImageFilter.GaussianBlur(radius=radius))

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(solarize_threshold={self.solarize_threshold}, blur_radius={self.blur_radius})"


class TwoViewTransform:
    """The two views of LUT: a lightly augmented view and an independently cropped, strongly augmented one.

    Args:
        input_size: side of the square views in pixels.
        crop: "src" (Simple Random Crop) or "rrc" (RandomResizedCrop).
        mean: per-channel normalisation mean.
        std: per-channel normalisation standard deviation.
        rrc_scale: area range of the random resized crop when ``crop="rrc"``.
    """

    def __init__(
        self,
        input_size: int,
        crop: str = "src",
        mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
        std: Sequence[float] = IMAGENET_DEFAULT_STD,
        rrc_scale: tuple[float, float] = (0.2, 1.0),
    ) -> None:
        crop_fn = _crop(crop, input_size, rrc_scale)
        to_tensor = _to_normalized_tensor(mean, std)
        self.view1 = T.Compose([crop_fn, to_tensor])
        self.view2 = T.Compose(
            [
                crop_fn,
                T.RandomApply([T.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)], p=0.8),
                ThreeAugment(),
                to_tensor,
            ]
        )

    def __call__(self, img: Image.Image) -> tuple[torch.Tensor, torch.Tensor]:
        """Draws both views.

        Args:
            img: RGB image of any size.

        Returns:
            Two float tensors of shape (3, input_size, input_size).
        """
        # The second view redraws its own crop, so the two views cover different regions.
        return self.view1(img), self.view2(img)


class SingleViewTransform:
    """The MAE baseline view: random crop + flip, no colour augmentation.

    Args:
        input_size: side of the square view in pixels.
        crop: "rrc" (RandomResizedCrop, the MAE recipe) or "src" (Simple Random Crop).
        mean: per-channel normalisation mean.
        std: per-channel normalisation standard deviation.
        rrc_scale: area range of the random resized crop when ``crop="rrc"``.
    """

    def __init__(
        self,
        input_size: int,
        crop: str = "rrc",
        mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
        std: Sequence[float] = IMAGENET_DEFAULT_STD,
        rrc_scale: tuple[float, float] = (0.2, 1.0),
    ) -> None:
        self.view = T.Compose([_crop(crop, input_size, rrc_scale), _to_normalized_tensor(mean, std)])

    def __call__(self, img: Image.Image) -> tuple[torch.Tensor]:
        """Draws the view.

        Args:
            img: RGB image of any size.

        Returns:
            A 1-tuple holding a float tensor of shape (3, input_size, input_size), so
            callers handle one- and two-view methods alike.
        """
        return (self.view(img),)


def eval_crop_pct(img_size: int) -> float:
    """The center crop's share of the resized side in the evaluation view (k-NN, exports).

    DINO resizes to 256 and center-crops 224 (0.875) at ImageNet's input size; small images
    (CIFAR, Fashion-MNIST, 32 px) are used whole, as small-image k-NN monitors do.
    """
    return 0.875 if img_size >= 224 else 1.0


class EvalTransform:
    """Deterministic view for evaluation: resize the shorter side, center crop, normalise.

    Args:
        input_size: side of the square output in pixels.
        mean: per-channel normalisation mean.
        std: per-channel normalisation standard deviation.
        crop_pct: the crop's share of the resized side: the shorter side is resized to
            floor(input_size / crop_pct) first (0.875: resize 256, center crop 224, as MAE's and
            DINO's evaluations; 1.0: the whole image).
    """

    def __init__(
        self,
        input_size: int,
        mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
        std: Sequence[float] = IMAGENET_DEFAULT_STD,
        crop_pct: float = 1.0,
    ) -> None:
        if not 0.0 < crop_pct <= 1.0:
            raise UsageError(f"crop_pct must be in (0, 1], got {crop_pct}")
        self.view = T.Compose(
            [
                T.Resize(math.floor(input_size / crop_pct), interpolation=InterpolationMode.BICUBIC),
                T.CenterCrop(input_size),
                _to_normalized_tensor(mean, std),
            ]
        )

    def __call__(self, img: Image.Image) -> torch.Tensor:
        """Transforms one image.

        Args:
            img: RGB image of any size.

        Returns:
            Float tensor of shape (3, input_size, input_size).
        """
        return self.view(img)
