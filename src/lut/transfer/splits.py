"""The three labelled splits of a transfer data set and the labels of a split without decoding images."""

from dataclasses import dataclass, field

from torch.utils.data import Dataset, Subset

from lut.data.sources import FashionMNIST, ImageFolderSource, TorchvisionSource
from lut.errors import UsageError


@dataclass
class TransferSplits:
    """Training, validation (hyper-parameter selection) and test (reported) splits.

    Attributes:
        train: yields `(PIL image, label)`; what every grid point trains on.
        val: selects the grid point; held out from the official training split when the set has no validation split.
        test: reported for the selected point; never read by the selection.
        classes: class names indexed by label.
        metric: "top1" or "class_mean" (mean per-class accuracy), the set's usual metric.
        notes: one line per choice made while opening (hold-out, val used as test, subsets).
    """

    train: Dataset
    val: Dataset
    test: Dataset
    classes: list[str]
    metric: str = "top1"
    notes: list[str] = field(default_factory=list)


def split_labels(dataset: Dataset) -> list[int]:
    """The label of every sample of a split, read from its index (images are not decoded).

    Raises:
        UsageError: a data set whose labels are not indexed.
    """
    if isinstance(dataset, Subset):
        labels = split_labels(dataset.dataset)
        return [labels[index] for index in dataset.indices]
    if isinstance(dataset, ImageFolderSource):
        return [label for _, label in dataset.samples]
    if isinstance(dataset, TorchvisionSource) and hasattr(dataset.dataset, "targets"):
        return [int(label) for label in dataset.dataset.targets]
    if isinstance(dataset, FashionMNIST):
        return dataset.targets
    raise UsageError(f"cannot read the labels of {type(dataset).__name__} without decoding it")


def select(dataset: Dataset, indices: list[int]) -> Dataset:
    """The samples at `indices` as a split of their own (image folders stay image folders)."""
    if isinstance(dataset, ImageFolderSource):
        return dataset.select(indices)
    return Subset(dataset, indices)
