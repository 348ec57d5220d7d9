"""A Hugging Face `save_to_disk` folder or `hf:NAME` (parquet files) as `data=`: the very samples of the image
folder it was made from, the same per-rank shares, and the same pre-training, bit for bit; the columns chosen by
`image_column`/`label_column`, exact one-line errors for wrong columns and for a name neither cached nor reachable."""

import logging

import numpy as np
import pytest
import torch
from helpers import tiny_values

from lut.config import build_config
from lut.data.sampling import ShardedEpochSampler
from lut.data.sources import build_dataset
from lut.errors import UsageError
from lut.runtime.checkpoint import LAST_CHECKPOINT, load_checkpoint
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


def test_a_run_opening_its_data_three_times_says_so_once(image_folder, tmp_path, caplog):
    saved = save_folder_as_dataset(build_dataset(str(image_folder)), tmp_path / "saved")
    with caplog.at_level(logging.INFO, logger="lut.data"):
        for _ in range(3):  # the training images, the k-NN monitor's memory and the figures' images
            build_dataset(str(saved))
    assert caplog.messages == [f"data {saved}: Hugging Face data set (split train), 40 images from column 'img', "
                               "labels from column 'fine_label' (2 classes)"]


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


def save_with_extra_columns(source, folder):
    """`source` with two image columns (`img`, and `thumb`: the next row's image) and three label columns
    (`fine_label`, `remainder`: the row index mod 3 of classes r0-r2, `index`: a plain integer), as train and test."""
    import datasets

    paths = [str(path) for path, _ in source.samples]
    columns = {"img": paths, "thumb": paths[1:] + paths[:1], "fine_label": [label for _, label in source.samples],
               "remainder": [index % 3 for index in range(len(paths))], "index": list(range(len(paths)))}
    features = datasets.Features({"img": datasets.Image(), "thumb": datasets.Image(),
                                  "fine_label": datasets.ClassLabel(names=source.classes),
                                  "remainder": datasets.ClassLabel(names=["r0", "r1", "r2"]),
                                  "index": datasets.Value("int64")})
    table = datasets.Dataset.from_dict(columns, features=features)
    datasets.DatasetDict({"train": table, "test": table}).save_to_disk(str(folder))
    return folder


COLUMNS = "img (Image), thumb (Image), fine_label (ClassLabel), remainder (ClassLabel), index (Value(int64))"


@pytest.fixture(scope="module")
def multi_column(tmp_path_factory, image_folder):
    return save_with_extra_columns(build_dataset(str(image_folder)), tmp_path_factory.mktemp("hf") / "multi")


def assert_rotated_samples(dataset, folder, count: int = 40):
    """`dataset` holds row i's `thumb` (the folder's image i + 1) labelled i mod 3."""
    for index in range(count):
        image, label = dataset[index]
        assert label == index % 3, index
        assert np.array_equal(np.asarray(image), np.asarray(folder[(index + 1) % len(folder)][0])), index


def test_chosen_image_and_label_columns(multi_column, image_folder, caplog):
    with caplog.at_level(logging.INFO, logger="lut.data"):
        detected = build_dataset(str(multi_column))
        chosen = build_dataset(str(multi_column), image_column="thumb", label_column="remainder")
    assert caplog.messages == [
        f"data {multi_column}: Hugging Face data set (split train), 40 images from column 'img', labels from column "
        "'fine_label' (2 classes)",
        f"data {multi_column}: Hugging Face data set (split train), 40 images from column 'thumb', labels from column "
        "'remainder' (3 classes)",
    ]
    assert detected.classes == ["a", "b"] and chosen.classes == ["r0", "r1", "r2"]
    assert_rotated_samples(chosen, build_dataset(str(image_folder)))


@pytest.mark.parametrize("columns, message", [
    ({"image_column": "photo"}, "image_column=photo: {data} has no such column (columns: {columns})"),
    ({"label_column": "label"}, "label_column=label: {data} has no such column (columns: {columns})"),
    ({"image_column": "fine_label"}, "image_column=fine_label: column 'fine_label' of {data} does not hold images "
                                     "(needs a datasets.Image feature); columns: {columns}"),
    ({"label_column": "index"}, "label_column=index: column 'index' of {data} does not hold class labels (needs "
                                "a datasets.ClassLabel feature); columns: {columns}"),
    ({"label_column": "thumb"}, "label_column=thumb: column 'thumb' of {data} does not hold class labels (needs "
                                "a datasets.ClassLabel feature); columns: {columns}"),
])
def test_a_missing_or_wrong_column_is_one_line_with_the_columns(multi_column, columns, message):
    with pytest.raises(UsageError) as raised:
        build_dataset(str(multi_column), **columns)
    assert str(raised.value) == message.format(data=multi_column, columns=COLUMNS)


def test_columns_of_data_that_is_not_a_hugging_face_data_set(image_folder):
    with pytest.raises(UsageError, match=r"^image_column and label_column choose columns of a Hugging Face data "
                                         rf"set; '{image_folder}' is not one \(leave them empty\)$"):
        build_dataset(str(image_folder), label_column="fine_label")


def test_config_columns_reach_the_training_images_the_figures_and_the_knn_monitor(multi_column, image_folder,
                                                                                  tmp_path):
    from lut.runtime.distributed import DistributedContext
    from lut.training.final_report import build_knn_monitor, figure_images
    from lut.training.pretrain_data import build_pretrain_data

    config = build_config({**tiny_values(multi_column, tmp_path, num_visualize=2), "image_column": "thumb",
                           "label_column": "remainder"})
    folder = build_dataset(str(image_folder))
    assert_rotated_samples(build_pretrain_data(config, DistributedContext()).loader.dataset.base, folder)
    figures = figure_images(config)  # rows 0 and 1, of classes r0 and r1: the folder's images 1 and 2
    assert [np.asarray(image).tolist() for image in figures] == [np.asarray(folder[i][0]).tolist() for i in (1, 2)]
    monitor = build_knn_monitor(config)
    assert monitor.num_classes == 3 and len(monitor.train) == len(monitor.test) == 40


def save_as_parquet(saved_folder, folder, files: int = 1):
    """The splits of a `save_to_disk` folder as the parquet files of a hub data set's repository, `files` per split
    (consecutive rows)."""
    import datasets

    for split, table in datasets.load_from_disk(str(saved_folder)).items():
        for index in range(files):
            part = table.shard(files, index, contiguous=True)
            part.to_parquet(str(folder / "data" / f"{split}-{index:05d}-of-{files:05d}.parquet"))
    return folder


@pytest.fixture
def offline_cache(tmp_path, monkeypatch):
    """No network, and `datasets`' cache in `tmp_path`."""
    import datasets

    for variable in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.setenv(variable, "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    return tmp_path / "cache"


def test_a_data_set_by_name_gives_the_samples_of_its_files(multi_column, image_folder, tmp_path, offline_cache,
                                                           caplog):
    repository = save_as_parquet(multi_column, tmp_path / "repository")
    with caplog.at_level(logging.INFO, logger="lut.data"):
        test_split = build_dataset(f"hf:{repository}:default", "val", image_column="thumb", label_column="remainder")
        train_split = build_dataset(f"hf:{repository}")
    assert caplog.messages == [
        f"data hf:{repository}:default: Hugging Face data set (split test), 40 images from column 'thumb', labels "
        "from column 'remainder' (3 classes)",
        f"data hf:{repository}: Hugging Face data set (split train), 40 images from column 'img', labels from "
        "column 'fine_label' (2 classes)",
    ]
    folder = build_dataset(str(image_folder))
    assert_rotated_samples(test_split, folder)
    assert train_split.classes == folder.classes
    for index in range(len(folder)):
        assert train_split[index][1] == folder[index][1]
        assert np.array_equal(np.asarray(train_split[index][0]), np.asarray(folder[index][0])), index
    assert any(offline_cache.iterdir())  # the arrow tables went to the cache, not the user's
    with pytest.raises(UsageError) as raised:
        build_dataset(f"hf:{repository}", label_column="index")
    assert str(raised.value) == (f"label_column=index: column 'index' of hf:{repository} does not hold class labels "
                                 f"(needs a datasets.ClassLabel feature); columns: {COLUMNS}")
    with pytest.raises(UsageError, match=rf"^data hf:{repository}:nope: datasets.load_dataset could not open it "
                                         r"\(BuilderConfig 'nope' not found. Available: \['default'\]\)$"):
        build_dataset(f"hf:{repository}:nope")


def test_a_name_neither_cached_nor_reachable_is_one_line_and_exit_2(tmp_path, offline_cache, capsys):
    from lut.cli import main

    assert main(["data", "pack", "hf:nobody/no-such-set", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        "lut: error: data hf:nobody/no-such-set: datasets.load_dataset could not open it (Couldn't reach "
        "'nobody/no-such-set' on the Hub (OfflineModeIsEnabled)); a name must be in the Hugging Face cache or on the "
        "network\n"
    )
