"""Tar shards from `lut data pack`: the very samples of the folder they came from, dealt disjointly to 2 ranks x
2 loader workers, reproducible per seed, resumable mid-epoch, and pre-training on them resumes bit-exactly."""

import json

import numpy as np
import pytest
import torch
from helpers import tiny_values, write_random_images
from torch.utils.data import DataLoader

from lut.cli import main
from lut.config import build_config
from lut.data.held_out import split_dataset
from lut.data.shards import ShardStream, expand_shards, read_samples, shard_counts
from lut.runtime.checkpoint import LAST_CHECKPOINT, load_checkpoint
from lut.training.pretrain import pretrain


def as_tensor(image) -> tuple[torch.Tensor]:
    return (torch.from_numpy(np.asarray(image).copy()),)  # (20, 20, 3) uint8


@pytest.fixture(scope="module")
def labelled_folder(tmp_path_factory):
    """50 random images in two class folders, no test split: 40 to train on, 10 held out."""
    return write_random_images(tmp_path_factory.mktemp("labelled"), per_class=25)


@pytest.fixture(scope="module")
def shards(tmp_path_factory, labelled_folder):
    """The 40 training images of `labelled_folder`, in shards of 10."""
    output = tmp_path_factory.mktemp("shards")
    assert main(["data", "pack", str(labelled_folder), str(output), "--shard-size", "10"]) == 0
    return f"{output}/shard-{{000000..000003}}.tar"


def packed_images(folder, split: str, output) -> list[tuple[bytes, int]]:
    """`lut data pack FOLDER OUT --split SPLIT`'s samples as (pixels, label)."""
    assert main(["data", "pack", str(folder), str(output), "--split", split]) == 0
    return [(np.asarray(image).tobytes(), label) for _key, image, label in read_samples(expand_shards(
        f"{output}/shard-000000.tar"))]


def test_pack_split_test_writes_the_held_out_fifth_and_train_the_rest(labelled_folder, tmp_path):
    folder_images = [(np.asarray(image).tobytes(), label) for image, label in
                     (split_dataset(str(labelled_folder), "test")[index] for index in range(10))]
    test = packed_images(labelled_folder, "test", tmp_path / "test")
    train = packed_images(labelled_folder, "train", tmp_path / "train")
    assert (len(test), len(train)) == (10, 40)
    assert test == folder_images  # the very images every command tests on, in their order
    assert not set(test) & set(train)
    assert sorted(test + train) == sorted((np.asarray(image).tobytes(), label) for image, label in
                                          (split_dataset(str(labelled_folder), "train", fraction=0)[index]
                                           for index in range(50)))
    for split, part in (("test", "held-out"), ("train", "train")):
        index = json.loads((tmp_path / split / "shards.json").read_text())
        assert index["images"] == {"root": str(labelled_folder.resolve()), "part": part}


def read_epoch(pattern: str, seed: int, rank: int, epoch: int = 0, start: int = 0) -> list[tuple[bytes, int]]:
    urls = expand_shards(pattern)
    stream = ShardStream(urls, shard_counts(urls), as_tensor, seed, world_size=2, rank=rank, batch_size=5)
    stream.set_epoch(epoch, start)
    loader = DataLoader(stream, batch_size=5, num_workers=2, drop_last=True)
    return [(image.numpy().tobytes(), int(label)) for (images,), labels in loader
            for image, label in zip(images, labels, strict=True)]


def test_pack_writes_the_folder_samples_in_order(shards, labelled_folder):
    urls = expand_shards(shards)
    assert len(urls) == 4 and shard_counts(urls) == [10, 10, 10, 10]
    folder = split_dataset(str(labelled_folder))
    packed = list(read_samples(urls))
    assert len(packed) == 40
    for index, (_key, image, label) in enumerate(packed):
        folder_image, folder_label = folder[index]
        assert label == folder_label and np.array_equal(np.asarray(image), np.asarray(folder_image)), index


def test_two_ranks_times_two_workers_read_every_sample_once_reproducibly(shards, labelled_folder):
    folder = split_dataset(str(labelled_folder))
    expected = sorted((np.asarray(folder[index][0]).tobytes(), folder[index][1]) for index in range(len(folder)))
    rank0, rank1 = read_epoch(shards, 0, 0), read_epoch(shards, 0, 1)
    assert len(rank0) == len(rank1) == 20
    assert sorted(rank0 + rank1) == expected  # disjoint and complete
    assert read_epoch(shards, 0, 0) == rank0  # same seed, same order
    assert read_epoch(shards, 1, 0) != rank0 and read_epoch(shards, 0, 0, epoch=1) != rank0
    assert read_epoch(shards, 0, 0, start=10) == rank0[10:]  # a resumed epoch continues where it stopped


def test_pretraining_on_shards_resumes_bit_exactly(shards, image_folder, tmp_path):
    def run(name: str, steps: int, **settings) -> dict:
        values = tiny_values(image_folder, tmp_path / name, max_steps=steps, epochs=2, **settings)
        pretrain(build_config({**values, "data": shards}))
        return load_checkpoint(tmp_path / name / LAST_CHECKPOINT)

    straight = run("straight", 12, num_visualize=2)
    assert (tmp_path / "straight" / "reconstructions.png").is_file()  # of the first shard's first images
    assert run("split", 7)["step"] == 7  # 10 steps per epoch: stops mid-epoch
    resumed = run("split", 12)
    assert resumed["step"] == straight["step"] == 12
    for part in ("model", "model_ema"):
        assert all(torch.equal(resumed[part][key], value) for key, value in straight[part].items()), part
