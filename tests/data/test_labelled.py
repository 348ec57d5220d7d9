"""Labelled splits for the evaluations: a data set must name at least two classes."""

import numpy as np
import pytest
from PIL import Image

from lut.data.labelled import labelled_splits
from lut.errors import UsageError


def test_a_single_class_folder_is_refused(tmp_path):
    (tmp_path / "one" / "only").mkdir(parents=True)
    for index in range(4):
        Image.fromarray(np.full((8, 8, 3), index * 40, dtype=np.uint8)).save(tmp_path / "one" / "only" / f"{index}.png")
    with pytest.raises(UsageError) as error:
        labelled_splits(str(tmp_path / "one"))
    assert str(error.value) == f"{tmp_path / 'one'} has 1 class (only): classification needs at least 2"


def write_colour(path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((4, 4, 3), value, dtype=np.uint8)).save(path)


def test_a_bad_held_out_image_is_replaced_by_a_held_out_one(tmp_path):
    # 2 classes x 10 images of distinct grey levels, every other one an empty file: the held-out split gets 4.
    for index in range(20):
        path = tmp_path / "data" / "ab"[index % 2] / f"{index:02d}.png"
        if index % 4 < 2:
            write_colour(path, 10 * index)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")
    splits = labelled_splits(str(tmp_path / "data"))
    train_paths = {path for path, _ in splits.train.samples}
    test_paths = {path for path, _ in splits.test.samples}
    assert len(test_paths) == 4 and not train_paths & test_paths
    readable_test_levels = {int(path.stem) * 10 for path in test_paths if path.stat().st_size}
    for index in range(len(splits.test)):
        image, label = splits.test[index]
        level = image.getpixel((0, 0))[0]
        assert level in readable_test_levels  # never a training image
        assert label == (level // 10) % 2  # its own class (a for even, b for odd file numbers)


def test_test_split_classes_are_matched_to_training_classes_by_name(tmp_path):
    for name in ("a", "b", "c"):
        write_colour(tmp_path / "data" / "train" / name / "0.png", 0)
    write_colour(tmp_path / "data" / "val" / "a" / "0.png", 0)
    write_colour(tmp_path / "data" / "val" / "c" / "0.png", 0)
    splits = labelled_splits(str(tmp_path / "data"))
    assert splits.classes == ["a", "b", "c"]
    assert [label for _, label in splits.test.samples] == [0, 2]  # c keeps label 2, not its folder position 1
    assert splits.test.classes == ["a", "b", "c"]
    write_colour(tmp_path / "data" / "val" / "d" / "0.png", 0)
    with pytest.raises(UsageError, match="has classes that the training split lacks: d"):
        labelled_splits(str(tmp_path / "data"))


def test_images_beside_class_folders_are_named_as_the_reason_for_no_labels(tmp_path):
    write_colour(tmp_path / "data" / "a" / "0.png", 0)
    write_colour(tmp_path / "data" / "b" / "0.png", 0)
    write_colour(tmp_path / "data" / "thumb.png", 0)
    with pytest.raises(UsageError, match=r"has no class labels.*\(1 image files lie directly in .*data, e\.g\. "
                                         r"thumb\.png, which makes the whole folder one unlabelled set"):
        labelled_splits(str(tmp_path / "data"))


def test_an_unlabelled_test_split_is_refused(tmp_path):
    write_colour(tmp_path / "data" / "train" / "a" / "0.png", 0)
    write_colour(tmp_path / "data" / "train" / "b" / "0.png", 0)
    write_colour(tmp_path / "data" / "val" / "0.png", 0)
    with pytest.raises(UsageError, match=r"^the test split of .*data has no class labels$"):
        labelled_splits(str(tmp_path / "data"))
