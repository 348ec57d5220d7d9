"""Hugging Face `datasets` data sets saved with `save_to_disk`, read as `(RGB PIL image, int label)` samples.

The image column is the data set's first `datasets.Image` column and the label column its first `ClassLabel`
column (unlabelled without one); the choice is announced in one line. A `DatasetDict` folder gives the split
asked for ("test" and "val" stand in for each other, as "validation" does).
"""

import logging
from pathlib import Path
from typing import Any

from PIL import Image
from torch.utils.data import Dataset

from lut.errors import UsageError
from lut.extras import require

log = logging.getLogger("lut.data")
# Files `save_to_disk` writes: a single data set, or a dictionary of splits.
SAVED_DATASET_FILES = ("dataset_info.json", "dataset_dict.json")
SPLIT_NAMES = {"train": ("train",), "test": ("test", "validation", "val"), "val": ("validation", "val", "test")}


def is_saved_dataset(folder: Path) -> bool:
    """Whether `folder` was written by `datasets`' `save_to_disk`."""
    return any((folder / name).is_file() for name in SAVED_DATASET_FILES)


class HuggingFaceSource(Dataset):
    """The rows of a `datasets.Dataset` as `(RGB PIL image, label)`, label -1 when unlabelled.

    Args:
        table: the data set (one split).
        image_column: the column of images.
        label_column: the column of class indices, or None.
        classes: class names indexed by label; empty when unlabelled.
    """

    def __init__(self, table: Any, image_column: str, label_column: str | None, classes: list[str]) -> None:
        self.table = table
        self.image_column = image_column
        self.label_column = label_column
        self.classes = classes

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, index: int) -> tuple[Image.Image, int]:
        row = self.table[index]
        label = int(row[self.label_column]) if self.label_column else -1
        return row[self.image_column].convert("RGB"), label


def open_saved_dataset(folder: Path, split: str = "train") -> HuggingFaceSource:
    """The `split` of the data set that `save_to_disk` wrote to `folder`.

    Raises:
        UsageError: `datasets` not installed, no such split, or no image column.
    """
    datasets = require("datasets", "datasets", f"{folder} (a Hugging Face data set)")

    loaded = datasets.load_from_disk(str(folder))
    split_name = ""
    if isinstance(loaded, datasets.DatasetDict):
        split_name = next((name for name in SPLIT_NAMES.get(split, (split,)) if name in loaded), "")
        if not split_name:
            raise UsageError(f"{folder} has the splits {', '.join(loaded)}, none of them a {split} split")
        loaded = loaded[split_name]
    features = loaded.features
    image_column = next((name for name, kind in features.items() if isinstance(kind, datasets.Image)), None)
    if image_column is None:
        raise UsageError(f"{folder} has no image column (columns: {', '.join(features)})")
    label_column = next((name for name, kind in features.items() if isinstance(kind, datasets.ClassLabel)), None)
    classes = list(features[label_column].names) if label_column else []
    labels = f"labels from column {label_column!r} ({len(classes)} classes)" if label_column else "no labels"
    log.info("data %s: Hugging Face data set%s, %d images from column %r, %s", folder,
             f" (split {split_name})" if split_name else "", len(loaded), image_column, labels)
    return HuggingFaceSource(loaded, image_column, label_column, classes)
