"""Which images a figure shows: a few of every class, not the first images of the first class.

A folder with class sub-folders lists its images class by class, so its first images are all of one class;
`spread_over_classes` takes the first image of every class, then the second of every class, and so on.
"""

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from torch.utils.data import Dataset

from lut.data.sources import ImageFolderSource

# How many samples of a stream (tar shards, a streamed data set) are read, per image shown, to find its classes.
STREAM_SAMPLES_PER_IMAGE = 16


def spread_over_classes(labels: Sequence[int], count: int) -> list[int]:
    """Positions of `count` samples (fewer when there are fewer) taken in turn from each label, in label order:
    the first sample of every label, then the second, ...; unlabelled samples (-1) are one label of their own.

    Example: labels [0, 0, 0, 1, 1, 2] and count 4 give [0, 3, 5, 1].
    """
    by_label: dict[int, list[int]] = defaultdict(list)
    for position, label in enumerate(labels):
        by_label[label].append(position)
    queues = [by_label[label] for label in sorted(by_label)]
    turns = itertools.chain.from_iterable(itertools.zip_longest(*queues))
    return [position for position in turns if position is not None][:count]


def sample_labels(data: Dataset) -> list[int] | None:
    """Every sample's label without decoding an image (a folder's file list, a `targets` list), or None."""
    if isinstance(data, ImageFolderSource):
        return [label for _, label in data.samples]
    targets = getattr(data, "targets", None)
    return list(targets) if targets is not None else None


def showcase(data: Dataset, count: int) -> list[Any]:
    """`count` images of `data` spread over its classes (its first images when the labels are not known)."""
    labels = sample_labels(data)
    positions = spread_over_classes(labels, count) if labels is not None else range(min(count, len(data)))
    return [data[position][0] for position in positions]


def showcase_stream(samples: Iterable[tuple[str, Any, int]], count: int) -> list[Any]:
    """`count` images of a stream of `(key, image, label)` spread over the classes of its first
    `STREAM_SAMPLES_PER_IMAGE * count` samples."""
    read = list(itertools.islice(samples, STREAM_SAMPLES_PER_IMAGE * count))
    return [read[position][1] for position in spread_over_classes([label for _, _, label in read], count)]
