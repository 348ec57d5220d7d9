"""Every transfer data-set reader on a tiny copy of its release layout: exact labels, classes and splits."""

import logging
import os
from pathlib import Path

import imagenet_layouts
import pytest
import transfer_layouts as layouts

from lut.data.labelled import labelled_splits
from lut.data.sources import ImageFolderSource
from lut.errors import DataNotFoundError, UsageError
from lut.transfer.registry import official_splits, open_transfer_set
from lut.transfer.splits import split_labels


@pytest.fixture
def no_checksums(monkeypatch):
    """The fixtures' files are not the releases: torchvision's MD5 checks become presence checks."""
    import torchvision.datasets.cifar as cifar
    import torchvision.datasets.flowers102 as flowers102

    def present(path, md5=None) -> bool:
        return os.path.isfile(path)

    monkeypatch.setattr(cifar, "check_integrity", present)
    monkeypatch.setattr(flowers102, "check_integrity", present)


def labels_of(splits: dict) -> dict[str, list[int]]:
    return {name: split_labels(split) for name, split in splits.items()}


def file_names(split: ImageFolderSource) -> list[str]:
    return [path.name for path, _ in split.samples]


def test_cifar10_and_cifar100(tmp_path, no_checksums):
    layouts.cifar(tmp_path)
    splits, metric, _ = official_splits("cifar10", tmp_path)
    assert labels_of(splits) == {"train": [0, 9, 1, 9, 2, 9, 3, 9, 4, 9], "test": [3, 3, 7]}
    assert len(splits["train"].classes) == 10 and metric == "top1"
    layouts.cifar(tmp_path, hundred=True)
    splits, _, _ = official_splits("cifar100", tmp_path)
    assert labels_of(splits) == {"train": [0, 1, 2, 2, 99], "test": [5, 6]}
    assert len(splits["train"].classes) == 100


def test_flowers102(tmp_path, no_checksums):
    layouts.flowers(tmp_path)
    splits, metric, _ = official_splits("flowers102", tmp_path)
    assert labels_of(splits) == {"train": [0, 1], "val": [0, 1], "test": [2, 101]}
    assert file_names(splits["test"]) == ["image_00005.jpg", "image_00006.jpg"]
    assert len(splits["train"].classes) == 102 and metric == "class_mean"


def test_aircraft(tmp_path):
    layouts.aircraft(tmp_path)
    splits, metric, _ = official_splits("aircraft", tmp_path)
    assert labels_of(splits) == {"train": [0, 1, 2], "val": [0, 1, 2], "test": [0, 1, 2]}
    assert splits["val"].classes == ["707-320", "A320", "Cessna 172"]
    assert file_names(splits["test"]) == ["1020.jpg", "1021.jpg", "1022.jpg"] and metric == "class_mean"


def test_oxford_pets(tmp_path):
    layouts.pets(tmp_path)
    splits, metric, _ = official_splits("pets", tmp_path)
    assert labels_of(splits) == {"train": [0, 1, 0], "test": [2]}
    assert splits["train"].classes == ["Abyssinian", "American Bulldog", "Boxer"] and metric == "class_mean"


def test_stanford_cars(tmp_path):
    layouts.cars(tmp_path)
    splits, metric, _ = official_splits("cars", tmp_path)
    assert labels_of(splits) == {"train": [0, 2], "test": [1, 0]}
    assert splits["train"].classes == ["AM General Hummer", "Acura RL", "Audi TT"] and metric == "top1"
    assert [path.parent.name for path, _ in splits["test"].samples] == ["cars_test"] * 2


def test_dtd(tmp_path):
    layouts.dtd(tmp_path)
    splits, _, notes = official_splits("dtd", tmp_path)
    # val1.txt lists only zigzagged: its label follows the class folders, not the list's own classes.
    assert labels_of(splits) == {"train": [0, 2], "val": [2], "test": [0, 2]}
    assert splits["val"].classes == ["banded", "perforated", "zigzagged"] and notes == []


def test_food101(tmp_path):
    layouts.food(tmp_path)
    splits, _, _ = official_splits("food101", tmp_path)
    assert labels_of(splits) == {"train": [0, 0, 1], "test": [1]}
    assert splits["train"].classes == ["apple_pie", "ramen"]


@pytest.mark.parametrize(("name", "version"), [("inat2021", "2021_train"), ("inat2021_mini", "2021_train_mini")])
def test_inaturalist_2021(tmp_path, name, version):
    layouts.inat_2021(tmp_path, version)
    splits, _, _ = official_splits(name, tmp_path)
    assert labels_of(splits) == {"train": [0, 0, 1], "test": [0, 1]}
    assert splits["train"].classes == layouts.INAT_2021_CLASSES
    assert {path.parent.parent.name for path, _ in splits["test"].samples} == {"2021_valid"}


@pytest.mark.parametrize("year", ["2017", "2018", "2019"])
def test_inaturalist_json(tmp_path, year):
    layouts.inat_json(tmp_path, year)
    splits, _, _ = official_splits(f"inat{year}", tmp_path)
    # Category ids 0 and 5 become labels 0 and 1; images in id order (3, 7, 9).
    assert labels_of(splits) == {"train": [1, 0, 0], "test": [1]}
    assert splits["train"].classes == ["Turdus merula", "Rosa canina"]
    assert file_names(splits["train"]) == ["3.jpg", "7.jpg", "9.jpg"]


@pytest.mark.parametrize("year", ["2018", "2019"])
def test_inaturalist_names_come_from_categories_json(tmp_path, year, caplog):
    layouts.inat_json(tmp_path, year, obfuscated=True)
    with caplog.at_level(logging.INFO, logger="lut"):
        splits, _, _ = official_splits(f"inat{year}", tmp_path)
    assert splits["train"].classes == ["Turdus merula", "Rosa canina"]
    assert labels_of(splits) == {"train": [1, 0, 0], "test": [1]}
    assert f"inat{year}: class names read from {tmp_path / f'inat{year}' / 'categories.json'}" in caplog.text


@pytest.mark.parametrize("partitions", ["SUN397", "SUN397/Partitions", "Partitions"])
def test_sun397_official_partition(tmp_path, partitions):
    folder = layouts.sun397(tmp_path, partitions)
    splits, metric, notes = official_splits("sun397", tmp_path)
    assert labels_of(splits) == {"train": [0, 0, 1, 2], "test": [0, 1, 2]}
    assert splits["train"].classes == ["abbey", "apartment_building/outdoor", "bakery/shop"] and metric == "top1"
    assert [path.relative_to(folder).as_posix() for path, _ in splits["test"].samples] == [
        "a/abbey/sun_ac.jpg", "a/apartment_building/outdoor/sun_bb.jpg", "b/bakery/shop/sun_cb.jpg"]
    assert notes == ["sun397: the official partition 1 (Training_01.txt, Testing_01.txt)"]


def test_sun397_without_partitions_is_one_line(tmp_path):
    layouts.sun397(tmp_path, "elsewhere")
    with pytest.raises(UsageError, match=r"sun397: no Training_01.txt in .*Partitions.zip holds it"):
        official_splits("sun397", tmp_path)


def test_cub200(tmp_path):
    layouts.bird_release(tmp_path, "CUB_200_2011", ["1", "2", "3", "4"], ["1", "2", "2", "3"], ["1", "0", "1", "0"])
    splits, _, _ = official_splits("cub200", tmp_path)
    assert labels_of(splits) == {"train": [0, 1], "test": [1, 2]}
    assert splits["train"].classes == ["Bird 1", "Bird 2", "Bird 3"]
    assert file_names(splits["test"]) == ["2.jpg", "4.jpg"]


def test_nabirds_leaf_classes(tmp_path):
    """NABirds' class ids skip the hierarchy's inner nodes: the ids that label images become 0..K-1."""
    ids = ["0a1b-2c", "ff00-11", "9d9d-33"]
    layouts.bird_release(tmp_path, "nabirds", ids, ["817", "295", "817"], ["1", "1", "0"])
    splits, _, _ = official_splits("nabirds", tmp_path)
    assert labels_of(splits) == {"train": [1, 0], "test": [1]}
    assert splits["train"].classes == ["Bird 295", "Bird 817"]


def test_stanford_dogs(tmp_path):
    layouts.stanford_dogs(tmp_path)
    splits, _, _ = official_splits("stanford_dogs", tmp_path)
    assert labels_of(splits) == {"train": [0, 1], "test": [1]}
    assert splits["train"].classes == ["n02085620-Chihuahua", "n02085936-Maltese_dog"]
    image, label = splits["test"][0]
    assert image.size == (8, 8) and image.mode == "RGB" and label == 1


def write_tree(root: Path, splits: dict[str, list[str]]) -> Path:
    for split, classes in splits.items():
        for name in classes:
            for index in range(2):
                layouts.write_image(root / split / name / f"{index}.png")
    return root


def test_class_folder_tree_with_test(tmp_path):
    root = write_tree(tmp_path / "tree", {"train": ["cat", "dog"], "val": ["dog"], "test": ["cat", "dog"]})
    splits, _, notes = official_splits(str(root), tmp_path)
    assert labels_of(splits) == {"train": [0, 0, 1, 1], "val": [1, 1], "test": [0, 0, 1, 1]}
    assert notes == []


def test_class_folder_tree_without_test_holds_out_validation(tmp_path):
    root = write_tree(tmp_path / "tree", {"train": ["cat", "dog"], "val": ["cat", "dog"]})
    splits = open_transfer_set(str(root), tmp_path, tmp_path / "holdout.json", val_fraction=0.5, seed=0)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (2, 2, 4)
    assert sorted(split_labels(splits.val)) == [0, 1]
    assert splits.notes[0] == f"{root} has no labelled test/: val/ is the test split"
    assert "saved a new stratified hold-out of 2 training images" in splits.notes[1]


def test_fashion_mnist_hold_out(tmp_path):
    """The installed Fashion-MNIST: 10 % of each class (600 of 6000) held out, the test split untouched."""
    splits = open_transfer_set("fashion-mnist", tmp_path, tmp_path / "holdout.json", val_fraction=0.1, seed=0)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (54000, 6000, 10000)
    val_labels = split_labels(splits.val)
    assert [val_labels.count(label) for label in range(10)] == [600] * 10


def test_unknown_name_lists_the_known_sets(tmp_path):
    with pytest.raises(UsageError, match=r"unknown transfer data set 'imagenet-z'.*nabirds, stanford_dogs, sun397"):
        official_splits("imagenet-z", tmp_path)


def test_folder_in_no_known_layout(tmp_path):
    root = write_tree(tmp_path / "tree", {"val": ["cat", "dog"], "test": ["cat"]})
    with pytest.raises(UsageError, match=r"in none of the known layouts \(val/, test/, no labelled training images\); "
                                         r"expected one folder of images per class, or train/ \(and val/, test/\)"):
        official_splits(str(root), tmp_path)


def write_loose(folder: Path, count: int) -> None:
    for index in range(count):
        layouts.write_image(folder / f"loose_{index}.jpg")


@pytest.mark.parametrize("unlabelled", ["test", "val"])
def test_unlabelled_evaluation_folder_is_not_a_split(tmp_path, unlabelled):
    """test/ (or val/) of loose images: not an evaluation split; the labelled one is the test split."""
    labelled = "val" if unlabelled == "test" else "test"
    root = write_tree(tmp_path / "tree", {"train": ["cat", "dog"], labelled: ["dog", "cat"]})
    write_loose(root / unlabelled, 3)
    splits, _, notes = official_splits(str(root), tmp_path)
    assert labels_of(splits) == {"train": [0, 0, 1, 1], "test": [0, 0, 1, 1]}
    assert splits["test"].root == root / labelled
    assert notes[0] == f"{root / unlabelled} holds unlabelled images: it is not an evaluation split"


def test_kaggle_imagenet_root_tests_on_the_labelled_val(tmp_path):
    cls_loc = imagenet_layouts.kaggle(tmp_path)
    splits, _, notes = official_splits(str(cls_loc), tmp_path)
    assert (len(splits["train"]), len(splits["test"])) == (10, 5)
    assert splits["test"].root == cls_loc / "val"
    assert notes == [f"{cls_loc / 'test'} holds unlabelled images: it is not an evaluation split",
                     f"{cls_loc} has no labelled test/: val/ is the test split"]


def test_folder_without_splits_holds_out_the_fixed_fifth(tmp_path):
    """Class folders only: the test split is the fifth every command holds out (the same images as lut knn's)."""
    root = tmp_path / "flat"
    for name in ("cat", "dog"):
        for index in range(5):
            layouts.write_image(root / name / f"{index}.png")
    splits, _, notes = official_splits(str(root), tmp_path)
    knn = labelled_splits(str(root), download=False)
    assert (len(splits["train"]), len(splits["test"])) == (8, 2)
    assert splits["test"].samples == knn.test.samples and splits["train"].samples == knn.train.samples
    assert notes == [f"{root} has no labelled test split: holding out 2 of its 10 images for testing (the fixed fifth "
                     "every command holds out, never trained on)"]
    opened = open_transfer_set(str(root), tmp_path, tmp_path / "holdout.json", val_fraction=0.25)
    assert (len(opened.train), len(opened.val), len(opened.test)) == (6, 2, 2)


def test_train_beside_an_unlabelled_test_holds_out_a_fifth_of_train(tmp_path):
    root = write_tree(tmp_path / "tree", {"train": ["cat", "dog", "eel", "fox", "gnu"]})
    write_loose(root / "test", 2)
    splits, _, notes = official_splits(str(root), tmp_path)
    assert (len(splits["train"]), len(splits["test"])) == (8, 2)
    assert notes[1].startswith(f"{root / 'train'} has no labelled test split: holding out 2 of its 10 images")


def test_missing_set_folder_says_what_is_expected(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"cub200: no folder .*CUB_200_2011; expected it to hold images/"):
        official_splits("cub200", tmp_path)


def test_broken_release_files_are_one_line(tmp_path):
    layouts.bird_release(tmp_path, "CUB_200_2011", ["1", "2"], ["1", "2"], ["1", "0"])
    (tmp_path / "CUB_200_2011" / "train_test_split.txt").write_text("1 1\n")  # image 2 missing
    with pytest.raises(UsageError, match=r"cub200: cannot read .*KeyError"):
        official_splits("cub200", tmp_path)


def test_caltech101_draws_30_per_class_for_training(tmp_path):
    """torchvision's classes (sorted, upper case first; BACKGROUND_Google left out, Faces and Faces_easy apart);
    30 images of each class are the training split, the other 1, 3 and 5 the test split."""
    layouts.caltech101(tmp_path)
    splits, metric, notes = official_splits("caltech101", tmp_path)
    assert splits["train"].classes == ["Faces", "Faces_easy", "accordion"] and metric == "class_mean"
    labels = labels_of(splits)
    assert [labels["train"].count(label) for label in range(3)] == [30, 30, 30]
    assert [labels["test"].count(label) for label in range(3)] == [1, 3, 5]
    train, test = ({(path.parent.name, path.name) for path, _ in splits[name].samples} for name in ("train", "test"))
    every = {(name, f"image_{number:04d}.jpg") for name, count in layouts.CALTECH101_COUNTS.items()
             for number in range(1, count + 1) if name != "BACKGROUND_Google"}
    assert not train & test and train | test == every
    assert all(splits["train"].classes[label] == path.parent.name for path, label in splits["test"].samples)
    assert notes == ["caltech101 has no official split: 30 images of every class (drawn with seed 0) are the "
                     "training split, the rest the test split; BACKGROUND_Google is not a class (as in torchvision)"]


def test_caltech101_split_is_fixed_and_the_hold_out_follows_the_seed(tmp_path):
    """The test split is the same for every run and seed; the 10 % hold-out (3 of 30 per class) is seeded."""
    layouts.caltech101(tmp_path)
    opened = [open_transfer_set("caltech101", tmp_path, tmp_path / f"holdout{seed}.json", seed=seed)
              for seed in (0, 0, 1)]
    assert [(len(split.train), len(split.val), len(split.test)) for split in opened] == [(81, 9, 9)] * 3
    assert opened[0].test.samples == opened[1].test.samples == opened[2].test.samples
    assert opened[0].val.samples == opened[1].val.samples != opened[2].val.samples
    assert sorted(split_labels(opened[0].val)) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert "reusing the stratified hold-out of 9 training images" in opened[1].notes[1]


def test_caltech101_bg_without_background_is_one_line(tmp_path):
    layouts.caltech101(tmp_path, {"Faces": 31, "accordion": 31})
    assert len(official_splits("caltech101", tmp_path)[0]["train"]) == 60
    with pytest.raises(UsageError, match=r"caltech101_bg: cannot read .*ValueError: no BACKGROUND_Google/ in .*"
                                         r"expected 101_ObjectCategories/ .*BACKGROUND_Google/"):
        official_splits("caltech101_bg", tmp_path)


def test_caltech101_as_the_release_extracts_leaves_out_the_stray_tmp(tmp_path, caplog):
    """`caltech-101/` with `BACKGROUND_Google/tmp`: the same split as torchvision's layout, the stray file said."""
    counts = {**layouts.CALTECH101_COUNTS, "BACKGROUND_Google": 32}
    layouts.caltech101(tmp_path / "torchvision", counts)
    folder = layouts.caltech101(tmp_path / "release", counts, release=True)
    torchvision_layout, _, _ = official_splits("caltech101_bg", tmp_path / "torchvision")
    with caplog.at_level(logging.INFO, logger="lut"):
        splits, _, notes = official_splits("caltech101_bg", tmp_path / "release")
    assert labels_of(splits) == labels_of(torchvision_layout)
    assert [len(splits[name]) for name in ("train", "test")] == [120, 11]
    assert notes[-1] == (f"caltech101_bg: reading {tmp_path / 'release' / 'caltech-101'} as the release extracts it "
                         "(torchvision's layout names it caltech101/)")
    assert (f"caltech101: 1 file(s) that are not numbered images (image_0001.jpg ..) are left out, e.g. "
            f"{folder / 'BACKGROUND_Google' / 'tmp'}") in caplog.text


def test_dtd_as_the_release_extracts(tmp_path):
    """`dtd/images` and `dtd/labels` without torchvision's extra `dtd/`: the same labels, said in one line."""
    layouts.dtd(tmp_path, nested=False)
    splits, _, notes = official_splits("dtd", tmp_path)
    assert labels_of(splits) == {"train": [0, 2], "val": [2], "test": [0, 2]}
    assert splits["train"].classes == ["banded", "perforated", "zigzagged"]
    assert notes == [f"dtd: reading {tmp_path / 'dtd'} as the release extracts it (torchvision's layout names it "
                     "dtd/dtd/)"]


@pytest.mark.parametrize(("name", "train"), [("inat2021", "train"), ("inat2021_mini", "train_mini")])
def test_inaturalist_2021_as_the_release_extracts(tmp_path, name, train):
    layouts.inat_2021(tmp_path, train, valid="val")
    splits, _, notes = official_splits(name, tmp_path)
    assert labels_of(splits) == {"train": [0, 0, 1], "test": [0, 1]}
    assert splits["train"].classes == layouts.INAT_2021_CLASSES
    assert {path.parent.parent.name for path, _ in splits["test"].samples} == {"val"}
    assert notes[0].startswith(f"{name}: reading {tmp_path / train} as the release extracts it")


def test_caltech101_bg_adds_the_background_as_the_last_class_and_keeps_the_object_split(tmp_path):
    """caltech101_bg: BACKGROUND_Google is class 3 here (101 on the release), 30 of its 32 images train; the object
    classes keep their labels and their train and test images."""
    layouts.caltech101(tmp_path, {**layouts.CALTECH101_COUNTS, "BACKGROUND_Google": 32})
    plain, _, _ = official_splits("caltech101", tmp_path)
    splits, metric, notes = official_splits("caltech101_bg", tmp_path)
    assert splits["train"].classes == ["Faces", "Faces_easy", "accordion", "BACKGROUND_Google"]
    assert metric == "class_mean"
    labels = labels_of(splits)
    assert [labels["train"].count(label) for label in range(4)] == [30, 30, 30, 30]
    assert [labels["test"].count(label) for label in range(4)] == [1, 3, 5, 2]
    for name in ("train", "test"):
        objects = [(path, label) for path, label in splits[name].samples if label < 3]
        assert objects == plain[name].samples
        assert {path.parent.name for path, label in splits[name].samples if label == 3} == {"BACKGROUND_Google"}
    background = {path.name for name in ("train", "test") for path, label in splits[name].samples if label == 3}
    assert background == {f"image_{number:04d}.jpg" for number in range(1, 33)}
    assert notes == ["caltech101_bg has no official split: 30 images of every class (drawn with seed 0) are the "
                     "training split, the rest the test split; BACKGROUND_Google is class 101, the last of 102 (as "
                     "TensorFlow Datasets counts them)"]
