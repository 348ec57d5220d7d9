"""Settings of a robustness evaluation that change what the benchmarks measure."""

from dataclasses import dataclass

from lut.robustness.occlusion import DEFAULT_FILL, DEFAULT_HOLE


@dataclass(frozen=True)
class RobustnessOptions:
    """Protocol choices, with the documented defaults.

    Attributes:
        subset_protocol: ImageNet-A/R and ObjectNet: "mask" (argmax over the benchmark's classes) or
            "membership" (argmax over all 1000, right only when it is the image's class).
        occlusion_holes: centred hole sides in pixels of the model input; the first is the headline.
        occlusion_fill: "pixel" (black) or "normalised" (the normalisation mean colour).
        objectnet_border: pixels cropped off each ObjectNet image side (2, as model soups' loader).
        max_images: a fixed random subset of this many images per image set (0: all).
        seed: the subset's seed.
    """

    subset_protocol: str = "mask"
    occlusion_holes: tuple[int, ...] = (DEFAULT_HOLE,)
    occlusion_fill: str = DEFAULT_FILL
    objectnet_border: int = 2
    max_images: int = 0
    seed: int = 0
