"""ImageNet as its releases extract: the flat validation folder labelled from the devkit or Kaggle's CSV, and a
train/ val/ test/ root whose test/ is unlabelled."""

import logging

import imagenet_layouts as imagenet
import pytest

from lut.data.labelled import labelled_splits
from lut.data.sources import build_dataset, image_folder
from lut.errors import UsageError

# the five validation images' wnids, in file order, as labels among their sorted wnids
WNIDS_IN_FILE_ORDER = [wnid for _, (_, wnid) in sorted(imagenet.FIRST_VAL.items())]
LABELS = [imagenet.VAL_WNIDS.index(wnid) for wnid in WNIDS_IN_FILE_ORDER]


def test_flat_val_reads_the_devkit_ground_truth_and_meta(tmp_path, caplog):
    imagenet.devkit(tmp_path)
    imagenet.flat_val(tmp_path / "val")
    with caplog.at_level(logging.INFO, logger="lut"):
        source = image_folder(tmp_path / "val")
    assert source.classes == ["n01751748", "n02105855", "n03125729", "n04263257", "n09193705"]
    assert [label for _, label in source.samples] == [0, 4, 1, 3, 2] == LABELS
    assert [source.classes[label] for _, label in source.samples] == WNIDS_IN_FILE_ORDER
    assert "the labels of its 5 ImageNet validation images (5 classes) are read from" in caplog.text
    assert "ILSVRC2012_validation_ground_truth.txt" in caplog.text


def test_flat_val_reads_kaggles_solution_csv(tmp_path):
    cls_loc = imagenet.kaggle(tmp_path)
    source = image_folder(cls_loc / "val")
    assert [source.classes[label] for _, label in source.samples] == WNIDS_IN_FILE_ORDER


def test_flat_val_without_ground_truth_stays_unlabelled(tmp_path):
    imagenet.flat_val(tmp_path / "val")
    assert image_folder(tmp_path / "val").classes == []


def test_flat_val_file_missing_from_the_ground_truth_is_one_line(tmp_path):
    imagenet.devkit(tmp_path)
    imagenet.flat_val(tmp_path / "val", [1, 2, 9])
    with pytest.raises(UsageError, match=r"1 image\(s\) are not in .*ground_truth.txt, e.g. ILSVRC2012_val_00000009"):
        image_folder(tmp_path / "val")


@pytest.mark.parametrize("val_in_class_folders", [False, True])
def test_unlabelled_test_makes_the_labelled_val_the_evaluation_split(tmp_path, caplog, val_in_class_folders):
    cls_loc = imagenet.kaggle(tmp_path, val_in_class_folders)
    with caplog.at_level(logging.INFO, logger="lut"):
        evaluation = build_dataset(str(cls_loc), "test")
    assert evaluation.root == cls_loc / "val"
    assert sorted((path.name, evaluation.classes[label]) for path, label in evaluation.samples) == [
        (f"ILSVRC2012_val_{number:08d}.JPEG", wnid) for number, (_, wnid) in sorted(imagenet.FIRST_VAL.items())]
    assert caplog.text.count("test/ holds unlabelled images and val/ is labelled: val/ is the evaluation split") == 1


def test_labelled_test_stays_the_evaluation_split(tmp_path):
    for split in ("train", "val", "test"):
        imagenet.write_image(tmp_path / split / "n01751748" / f"{split}.JPEG")
    assert build_dataset(str(tmp_path), "test").root == tmp_path / "test"


def test_knn_splits_of_the_kaggle_root_test_on_val(tmp_path):
    cls_loc = imagenet.kaggle(tmp_path)
    splits = labelled_splits(str(cls_loc), download=False)
    assert (len(splits.train), len(splits.test)) == (10, 5)
    assert splits.classes == imagenet.VAL_WNIDS
    assert [label for _, label in splits.test.samples] == LABELS
