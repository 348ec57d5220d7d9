"""A Hugging Face `save_to_disk` folder as `data=`: the very samples of the image folder it was made from, the
same per-rank shares, and the same pre-training, bit for bit."""

import logging

import numpy as np
import pytest
import torch
from helpers import tiny_values

from lut.config import build_config
from lut.data.sampling import ShardedEpochSampler
from lut.data.sources import build_dataset
from lut.errors import UsageError
from lut.training.checkpoint import LAST_CHECKPOINT, load_checkpoint
from lut.training.pretrain import pretrain


def save_folder_as_dataset(source, folder, labelled: bool = True, split: str = "train"):
    import datasets

    columns = {"img": [str(path) for path, _ in source.samples]}
    features = {"img": datasets.Image()}
    if labelled:
        columns["fine_label"] = [label for _, label in source.samples]
        features["fine_label"] = datasets.ClassLabel(names=source.classes)
    table = datasets.Dataset.from_dict(columns, features=datasets.Features(features))
    datasets.DatasetDict({split: table}).save_to_disk(str(folder))
    return folder


@pytest.fixture(scope="module")
def saved_dataset(tmp_path_factory, image_folder):
    return save_folder_as_dataset(build_dataset(str(image_folder)), tmp_path_factory.mktemp("hf") / "saved")


def test_same_samples_and_classes_as_the_folder(saved_dataset, image_folder, caplog):
    with caplog.at_level(logging.INFO, logger="lut.data"):
        saved = build_dataset(str(saved_dataset))
    assert f"data {saved_dataset}: Hugging Face data set (split train), 40 images from column 'img', labels from " \
           "column 'fine_label' (2 classes)" in caplog.messages
    folder = build_dataset(str(image_folder))
    assert len(saved) == len(folder) == 40 and saved.classes == folder.classes == ["a", "b"]
    for index in range(len(folder)):
        (saved_image, saved_label), (folder_image, folder_label) = saved[index], folder[index]
        assert saved_image.mode == "RGB" and saved_label == folder_label
        assert np.array_equal(np.asarray(saved_image), np.asarray(folder_image)), index


def test_ranks_get_disjoint_reproducible_shares(saved_dataset):
    saved = build_dataset(str(saved_dataset))

    def shares(seed: int, epoch: int) -> list[list[int]]:
        result = []
        for rank in (0, 1):
            sampler = ShardedEpochSampler(len(saved), 2, rank, seed)
            sampler.set_epoch(epoch)
            result.append([index for index, _ in sampler])
        return result

    first, second = shares(0, 0)
    assert len(first) == len(second) == 20 and sorted(first + second) == list(range(40))
    assert shares(0, 0) == [first, second] and shares(1, 0) != [first, second] and shares(0, 1) != [first, second]


def test_pretraining_on_the_saved_dataset_equals_pretraining_on_the_folder(saved_dataset, image_folder, tmp_path,
                                                                          tiny_lut_run):
    values = tiny_values(image_folder, tmp_path / "saved", max_steps=3)  # the settings of tiny_lut_run
    pretrain(build_config({**values, "data": str(saved_dataset)}))
    folder, saved = (load_checkpoint(run / LAST_CHECKPOINT) for run in (tiny_lut_run, tmp_path / "saved"))
    assert folder["step"] == saved["step"] == 3
    for part in ("model", "model_ema"):
        assert all(torch.equal(saved[part][key], value) for key, value in folder[part].items()), part


def test_unlabelled_data_and_a_missing_split(image_folder, tmp_path):
    source = build_dataset(str(image_folder))
    unlabelled = build_dataset(str(save_folder_as_dataset(source, tmp_path / "unlabelled", labelled=False)))
    assert unlabelled.classes == [] and unlabelled[0][1] == -1
    only_test = save_folder_as_dataset(source, tmp_path / "only_test", split="validation")
    assert len(build_dataset(str(only_test), "test")) == 40  # "validation" serves as the test split
    with pytest.raises(UsageError, match=rf"^{tmp_path / 'only_test'} has the splits validation, none of them a "
                                         "train split$"):
        build_dataset(str(only_test), "train")
