"""Whole-image and sliding-window inference (mmseg's `slide_inference`), with optional flip averaging."""

from collections.abc import Callable

import torch
from torch.nn import functional as F

Network = Callable[[torch.Tensor], torch.Tensor]  # (B, 3, h, w) -> (B, C, h, w) logits
MODES = ("slide", "whole")


def window_starts(length: int, crop: int, stride: int) -> list[tuple[int, int]]:
    """(start, end) of the windows along one side: every `stride`, the last one flush with the end."""
    count = max(length - crop + stride - 1, 0) // stride + 1
    windows = []
    for index in range(count):
        end = min(index * stride + crop, length)
        windows.append((max(end - crop, 0), end))
    return windows


def slide_logits(network: Network, images: torch.Tensor, crop: int, stride: int, crops_per_batch: int = 16
                 ) -> torch.Tensor:
    """Logits averaged over overlapping `crop` windows placed every `stride` pixels.

    Args:
        network: returns logits at its input's size.
        images: (B, 3, H, W).
        crop: window side (a side shorter than it is taken whole).
        stride: step between windows.
        crops_per_batch: windows (times B) run through the network at once.

    Returns:
        (B, C, H, W) float32 logits.
    """
    height, width = images.shape[-2:]
    boxes = [(top, bottom, left, right) for top, bottom in window_starts(height, crop, stride)
             for left, right in window_starts(width, crop, stride)]
    total: torch.Tensor | None = None
    counts = images.new_zeros((1, 1, height, width))
    for first in range(0, len(boxes), crops_per_batch):
        chunk = boxes[first:first + crops_per_batch]
        windows = torch.cat([images[:, :, top:bottom, left:right] for top, bottom, left, right in chunk])
        logits = network(windows).float()  # (len(chunk) * B, C, crop, crop)
        if total is None:
            total = logits.new_zeros((images.shape[0], logits.shape[1], height, width))
        for position, (top, bottom, left, right) in enumerate(chunk):
            part = logits[position * images.shape[0]:(position + 1) * images.shape[0]]  # (B, C, crop, crop)
            total[:, :, top:bottom, left:right] += part
            counts[:, :, top:bottom, left:right] += 1
    return total / counts


def predict_scores(network: Network, images: torch.Tensor, mode: str = "slide", crop: int = 512, stride: int = 341,
                   flip: bool = False) -> torch.Tensor:
    """Class scores of a batch: logits, or with `flip` the mean softmax of the image and its mirror image.

    Args:
        network: returns logits at its input's size.
        images: (B, 3, H, W).
        mode: "slide" (windows of `crop` every `stride`) or "whole" (the image at once).
        crop: window side for slide mode.
        stride: window step for slide mode.
        flip: also run the horizontally flipped image and average the probabilities (mmseg's TTA).

    Returns:
        (B, C, H, W) float32 scores; their argmax is the prediction.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")

    def run(inputs: torch.Tensor) -> torch.Tensor:
        return slide_logits(network, inputs, crop, stride) if mode == "slide" else network(inputs).float()

    if not flip:
        return run(images)
    return (run(images).softmax(dim=1) + run(images.flip(-1)).flip(-1).softmax(dim=1)) / 2


def scores_at(scores: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, C, h, w) scores resized bilinearly to `size` (the label map's), as mmseg before the argmax."""
    if tuple(scores.shape[-2:]) == tuple(size):
        return scores
    return F.interpolate(scores, size=size, mode="bilinear", align_corners=False)
