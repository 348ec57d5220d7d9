"""The held-out test split of a labelled folder that has no test split of its own.

Every command draws it the same way (a fixed seed over the sorted file list, whatever the run's seed), so the
images that `lut knn`, `linprobe`, `finetune` and pre-training's own k-NN test on are the images that
pre-training never trains on.
"""

import logging
import os
from pathlib import Path

import torch
from torch.utils.data import Dataset, Subset

from lut.data.shard_source import TarShardSource
from lut.data.sources import FashionMNIST, ImageFolderSource, build_dataset

log = logging.getLogger("lut")

HELD_OUT_FRACTION = 0.2
HELD_OUT_SEED = 0
_announced: set[tuple[str, int]] = set()


def held_out_split(source: ImageFolderSource, fraction: float = HELD_OUT_FRACTION
                   ) -> tuple[ImageFolderSource, ImageFolderSource]:
    """(training part, held-out part) of a folder: `fraction` of its images (at least one), drawn with a fixed seed."""
    order = torch.randperm(len(source), generator=torch.Generator().manual_seed(HELD_OUT_SEED)).tolist()
    held_out = max(1, round(len(source) * fraction))
    return source.select(order[held_out:], "train"), source.select(order[:held_out], "held-out")


def image_selection(data: Dataset) -> dict[str, str] | None:
    """Which images `data` holds, as `{"root": the folder or file read, "part": "all", "train" or "held-out"}`
    (what `lut data pack` records in `shards.json`, and what tar shards report from it); None when unknown.

    A random subset is described by the images it was drawn from.
    """
    if isinstance(data, Subset):
        return image_selection(data.dataset)
    if isinstance(data, ImageFolderSource):
        return {"root": str(Path(data.root).expanduser().resolve()), "part": data.part}
    if isinstance(data, FashionMNIST):
        return {"root": str(data.images_path.resolve()), "part": "all"}
    if isinstance(data, TarShardSource):
        return data.packed
    return None


def share_images(first: dict[str, str], second: dict[str, str]) -> bool:
    """Whether two `image_selection`s can hold the same images: the same root, and parts that are not disjoint."""
    return first["root"] == second["root"] and (first["part"] == second["part"] or "all" in (first["part"],
                                                                                           second["part"]))


def is_unsplit_labelled_folder(data: Dataset, spec: str) -> bool:
    """Whether `data` (from `build_dataset(spec, ...)`) is a labelled folder without train/test sub-folders."""
    return (isinstance(data, ImageFolderSource) and bool(data.classes)
            and Path(data.root) == Path(spec).expanduser())


def split_dataset(spec: str, split: str = "train", data_root: str | os.PathLike[str] = "~/.cache/lut/data",
                  download: bool = True, fraction: float = HELD_OUT_FRACTION) -> Dataset:
    """`build_dataset(spec, split)`, except that a labelled folder without a test split is divided (`split_part`)."""
    return split_part(build_dataset(spec, split, data_root, download), spec, split, fraction)


def split_part(data: Dataset, spec: str, split: str, fraction: float = HELD_OUT_FRACTION) -> Dataset:
    """`data` (`build_dataset(spec, split)`) itself, or, for a labelled folder without a test split, what
    `held_out_split` leaves for "train" and its held-out images for "test" and "val" (fraction 0: all of it).

    The first division of a folder in a process is announced in one line.
    """
    if fraction <= 0 or not is_unsplit_labelled_folder(data, spec):
        return data
    train, test = held_out_split(data, fraction)
    key = (str(data.root), len(data), fraction)
    if key not in _announced:
        _announced.add(key)
        log.info("%s has no test split: holding out %d of its %d images for testing (the same images for every "
                 "command, never trained on)", spec, len(test), len(data))
    return train if split == "train" else test
