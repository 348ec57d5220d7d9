"""`hf_streaming=true`: a Hugging Face data set (`data=hf:NAME[:CONFIG]`) streamed with `datasets.load_dataset(...,
streaming=True)` and read through `ShardStream`, which deals the data set's shards (its data files) to the ranks and
loader workers, shuffles with seeded buffers and resumes at a known point, exactly as it does for tar shards.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from PIL import Image

from lut.data.hf_datasets import HUB_PREFIX, SPLIT_NAMES, announce_once, load_hub, select_columns
from lut.errors import UsageError
from lut.extras import require
from lut.wording import counted

log = logging.getLogger("lut.data")
# A shard of a streamed data set is named `hf:NAME[:CONFIG]#INDEX`.
SHARD_MARK = "#"


class StreamedShardReader:
    """`(key, RGB PIL image, label)` of shards of a streamed data set, in order (label -1 when unlabelled): the
    `reader` of a `ShardStream`.

    Args:
        table: the streamed split (a `datasets.IterableDataset`).
        image_column: the column of images.
        label_column: the column of class indices, or None.
    """

    def __init__(self, table: Any, image_column: str, label_column: str | None) -> None:
        self.table, self.image_column, self.label_column = table, image_column, label_column

    def __call__(self, shards: list[str]) -> Iterator[tuple[str, Image.Image, int]]:
        for shard in shards:
            index = int(shard.rpartition(SHARD_MARK)[2])
            # `iter` reads the rows in this process: iterating the data set itself would split it again over
            # the loader's workers.
            for position, row in enumerate(self.table.shard(self.table.num_shards, index).iter(batch_size=1)):
                label = int(row[self.label_column][0]) if self.label_column else -1
                yield f"{shard}/{position}", row[self.image_column][0].convert("RGB"), label


@dataclass
class StreamedDataset:
    """A streamed split: its name and shard names, their reader, classes, and its size when its info gives it."""

    spec: str
    shards: list[str]
    reader: StreamedShardReader
    classes: list[str]
    known_samples: int  # 0: unknown


def streamed_counts(streamed: StreamedDataset) -> list[int]:
    """Samples per shard for `ShardStream`: the info's total spread over the shards (only the sum is used), else
    counted by reading every shard once (said in one line)."""
    shards, known = streamed.shards, streamed.known_samples
    if known:
        return [known // len(shards) + (index < known % len(shards)) for index in range(len(shards))]
    log.info("counting the samples of the %d shards of %s (its info does not give them)", len(shards), streamed.spec)
    return [sum(1 for _ in streamed.reader([shard])) for shard in shards]


def open_hub_stream(spec: str, split: str = "train", image_column: str = "", label_column: str = "") -> StreamedDataset:
    """The `split` of `hf:NAME[:CONFIG]` opened with `streaming=True`, its columns chosen and announced.

    Raises:
        UsageError: not an `hf:` name, `datasets` missing, no such split, columns, or unknown features.
    """
    if not spec.startswith(HUB_PREFIX):
        raise UsageError(f"hf_streaming=true streams data=hf:NAME[:CONFIG]; {spec!r} is not one")
    datasets = require("datasets", "datasets", f"{spec} (a Hugging Face data set)")
    streams = load_hub(datasets, spec, streaming=True)
    split_name = next((name for name in SPLIT_NAMES.get(split, (split,)) if name in streams), "")
    if not split_name:
        raise UsageError(f"{spec} has the splits {', '.join(streams)}, none of them a {split} split")
    table = streams[split_name]
    if table.features is None:
        raise UsageError(f"{spec} does not say its columns in streaming mode; use it without hf_streaming")
    image, label, classes = select_columns(datasets, table.features, spec, image_column, label_column)
    reader = StreamedShardReader(table, image, label)
    shards = [f"{spec}{SHARD_MARK}{index}" for index in range(table.num_shards)]
    known = table.info.splits[split_name].num_examples if table.info.splits else 0
    labels = f"labels from column {label!r} ({counted(len(classes), 'class')})" if label else "no labels"
    announce_once(f"data {spec}: Hugging Face data set streamed (split {split_name}), {counted(len(shards), 'shard')}, "
                  f"images from column {image!r}, {labels}")
    return StreamedDataset(spec, shards, reader, classes, known)
