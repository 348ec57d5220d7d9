"""Labelled data: the train/test splits an evaluation opens, with optional random subsets."""

import logging
from dataclasses import dataclass
from pathlib import Path

from torch.utils.data import Dataset, Subset

from lut.data.held_out import image_selection, is_unsplit_labelled_folder, share_images, split_part
from lut.data.hf_datasets import HuggingFaceSource, is_hub_spec
from lut.data.sampling import random_subset
from lut.data.shard_source import TarShardSource
from lut.data.sources import (
    BUILTIN_DATASETS,
    ImageFolderSource,
    build_dataset,
    dataset_has_labels,
    is_hugging_face_spec,
)
from lut.errors import UsageError
from lut.paths import DATA_ROOT

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


def files_fingerprint(dataset: Dataset) -> str | None:
    """Digest of an image folder's or tar shards' files (names, sizes, modification times), None for a built-in or
    Hugging Face data set.

    A random subset (`random_subset`) is fingerprinted by the split it was drawn from: the cache key holds its
    size and seed.
    """
    source = dataset.dataset if isinstance(dataset, Subset) else dataset
    return source.fingerprint() if isinstance(source, ImageFolderSource | TarShardSource) else None


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
    data_root: str = DATA_ROOT,
    download: bool = False,
    train_samples: int = 0,
    test_samples: int = 0,
    seed: int = 0,
    held_out_fraction: float = 0.2,
    columns: tuple[str, str] = ("", ""),
    test_data: str = "",
) -> LabelledSplits:
    """Open the training and test splits of a labelled data set, or its training split and `test_data`.

    Without `test_data`, a folder without `train`/`test` (or `val`) sub-folders has one split: `held_out_fraction`
    of it, drawn with a fixed seed (`lut.data.held_out`), becomes the test set and the rest the training set; tar
    shards and a Hugging Face data set without splits have no test split, so they need `test_data` (rather than
    testing on the training images).

    Args:
        data: built-in name or folder with class sub-folders (see `lut.data.sources.build_dataset`).
        data_root: where downloadable data sets live.
        download: whether torchvision data sets may be downloaded.
        train_samples: random training subset size (0: all).
        test_samples: random test subset size (0: all).
        seed: seed of the subsets.
        held_out_fraction: test share of a folder that is not split.
        columns: the image and label columns of the Hugging Face data sets among `data` and `test_data` ("" detects
            them).
        test_data: the test set (any data `build_dataset` opens; its "test" or "val" split when it has one, else all
            of it, or its held-out part when `data` is tar shards packed from that folder's training part); ""
            takes `data`'s test split.

    Raises:
        UsageError: unlabelled data, data without a test split and without `test_data`, a `test_data` that shares
            images with `data`, test classes that the training data lacks, or data that cannot be found.
    """
    if any(columns) and not any(is_hugging_face_spec(spec) for spec in (data, test_data) if spec):
        raise UsageError(f"image_column and label_column choose columns of a Hugging Face data set; {data!r} is not "
                         "one (leave them empty)")
    whole = build_dataset(data, "train", data_root, download, *columns_of(data, columns))
    if not dataset_has_labels(whole):
        raise UsageError(f"{data} has no class labels; evaluation needs class sub-folders or a labelled data set"
                         f"{loose_images_note(whole)}")
    if test_data:
        train = whole
        named = build_dataset(test_data, "test", data_root, download, *columns_of(test_data, columns))
        test = named_test_set(whole, named, test_data, held_out_fraction)
        refuse_shared_images(whole, test, data, test_data)
    elif isinstance(whole, TarShardSource) or (isinstance(whole, HuggingFaceSource) and not whole.split):
        kind = "tar shards have" if isinstance(whole, TarShardSource) else "a Hugging Face data set without splits has"
        raise UsageError(f"{data}: {kind} no test split; name the test data too (test_data=SHARDS, folder or Hugging "
                         "Face data; --test-data for lut knn, knn_test_data= for pre-training's k-NN)")
    elif is_unsplit_labelled_folder(whole, data):
        train, test = (split_part(whole, data, split, held_out_fraction) for split in ("train", "test"))
    else:
        train, test = whole, build_dataset(data, "test", data_root, download, *columns)
    classes = list(whole.classes)
    if len(classes) < 2:
        raise UsageError(f"{data} has {len(classes)} class ({', '.join(classes)}): classification needs at least 2")
    if test is not whole and getattr(test, "root", None) != getattr(train, "root", None):
        described = f"the test data {test_data}" if test_data else f"the test split of {data}"
        test = matching_test_set(test, classes, described)
    return LabelledSplits(
        random_subset(train, train_samples, seed), random_subset(test, test_samples, seed + 1), classes
    )


def named_test_set(memory: Dataset, test: Dataset, test_data: str, held_out_fraction: float) -> Dataset:
    """`test` (`build_dataset(test_data, "test")`), or its held-out part when it is a labelled folder without a test
    split and `memory` holds (tar shards packed from) that folder's training part: the images every command tests on.
    """
    memory_images, test_images = image_selection(memory), image_selection(test)
    if (memory_images is None or test_images is None or memory_images["root"] != test_images["root"]
            or not is_unsplit_labelled_folder(test, test_data)):
        return test
    return split_part(test, test_data, "test", held_out_fraction)


def refuse_shared_images(memory: Dataset, test: Dataset, data: str, test_data: str) -> None:
    """Refuse a test set that holds images of the memory (training) set; for tar shards that do not record which
    images they hold (packed before `shards.json` said so), say in one line that this cannot be checked.

    Raises:
        UsageError: `test` and `memory` can share images.
    """
    memory_images, test_images = image_selection(memory), image_selection(test)
    if memory_images is not None and test_images is not None and share_images(memory_images, test_images):
        held_out = " (its held-out part is the test set)" if test_images["part"] == "held-out" else ""
        remedy = ("pack the training part alone (lut data pack FOLDER OUT, whose default --split train leaves the "
                  "held-out fifth out)" if isinstance(memory, TarShardSource) else
                  "leave the test data out to test on the folder's held-out fifth")
        raise UsageError(
            f"the test data {test_data}{held_out} holds images of {data} ({memory_images['part']} images of "
            f"{memory_images['root']}): the test would score training images; {remedy}, or name a test set of "
            "other images"
        )
    if isinstance(memory, TarShardSource) and memory_images is None and test_images is not None:
        log.warning("%s does not say which images it holds (its shards.json predates that record): make sure the "
                    "test data %s holds none of them, or pack the shards again", data, test_data)


def columns_of(spec: str, columns: tuple[str, str]) -> tuple[str, str]:
    """`columns` for a Hugging Face data set, ("", "") for other data (which has no columns)."""
    return columns if is_hugging_face_spec(spec) else ("", "")


def matching_test_set(test: Dataset, classes: list[str], described: str) -> Dataset:
    """`test` (`described` so in messages) with labels that index `classes`, the training classes: an image folder is
    relabelled by class name.

    Raises:
        UsageError: an unlabelled test set, or one whose classes are not those of the training data.
    """
    if not dataset_has_labels(test):
        raise UsageError(f"{described} has no class labels{loose_images_note(test)}")
    if test.classes == classes:
        return test
    if isinstance(test, ImageFolderSource):
        # Labels follow the class names, not the folders' positions in each split.
        return test.relabelled(classes)
    raise UsageError(f"{described} has the classes {', '.join(test.classes)}, the training data "
                     f"{', '.join(classes)}: they must be the same, in the same order")
