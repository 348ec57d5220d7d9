"""Labelled train/test splits for evaluation, with optional random subsets."""

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import Dataset, Subset

from lut.data.held_out import is_unsplit_labelled_folder, split_part
from lut.data.hf_datasets import is_hub_spec
from lut.data.sources import BUILTIN_DATASETS, ImageFolderSource, build_dataset, dataset_has_labels
from lut.errors import UsageError

log = logging.getLogger("lut")


@dataclass
class LabelledSplits:
    """A labelled training set (memory bank or training data) and a disjoint test set.

    Attributes:
        train: yields `(PIL image, label)`.
        test: yields `(PIL image, label)`.
        classes: class names indexed by label.
    """

    train: Dataset
    test: Dataset
    classes: list[str]


def random_subset(dataset: Dataset, count: int, seed: int) -> Dataset:
    """`count` samples drawn without replacement (seeded), or the whole set when `count` is 0 or too large."""
    if count <= 0 or count >= len(dataset):
        return dataset
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))
    return Subset(dataset, order[:count].tolist())


def files_fingerprint(dataset: Dataset) -> str | None:
    """Digest of an image folder's files (names, sizes, modification times), None for a built-in data set.

    A random subset (`random_subset`) is fingerprinted by the split it was drawn from: the cache key holds its
    size and seed.
    """
    source = dataset.dataset if isinstance(dataset, Subset) else dataset
    return source.fingerprint() if isinstance(source, ImageFolderSource) else None


def loose_images_note(dataset: Dataset) -> str:
    """For a folder with class sub-folders that is unlabelled because images lie directly in it: which images."""
    if not isinstance(dataset, ImageFolderSource) or not any(path.is_dir() for path in dataset.root.iterdir()):
        return ""
    loose = sorted(path.name for path, _ in dataset.samples if path.parent == dataset.root)
    return (f" ({len(loose)} image files lie directly in {dataset.root}, e.g. {loose[0]}, which makes the whole "
            "folder one unlabelled set; move them into class folders)") if loose else ""


def data_identity(data: str) -> str:
    """What names a data set in cache keys: the built-in name, or the folder's absolute path."""
    return data if data in BUILTIN_DATASETS or is_hub_spec(data) else str(Path(data).expanduser().resolve())


def labelled_splits(
    data: str,
    data_root: str = "~/.cache/lut/data",
    download: bool = False,
    train_samples: int = 0,
    test_samples: int = 0,
    seed: int = 0,
    held_out_fraction: float = 0.2,
    columns: tuple[str, str] = ("", ""),
) -> LabelledSplits:
    """Open the training and test splits of a labelled data set.

    A folder without `train`/`test` (or `val`) sub-folders has one split: `held_out_fraction` of it, drawn
    with a fixed seed (`lut.data.held_out`), becomes the test set and the rest the training set.

    Args:
        data: built-in name or folder with class sub-folders (see `lut.data.sources.build_dataset`).
        data_root: where downloadable data sets live.
        download: whether torchvision data sets may be downloaded.
        train_samples: random training subset size (0: all).
        test_samples: random test subset size (0: all).
        seed: seed of the subsets.
        held_out_fraction: test share of a folder that is not split.
        columns: a Hugging Face data set's image and label columns ("" detects them).

    Raises:
        UsageError: unlabelled data, or data that cannot be found.
    """
    whole = build_dataset(data, "train", data_root, download, *columns)
    if not dataset_has_labels(whole):
        raise UsageError(f"{data} has no class labels; evaluation needs class sub-folders or a labelled data set"
                         f"{loose_images_note(whole)}")
    if is_unsplit_labelled_folder(whole, data):
        train, test = (split_part(whole, data, split, held_out_fraction) for split in ("train", "test"))
    else:
        train, test = whole, build_dataset(data, "test", data_root, download, *columns)
    classes = list(whole.classes)
    if len(classes) < 2:
        raise UsageError(f"{data} has {len(classes)} class ({', '.join(classes)}): classification needs at least 2")
    if isinstance(train, ImageFolderSource) and isinstance(test, ImageFolderSource) and train.root != test.root:
        if not dataset_has_labels(test):
            raise UsageError(f"the test split of {data} has no class labels{loose_images_note(test)}")
        elif test.classes != classes:
            # Labels follow the class names, not the folders' positions in each split.
            test = test.relabelled(classes)
    return LabelledSplits(
        random_subset(train, train_samples, seed), random_subset(test, test_samples, seed + 1), classes
    )
