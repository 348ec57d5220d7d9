"""WebDataset tar shards as a pre-training stream (`lut.data.packing` writes them from any data set).

`data=/data/in1k/train-{000000..001023}.tar` (brace patterns, `::` between lists, local paths or any URL
`webdataset` opens). Each epoch the shards are shuffled with a seed of (seed, epoch) and dealt out to the ranks,
then to each rank's loader workers, so every sample is read by one process; a shuffle buffer seeded by (seed,
epoch, rank, worker) mixes the samples of a worker's shards. Every rank yields the same number of samples per
epoch (its shards are read again from the start when they run short), which fixes the epoch length of the
schedules; a resumed epoch skips the samples already trained on, reading them again. Labels come from the `cls`
entries when the shards hold them (-1 otherwise). The sample counts are read from `shards.json` beside the first
shard (`lut data pack` writes it) or counted once by reading the shards.
"""

import json
import logging
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import IterableDataset, get_worker_info

from lut.errors import UsageError
from lut.extras import require
from lut.runtime.seeding import derive_seed
from lut.wording import counted

log = logging.getLogger("lut.data")
INDEX_FILE = "shards.json"
IMAGE_KEYS = ("png", "jpg", "jpeg", "webp")
SHUFFLE_BUFFER = 1000


def is_shard_spec(spec: str) -> bool:
    """Whether `data=` names tar shards (a `.tar` path, brace pattern or URL)."""
    return ".tar" in spec and not Path(spec).expanduser().is_dir()


def expand_shards(spec: str) -> list[str]:
    """The shard URLs of a pattern: braces expanded, `::` joining lists.

    Raises:
        UsageError: `webdataset` not installed, or local shards that do not exist.
    """
    shardlists = require("webdataset.shardlists", "shards", f"data {spec!r} (tar shards)")
    urls = shardlists.expand_urls(spec)
    missing = [url for url in urls if "://" not in url and not Path(url).expanduser().is_file()]
    if missing:
        raise UsageError(f"data {spec!r}: {len(missing)} of {len(urls)} shards do not exist, e.g. {missing[0]}")
    return urls


def read_samples(urls: list[str]) -> Iterator[tuple[str, Any, int]]:
    """`(key, PIL image, label)` of the shards in order, label -1 without a `cls` entry."""
    import webdataset

    stream = webdataset.WebDataset(urls, shardshuffle=False, nodesplitter=None, workersplitter=None,
                                   empty_check=False).decode("pil")
    for sample in stream:
        image_key = next((key for key in IMAGE_KEYS if key in sample), None)
        if image_key is None:
            raise UsageError(f"shard sample {sample['__key__']} has no image ({', '.join(IMAGE_KEYS)})")
        label = sample.get("cls", -1)
        yield sample["__key__"], sample[image_key].convert("RGB"), int(label)


def shard_counts(urls: list[str]) -> list[int]:
    """Samples per shard: from `shards.json` beside the first shard, else counted by reading every shard once."""
    index = Path(urls[0]).expanduser().parent / INDEX_FILE
    if "://" not in urls[0] and index.is_file():
        counts = json.loads(index.read_text())["counts"]
        if all(Path(url).name in counts for url in urls):
            return [counts[Path(url).name] for url in urls]
    log.info("counting the samples of %d shards (no %s beside them)", len(urls), INDEX_FILE)
    import webdataset

    return [sum(1 for _ in webdataset.WebDataset([url], shardshuffle=False, nodesplitter=None,
                                                 workersplitter=None, empty_check=False)) for url in urls]


class ShardStream(IterableDataset):
    """One rank's share of the shards, as `(views, label)` samples; `set_epoch` chooses the epoch and start.

    Args:
        urls: the shards.
        counts: samples per shard (their sum fixes the epoch length).
        transform: PIL image -> views; draws from torch's global RNG, seeded per sample.
        seed: run seed.
        world_size: number of training processes.
        rank: this process's rank.
        batch_size: the loader's batch (workers each yield whole batches, in turn).
        shuffle_buffer: samples mixed by a worker's shuffle buffer.
        reader: shards -> their `(key, PIL image, label)` samples in order (`read_samples` for tar shards, or the
            reader of a streamed Hugging Face data set).
    """

    def __init__(self, urls: list[str], counts: list[int], transform: Callable, seed: int, world_size: int = 1,
                 rank: int = 0, batch_size: int = 1, shuffle_buffer: int = SHUFFLE_BUFFER,
                 reader: Callable[[list[str]], Iterator[tuple[str, Any, int]]] = read_samples) -> None:
        if len(urls) < world_size:
            raise UsageError(f"{counted(len(urls), 'shard')} cannot be shared by {counted(world_size, 'process')}: "
                             "write more shards "
                             "(lut data pack --shard-size, or more data files)")
        self.urls, self.counts, self.transform, self.seed = urls, counts, transform, seed
        self.world_size, self.rank, self.batch_size, self.shuffle_buffer = world_size, rank, batch_size, shuffle_buffer
        self.reader = reader
        self.num_samples = sum(counts) // world_size
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Select the epoch and skip the first `start` samples of this rank's share (a multiple of the batch)."""
        self.epoch, self.start = epoch, start

    def __len__(self) -> int:
        return self.num_samples - self.start

    def worker_quota(self, worker: int, workers: int) -> tuple[int, int]:
        """Samples worker `worker` skips and then yields: batches go to the workers in turn."""
        batches = self.num_samples // self.batch_size
        first = self.start // self.batch_size
        mine = [index for index in range(batches) if index % workers == worker]
        skipped = sum(1 for index in mine if index < first)
        return skipped * self.batch_size, (len(mine) - skipped) * self.batch_size

    def worker_shards(self, worker: int, workers: int) -> tuple[list[str], int, int]:
        """This worker's shards, and which of every `stride` samples in them are its own (`stride` 1 when the
        worker has shards of its own; otherwise the rank's workers share its shards sample by sample)."""
        order = torch.randperm(len(self.urls), generator=torch.Generator().manual_seed(
            derive_seed(self.seed, self.epoch))).tolist()
        rank_shards = [self.urls[index] for index in order[self.rank::self.world_size]]
        if len(rank_shards) >= workers:
            return rank_shards[worker::workers], 0, 1
        return rank_shards, worker, workers

    def __iter__(self) -> Iterator[tuple[tuple[torch.Tensor, ...], int]]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        skip, quota = self.worker_quota(worker, workers)
        shards, offset, stride = self.worker_shards(worker, workers)
        rng = random.Random(derive_seed(self.seed, self.epoch, self.rank, worker))
        for position, (image, label) in enumerate(self.shuffled(shards, offset, stride, rng)):
            if position >= skip + quota:
                return
            if position < skip:
                continue
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(derive_seed(self.seed, self.epoch, self.rank, worker, position))
                views = self.transform(image)
            yield views, label

    def shuffled(self, shards: list[str], offset: int, stride: int, rng: random.Random) -> Iterator[tuple[Any, int]]:
        """The worker's samples through a seeded shuffle buffer, its shards read again whenever they run out."""
        buffer: list[tuple[Any, int]] = []
        while True:
            read = 0
            for position, (_key, image, label) in enumerate(self.reader(shards)):
                if position % stride != offset:
                    continue
                read += 1
                buffer.append((image, label))
                if len(buffer) >= self.shuffle_buffer:
                    yield buffer.pop(rng.randrange(len(buffer)))
            if read == 0:
                raise UsageError(f"shards {', '.join(shards)} hold no samples for this process")
            rng.shuffle(buffer)
            yield from buffer
            buffer = []
