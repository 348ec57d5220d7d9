"""Local tar shards read by index (what evaluation and the k-NN monitor read): the very samples, labels and classes
of the folder they were packed from, class names from the labels without `shards.json`, one-line errors."""

import logging
import shutil

import numpy as np
import pytest
from helpers import write_random_images

from lut.cli import main
from lut.data.shard_source import TarShardSource, sample_key
from lut.data.sources import build_dataset
from lut.errors import UsageError


@pytest.fixture(scope="module")
def split_folder(tmp_path_factory):
    """A folder whose `train/` holds 40 random images in the class folders `a` and `b`."""
    root = tmp_path_factory.mktemp("split")
    write_random_images(root / "train")
    return root


@pytest.fixture(scope="module")
def shards(tmp_path_factory, split_folder) -> str:
    output = tmp_path_factory.mktemp("indexed")
    assert main(["data", "pack", str(split_folder), str(output), "--shard-size", "16"]) == 0
    return f"{output}/shard-{{000000..000002}}.tar"


def test_the_folder_samples_labels_and_classes(shards, split_folder):
    indexed, folder = build_dataset(shards), build_dataset(str(split_folder))
    assert isinstance(indexed, TarShardSource) and len(indexed.urls) == 3
    assert len(indexed) == len(folder) == 40 and indexed.classes == folder.classes == ["a", "b"]
    assert indexed.packed == {"root": str((split_folder / "train").resolve()), "part": "all"}
    assert indexed.targets == [label for _, label in folder.samples] == [0] * 20 + [1] * 20
    for index in (0, 15, 16, 39):  # first and last of a shard, and across shards
        (image, label), (folder_image, folder_label) = indexed[index], folder[index]
        assert image.mode == "RGB" and label == folder_label
        assert np.array_equal(np.asarray(image), np.asarray(folder_image)), index


def test_class_names_from_the_labels_without_an_index(shards, tmp_path, caplog):
    copy = tmp_path / "copy"
    copy.mkdir()
    for url in TarShardSource(shards).urls:
        shutil.copy(url, copy)  # without shards.json
    spec = f"{copy}/shard-{{000000..000002}}.tar"
    with caplog.at_level(logging.INFO, logger="lut.data"):
        indexed = TarShardSource(spec)
    assert indexed.classes == ["0", "1"]
    assert f"data {spec}: no class names (shards.json beside the shards); classes are named by their labels 0..1" \
           in caplog.messages


def test_urls_and_missing_shards_are_one_line_errors(tmp_path):
    with pytest.raises(UsageError, match=r"evaluation reads tar shards by index, from local files only; "
                                         r"http://host/a-0\.tar is a URL"):
        TarShardSource("http://host/a-{0..1}.tar")
    with pytest.raises(UsageError, match=r"2 of 2 shards do not exist"):
        TarShardSource(f"{tmp_path}/none-{{0..1}}.tar")


def test_sample_keys_split_at_the_first_dot_of_the_basename():
    assert sample_key("000000001.png") == ("000000001", "png")
    assert sample_key("a.b/000001.seg.PNG") == ("a.b/000001", "seg.png")
