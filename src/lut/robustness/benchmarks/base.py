"""What a benchmark is made of: forward passes over image sets and a scoring of their logits."""

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch
from PIL import Image
from torch.utils.data import Dataset

from lut.data.images import load_rgb
from lut.data.sources import image_folder
from lut.errors import UsageError

Item = TypeVar("Item")
Scorer = Callable[[dict[str, torch.Tensor]], dict[str, Any]]


class ImageFiles(Dataset):
    """Images read from a list of files; an unreadable file stops the run with its path (no substitutes).

    Args:
        paths: the image files, in the order their logits are stored.
    """

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Image.Image:
        return load_rgb(self.paths[index])


def files_fingerprint(paths: list[Path]) -> str:
    """A digest of the file list with each file's size and modification time (part of the cache key)."""
    digest = hashlib.sha256()
    for path in paths:
        status = path.stat()
        digest.update(f"{path.resolve()}\t{status.st_size}:{status.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


@dataclass
class Pass:
    """One forward pass of a classifier over a set of images.

    Attributes:
        name: the pass's name within its benchmark ("images", "in-distribution", "hole-112", ...).
        images: yields RGB PIL images.
        identity: what makes the images these (file digest, generated-shift settings); part of the cache key.
        image_transform: applied to the PIL image before the evaluation view (ObjectNet's border crop, a shift).
        occlusion: (hole side, "pixel" or "normalised") to apply after normalisation, or None; the side is in
            pixels of the model input (an int) or a fraction of that side (a float below 1).
    """

    name: str
    images: Dataset
    identity: str
    image_transform: Callable[[Image.Image], Image.Image] | None = None
    occlusion: tuple[int | float, str] | None = None


@dataclass
class Benchmark:
    """A benchmark ready to run: its passes and how their logits are scored.

    Attributes:
        name: benchmark name, e.g. "imagenet-a".
        passes: the forward passes it needs.
        score: {pass name: (N, C) logits} -> metrics (numbers, or lists of per-factor points).
        headline: the metric printed for each checkpoint.
        columns: summary-table column -> scalar metric key (default: the benchmark's own column, its headline).
        num_classes: outputs the classifier must have.
        notes: what the user should know about how it is scored (one line each).
        curves: factor name -> metric key holding [{"value": v, "top1": a}, ...] points, for the PNG.
    """

    name: str
    passes: list[Pass]
    score: Scorer
    headline: str
    num_classes: int = 1000
    notes: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    curves: dict[str, str] = field(default_factory=dict)


def require_folder(path: Path, benchmark: str) -> Path:
    """The folder, expanded.

    Raises:
        UsageError: when it does not exist or is not a folder.
    """
    path = path.expanduser()
    if not path.is_dir():
        raise UsageError(f"{benchmark}: {path} is not a folder")
    return path


def class_folder_files(root: Path, benchmark: str, allowed: set[str] | None, expected: str) -> list[tuple[Path, str]]:
    """(image, class folder name) pairs of a folder with one sub-folder per class.

    Args:
        root: the benchmark folder (its `val`/`test` sub-folder is used when it has split folders).
        benchmark: name for messages.
        allowed: the class folder names the layout allows (None: any).
        expected: the layout in words, for the message.

    Raises:
        UsageError: loose images, folders the layout does not allow, or no images.
    """
    source = image_folder(require_folder(root, benchmark), split="test")
    if not source.classes:
        raise UsageError(f"{benchmark}: {source.root} holds loose images; expected {expected}")
    unknown = [name for name in source.classes if allowed is not None and name not in allowed]
    if unknown:
        shown = ", ".join(repr(name) for name in unknown[:3]) + (" ..." if len(unknown) > 3 else "")
        raise UsageError(f"{benchmark}: {source.root} is not in the benchmark's layout: expected {expected}; "
                         f"found {len(unknown)} other folder(s): {shown}")
    return [(path, source.classes[label]) for path, label in source.samples]


def subsample(items: list[Item], max_images: int, seed: int) -> list[Item]:
    """A fixed random subset of `max_images` items in their original order (all of them for 0 or more)."""
    if not max_images or max_images >= len(items):
        return items
    return [items[index] for index in sorted(random.Random(seed).sample(range(len(items)), max_images))]
