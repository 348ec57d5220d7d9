"""Center occlusion (CutMix's robustness study): a centred square hole filled with zeros.

"pixel" zero is black (0 in [0, 1] pixel space, i.e. -mean/std after normalisation); "normalised"
zero is 0 after normalisation, i.e. the normalisation mean colour. The default hole is 112 x 112 at
224 px (half the side, a quarter of the area) with pixel-space zeros.
"""

from collections.abc import Sequence

import torch

FILLS = ("pixel", "normalised")
DEFAULT_HOLE = 112
DEFAULT_FILL = "pixel"


def hole_bounds(side: int, hole: int) -> tuple[int, int]:
    """[start, stop) of a centred hole of `hole` pixels on a side of `side` pixels.

    When `side - hole` is odd, the extra pixel of margin goes after the hole (start = floor).
    """
    start = (side - hole) // 2
    return start, start + hole


class CenterOcclusion:
    """Fill a centred `hole` x `hole` square of a normalised (C, H, W) image with zeros.

    Args:
        hole: hole side in pixels (at most the image side).
        fill: "pixel" (black) or "normalised" (the mean colour).
        mean: the normalisation mean.
        std: the normalisation std.
    """

    def __init__(self, hole: int, fill: str, mean: Sequence[float], std: Sequence[float]) -> None:
        self.hole = hole
        self.fill = fill
        mean_tensor, std_tensor = torch.tensor(mean), torch.tensor(std)
        self.value = (-mean_tensor / std_tensor if fill == "pixel" else torch.zeros_like(mean_tensor))[:, None, None]

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        """(C, H, W) normalised image -> a copy with the hole filled."""
        occluded = image.clone()
        top, bottom = hole_bounds(image.shape[1], self.hole)
        left, right = hole_bounds(image.shape[2], self.hole)
        occluded[:, top:bottom, left:right] = self.value.to(image.dtype)  # (C, 1, 1) broadcast
        return occluded
