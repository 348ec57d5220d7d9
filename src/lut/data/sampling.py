"""Epoch-seeded sharded sampling and per-sample seeded augmentation.

Each sample's augmentation draws from a torch RNG seeded by (seed, epoch, index), in
whichever worker process loads it, and the order of an epoch is a function of (seed,
epoch). A run resumed in the middle of an epoch therefore sees exactly the batches and
views it would have seen without the interruption.
"""

import itertools
from collections.abc import Callable, Iterator

import torch
from torch.utils.data import Dataset, DistributedSampler, Sampler, Subset

from lut.runtime.seeding import derive_seed


class ShardedEpochSampler(Sampler[tuple[int, int]]):
    """Yields `(index, epoch)` keys of this rank's share of a shuffled epoch.

    Like `DistributedSampler` with `drop_last=True`, plus a start position for resuming.

    Args:
        dataset_size: number of samples.
        num_replicas: world size.
        rank: this process's rank.
        seed: shuffling seed shared by all ranks.
        shuffle: shuffle each epoch (False keeps the data set order).
    """

    def __init__(self, dataset_size: int, num_replicas: int = 1, rank: int = 0, seed: int = 0,
                 shuffle: bool = True) -> None:
        self.dataset_size = dataset_size
        self.num_replicas = num_replicas
        self.rank = rank
        self.seed = seed
        self.shuffle = shuffle
        self.epoch = 0
        self.start = 0
        self.num_samples = dataset_size // num_replicas

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Select the epoch and skip the first `start` samples of this rank's share."""
        self.epoch = epoch
        self.start = start

    def __len__(self) -> int:
        return self.num_samples - self.start

    def __iter__(self) -> Iterator[tuple[int, int]]:
        if self.shuffle:
            generator = torch.Generator().manual_seed(derive_seed(self.seed, self.epoch))
            order = torch.randperm(self.dataset_size, generator=generator)
        else:
            order = torch.arange(self.dataset_size)
        share = order[self.rank:self.num_samples * self.num_replicas:self.num_replicas]
        for index in share[self.start:].tolist():
            yield index, self.epoch


class ResumableDistributedSampler(DistributedSampler):
    """`DistributedSampler` (its order, its arguments) whose epoch can start after the first `start` samples of this
    rank's share, where a stopped run had got to."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.start = 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Select the epoch and skip the first `start` samples of this rank's share."""
        super().set_epoch(epoch)
        self.start = start

    def __iter__(self) -> Iterator[int]:
        return itertools.islice(super().__iter__(), self.start, None)

    def __len__(self) -> int:
        return self.num_samples - self.start


class AugmentedDataset(Dataset):
    """Applies `transform` to a base data set's images with a per-(epoch, index) seed.

    Args:
        base: returns `(PIL image, label)` for an index.
        transform: PIL image -> tuple of view tensors; draws from torch's global RNG.
        seed: run seed.
    """

    def __init__(self, base: Dataset, transform: Callable, seed: int) -> None:
        self.base = base
        self.transform = transform
        self.seed = seed

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, key: tuple[int, int]) -> tuple[tuple[torch.Tensor, ...], int]:
        index, epoch = key
        image, label = self.base[index]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derive_seed(self.seed, epoch, index))
            views = self.transform(image)
        return views, label


def random_subset(dataset: Dataset, count: int, seed: int) -> Dataset:
    """`count` samples drawn without replacement (seeded), or the whole set when `count` is 0 or less, or too large."""
    if count <= 0 or count >= len(dataset):
        return dataset
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))
    return Subset(dataset, order[:count].tolist())
