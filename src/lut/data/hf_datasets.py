"""Hugging Face `datasets` data sets, read as `(RGB PIL image, int label)` samples.

Two kinds of `data=`: a folder written by `save_to_disk`, and `hf:NAME` or `hf:NAME:CONFIG`, which
`datasets.load_dataset(NAME, CONFIG)` opens (from the user's cache, a local folder of data files, or the hub).
The image column is `image_column` when given, else the first `datasets.Image` column; the label column is
`label_column` when given, else the first `ClassLabel` column (unlabelled without one); the choice is announced in
one line. A `DatasetDict` gives the split asked for ("test" and "val" stand in for each other, as "validation"
does).
"""

import logging
from pathlib import Path
from typing import Any

from PIL import Image
from torch.utils.data import Dataset

from lut.errors import DataNotFoundError, UsageError
from lut.extras import require
from lut.runtime.say_once import say_once
from lut.wording import counted

log = logging.getLogger("lut.data")
# Files `save_to_disk` writes: a single data set, or a dictionary of splits.
SAVED_DATASET_FILES = ("dataset_info.json", "dataset_dict.json")
SPLIT_NAMES = {"train": ("train",), "test": ("test", "validation", "val"), "val": ("validation", "val", "test")}
# `data=hf:NAME[:CONFIG]` names a data set for `datasets.load_dataset`.
HUB_PREFIX = "hf:"


def is_saved_dataset(folder: Path) -> bool:
    """Whether `folder` was written by `datasets`' `save_to_disk`."""
    return any((folder / name).is_file() for name in SAVED_DATASET_FILES)


def is_hub_spec(spec: str) -> bool:
    """Whether `spec` is `hf:NAME` or `hf:NAME:CONFIG`."""
    return spec.startswith(HUB_PREFIX)


class HuggingFaceSource(Dataset):
    """The rows of a `datasets.Dataset` as `(RGB PIL image, label)`, label -1 when unlabelled.

    Args:
        table: the data set (one split).
        image_column: the column of images.
        label_column: the column of class indices, or None.
        classes: class names indexed by label; empty when unlabelled.
        split: the split of a `DatasetDict` it is; "" for a data set without splits.
    """

    def __init__(self, table: Any, image_column: str, label_column: str | None, classes: list[str],
                 split: str = "") -> None:
        self.table = table
        self.image_column = image_column
        self.label_column = label_column
        self.classes = classes
        self.split = split

    def __len__(self) -> int:
        return len(self.table)

    @property
    def targets(self) -> list[int]:
        """Every sample's label, read from the label column alone (-1 each when unlabelled)."""
        if not self.label_column:
            return [-1] * len(self.table)
        return [int(label) for label in self.table[self.label_column]]

    def __getitem__(self, index: int) -> tuple[Image.Image, int]:
        row = self.table[index]
        label = int(row[self.label_column]) if self.label_column else -1
        return row[self.image_column].convert("RGB"), label


def open_saved_dataset(folder: Path, split: str = "train", image_column: str = "",
                       label_column: str = "") -> HuggingFaceSource:
    """The `split` of the data set that `save_to_disk` wrote to `folder`.

    Args:
        folder: the folder.
        split: "train", "test" or "val".
        image_column: the column of images; "" takes the first `Image` column.
        label_column: the column of labels; "" takes the first `ClassLabel` column, if any.

    Raises:
        UsageError: `datasets` not installed, no such split, or no (such) image or label column.
    """
    datasets = require("datasets", "datasets", f"{folder} (a Hugging Face data set)")
    return _source(datasets, datasets.load_from_disk(str(folder)), str(folder), split, image_column, label_column)


def open_hub_dataset(spec: str, split: str = "train", image_column: str = "",
                     label_column: str = "") -> HuggingFaceSource:
    """The `split` of `hf:NAME` or `hf:NAME:CONFIG`, opened by `datasets.load_dataset(NAME, CONFIG)`.

    Args:
        spec: `hf:NAME` or `hf:NAME:CONFIG`; NAME is a hub name (read from the cache when offline) or a local
            folder of data files (parquet, arrow, csv with image paths, or images).
        split: "train", "test" or "val".
        image_column: as in `open_saved_dataset`.
        label_column: as in `open_saved_dataset`.

    Raises:
        DataNotFoundError: the data set is neither in the cache nor reachable.
        UsageError: `datasets` not installed, no name, no such split, or no (such) image or label column.
    """
    datasets = require("datasets", "datasets", f"{spec} (a Hugging Face data set)")
    return _source(datasets, load_hub(datasets, spec), spec, split, image_column, label_column)


def load_hub(datasets: Any, spec: str, streaming: bool = False) -> Any:
    """`datasets.load_dataset(NAME, CONFIG, streaming=streaming)` for `hf:NAME[:CONFIG]`.

    Raises:
        DataNotFoundError: the data set is neither in the cache nor reachable, or has no such configuration.
        UsageError: no name.
    """
    name, _, config_name = spec.removeprefix(HUB_PREFIX).partition(":")
    if not name:
        raise UsageError(f"data {spec!r} names no data set; write hf:NAME or hf:NAME:CONFIG")
    try:
        return datasets.load_dataset(name, config_name or None, streaming=streaming)
    # Offline and not cached: ConnectionError; no such data set or files: FileNotFoundError (both OSError);
    # an unknown configuration: ValueError.
    except (OSError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        where = "" if isinstance(error, ValueError) else "; a name must be in the Hugging Face cache or on the network"
        raise DataNotFoundError(f"data {spec}: datasets.load_dataset could not open it ({reason}){where}") from error


def _source(datasets: Any, loaded: Any, where: str, split: str, image_column: str,
            label_column: str) -> HuggingFaceSource:
    """The `split` of `loaded` (a `Dataset` or `DatasetDict`) with its image and label columns, announced."""
    split_name = ""
    if isinstance(loaded, datasets.DatasetDict):
        split_name = next((name for name in SPLIT_NAMES.get(split, (split,)) if name in loaded), "")
        if not split_name:
            raise UsageError(f"{where} has the splits {', '.join(loaded)}, none of them a {split} split")
        loaded = loaded[split_name]
    image, label, classes = select_columns(datasets, loaded.features, where, image_column, label_column)
    labels = f"labels from column {label!r} ({counted(len(classes), 'class')})" if label else "no labels"
    announce_once(f"data {where}: Hugging Face data set{f' (split {split_name})' if split_name else ''}, "
                  f"{counted(len(loaded), 'image')} from column {image!r}, {labels}")
    return HuggingFaceSource(loaded, image, label, classes, split_name)


def announce_once(line: str) -> None:
    """Log `line` the first time this process opens that data (a run opens its data for training, the k-NN monitor
    and the figures)."""
    say_once(log, ("hugging face data", line), logging.INFO, "%s", line)


def select_columns(datasets: Any, features: Any, where: str, image_column: str,
                   label_column: str) -> tuple[str, str | None, list[str]]:
    """The image column, the label column (None when unlabelled) and the class names of a data set's `features`:
    the columns named, else the first `Image` and `ClassLabel` columns.

    Raises:
        UsageError: no image column, or a named column that is missing or of the wrong kind.
    """
    image = _column(features, image_column, datasets.Image, "image_column", "images", where)
    if image is None:
        raise UsageError(f"{where} has no image column (columns: {_listing(features)})")
    label = _column(features, label_column, datasets.ClassLabel, "label_column", "class labels", where)
    return image, label, list(features[label].names) if label else []


def _column(features: Any, name: str, kind: type, key: str, holds: str, where: str) -> str | None:
    """The column `name` after checking that its feature is a `kind`, or, when `name` is "", the first such column
    (None without one).

    Raises:
        UsageError: `name` is not a column, or not one of `kind`, with the columns and their kinds.
    """
    if not name:
        return next((column for column, feature in features.items() if isinstance(feature, kind)), None)
    if name not in features:
        raise UsageError(f"{key}={name}: {where} has no such column (columns: {_listing(features)})")
    if not isinstance(features[name], kind):
        raise UsageError(f"{key}={name}: column {name!r} of {where} does not hold {holds} (needs a "
                         f"datasets.{kind.__name__} feature); columns: {_listing(features)}")
    return name


def _listing(features: Any) -> str:
    """`name (Kind), ...` for the columns of `features`, e.g. `img (Image), fine_label (ClassLabel)`."""
    return ", ".join(f"{name} ({_kind(feature)})" for name, feature in features.items())


def _kind(feature: Any) -> str:
    """A feature's class name, with the type of a plain `Value` (`Value(int64)`)."""
    if type(feature).__name__ == "Value":
        return f"Value({feature.dtype})"
    return type(feature).__name__
