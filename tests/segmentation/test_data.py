from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lut.errors import UsageError
from lut.segmentation.data import IGNORE_INDEX, ade20k_classes, segmentation_source
from lut.segmentation.scenes import GARMENT_THRESHOLD, SCENE_CLASSES, FashionScenes


def write_pair(images: Path, masks: Path, name: str, labels: np.ndarray, image_size: tuple[int, int] | None = None):
    images.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    height, width = image_size or labels.shape
    Image.fromarray(np.full((height, width, 3), 90, np.uint8)).save(images / f"{name}.jpg")
    Image.fromarray(labels).save(masks / f"{name}.png")


def write_ade20k(root: Path, stored: np.ndarray) -> Path:
    release = root / "ADEChallengeData2016"
    for split in ("training", "validation"):
        write_pair(release / "images" / split, release / "annotations" / split, f"ADE_{split}_1", stored)
    return root


def test_ade20k_reduce_zero_label_maps_0_to_ignored_and_k_to_k_minus_1(tmp_path):
    stored = np.array([[0, 1, 2], [150, 37, 0]], dtype=np.uint8)
    source = segmentation_source(str(write_ade20k(tmp_path, stored)), "val")
    _, labels = source[0]
    assert labels.tolist() == [[IGNORE_INDEX, 0, 1], [149, 36, IGNORE_INDEX]]
    assert len(source.classes) == 150 and source.classes[0] == "wall" and source.classes[-1] == "flag"
    assert source.classes == ade20k_classes()


def test_ade20k_value_above_150_is_refused(tmp_path):
    source = segmentation_source(str(write_ade20k(tmp_path, np.array([[151, 1]], dtype=np.uint8))), "train")
    with pytest.raises(UsageError, match=r"values \[151\] outside the 150 classes"):
        source[0]


def write_generic(root: Path, labels: np.ndarray, classes: str = "sky\nsea\nsand\n") -> Path:
    for split in ("train", "val"):
        write_pair(root / "images" / split, root / "masks" / split, "one", labels)
    (root / "classes.txt").write_text(classes)
    return root


def test_generic_layout_keeps_labels_and_maps_the_ignore_value(tmp_path):
    root = write_generic(tmp_path, np.array([[0, 1, 2, 7]], dtype=np.uint8))
    source = segmentation_source(str(root), "train", ignore_index=7)
    _, labels = source[0]
    assert labels.tolist() == [[0, 1, 2, IGNORE_INDEX]]
    assert source.classes == ["sky", "sea", "sand"]


@pytest.mark.parametrize("problem, message", [
    ("value", r"values \[5\] outside the 3 classes \(0..2\)"),
    ("size", "is 4x1 px but its image"),
    ("rgb", "has mode RGB"),
])
def test_bad_masks_are_refused_with_the_file_named(tmp_path, problem, message):
    root = write_generic(tmp_path, np.array([[0, 1, 2, 5 if problem == "value" else 0]], dtype=np.uint8))
    mask = root / "masks" / "train" / "one.png"
    if problem == "size":
        write_pair(root / "images" / "train", root / "masks" / "train", "one", np.zeros((1, 4), np.uint8), (3, 3))
    if problem == "rgb":
        Image.fromarray(np.zeros((1, 4, 3), np.uint8)).save(mask)
    with pytest.raises(UsageError, match=message) as error:
        segmentation_source(str(root), "train")[0]  # sizes and modes when the split is opened, values when read
    assert "one.png" in str(error.value)


@pytest.mark.parametrize("problem, message", [
    ("size", "mask {mask} is 4x1 px but its image {image} is 3x3 px"),
    ("rgb", "mask {mask} has mode RGB; masks must be single-channel label images"),
])
def test_every_pair_is_checked_when_the_split_is_opened(tmp_path, problem, message):
    root = write_generic(tmp_path, np.zeros((1, 4), np.uint8))
    images, masks = root / "images" / "val", root / "masks" / "val"
    write_pair(images, masks, "two", np.zeros((1, 4), np.uint8), (3, 3) if problem == "size" else None)
    if problem == "rgb":
        Image.fromarray(np.zeros((1, 4, 3), np.uint8)).save(masks / "two.png")
    segmentation_source(str(root), "train")  # the other split is sound
    with pytest.raises(UsageError) as error:
        segmentation_source(str(root), "val")  # before any image is decoded
    assert str(error.value) == message.format(mask=masks / "two.png", image=images / "two.jpg")


def test_image_without_mask_and_mask_without_image_are_refused(tmp_path):
    root = write_generic(tmp_path, np.zeros((2, 2), np.uint8))
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(root / "images" / "train" / "lonely.png")
    with pytest.raises(UsageError, match=r"1 files in .*images/train have no counterpart .*: lonely"):
        segmentation_source(str(root), "train")
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(root / "masks" / "val" / "orphan.png")
    with pytest.raises(UsageError, match=r"masks/val have no counterpart .*: orphan"):
        segmentation_source(str(root), "val")


def test_missing_folders_and_class_lists_are_refused(tmp_path):
    with pytest.raises(UsageError, match="neither fashion-mnist-scenes nor an existing folder"):
        segmentation_source(str(tmp_path / "nowhere"), "train")
    with pytest.raises(UsageError, match="neither an ADE20K release folder"):
        segmentation_source(str(tmp_path), "train")
    root = write_generic(tmp_path / "data", np.zeros((2, 2), np.uint8))
    (root / "classes.txt").unlink()
    with pytest.raises(UsageError, match="no class list"):
        segmentation_source(str(root), "train")
    (root / "classes.txt").write_text("a\nb\n")
    with pytest.raises(UsageError, match="ignore_index 1 is one of the 2 classes"):
        segmentation_source(str(root), "train", ignore_index=1)


def test_scenes_are_fixed_and_labelled_where_the_garments_are():
    scenes = FashionScenes("val", count=3)
    image, labels = scenes[2]
    again_image, again_labels = FashionScenes("val", count=3)[2]
    assert np.array_equal(np.asarray(image), np.asarray(again_image)) and np.array_equal(labels, again_labels)
    assert scenes.classes == SCENE_CLASSES and len(SCENE_CLASSES) == 11
    grey = np.asarray(image, dtype=np.float32).max(axis=2)  # garment pixels are bright, background dark
    garment = labels > 0
    assert 0.05 < garment.mean() < 0.9
    assert grey[~garment].max() < 24  # background noise only
    assert grey[garment].min() > GARMENT_THRESHOLD * 0.5 - 1  # tint >= 0.5 of a pixel above the threshold
    assert set(np.unique(labels)) <= set(range(11))
    train_image, _ = FashionScenes("train", count=3)[2]
    assert not np.array_equal(np.asarray(train_image), np.asarray(image))


def test_an_unreadable_image_is_a_usage_error_naming_it(tmp_path):
    root = write_generic(tmp_path, np.zeros((2, 2), np.uint8))
    (root / "images" / "train" / "one.jpg").write_bytes(b"not an image")
    with pytest.raises(UsageError, match=r"cannot read image .*one.jpg"):
        segmentation_source(str(root), "train")[0]
