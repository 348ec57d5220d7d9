"""Image transforms of the supervised protocols (timm's, with MAE's settings)."""

from collections.abc import Callable, Sequence

from PIL import Image
from timm.data import create_transform
from timm.data.auto_augment import RandAugment, posterize
from torchvision import transforms as T

from lut.data.views import random_resized_crop
from lut.errors import UsageError


def probe_train_transform(img_size: int, scale_min: float, mean: Sequence[float], std: Sequence[float]) -> Callable:
    """MAE's linear-probing augmentation: RandomResizedCrop (bicubic) + horizontal flip, normalise.

    Args:
        img_size: output side in pixels.
        scale_min: smallest crop area fraction (0.08 in MAE).
        mean: normalisation mean.
        std: normalisation std.
    """
    return T.Compose([random_resized_crop(img_size, (scale_min, 1.0)), T.ToTensor(), T.Normalize(mean, std)])


def finetune_train_transform(
    img_size: int,
    scale_min: float,
    auto_augment: str,
    reprob: float,
    mean: Sequence[float],
    std: Sequence[float],
) -> Callable:
    """MAE's fine-tuning augmentation: RandomResizedCrop + flip + RandAugment, normalise, random erasing.

    Args:
        img_size: output side in pixels.
        scale_min: smallest crop area fraction.
        auto_augment: timm policy, e.g. "rand-m9-mstd0.5-inc1"; empty for none.
        reprob: random erasing probability (per-pixel random values, one region).
        mean: normalisation mean.
        std: normalisation std.
    """
    transform = create_transform(
        img_size, is_training=True, scale=(scale_min, 1.0), color_jitter=None, auto_augment=auto_augment or None,
        interpolation="bicubic", re_prob=reprob, re_mode="pixel", re_count=1, mean=tuple(mean), std=tuple(std),
    )
    for step in transform.transforms:
        if isinstance(step, RandAugment):
            for op in step.ops:
                if op.aug_fn is posterize:
                    op.aug_fn = posterize_to_zero_bits_as_black
    return transform


def check_auto_augment(policy: str) -> None:
    """Refuse a RandAugment/AutoAugment/AugMix policy string that timm cannot build.

    Raises:
        UsageError: naming the policy and timm's reason.
    """
    try:
        create_transform(32, is_training=True, auto_augment=policy)
    except (AssertionError, ValueError, KeyError, IndexError) as error:
        reason = f": {error}" if str(error) else ""
        raise UsageError(f"config key auto_augment: {policy!r} is not a timm augmentation policy (e.g. "
                         f"rand-m9-mstd0.5-inc1, augmix-m5, v0; empty disables it){reason}") from error


def posterize_to_zero_bits_as_black(img: Image.Image, bits_to_keep: int, **kwargs) -> Image.Image:
    """timm's posterize, except that keeping 0 bits gives the black image Pillow < 13 returned.

    timm's "inc1" RandAugment asks for 0 bits at magnitude 10 (about 2 % of posterize draws with
    m9, mstd 0.5), which Pillow 13 rejects with a ValueError.
    """
    if bits_to_keep <= 0:
        return Image.new(img.mode, img.size)
    return posterize(img, bits_to_keep, **kwargs)
