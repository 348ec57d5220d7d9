"""Data sets: built-in names, labelled and flat image folders, split folders and broken files."""

import gzip
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lut.data.sources import BUILTIN_DATASETS, FASHION_MNIST_DIR, build_dataset, dataset_has_labels
from lut.errors import DataNotFoundError, UsageError

FASHION_MNIST_AVAILABLE = (FASHION_MNIST_DIR / "train-labels-idx1-ubyte.gz").is_file()


def write_image(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (5, 4)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


@pytest.fixture
def labelled_folder(tmp_path) -> Path:
    root = tmp_path / "pets"
    write_image(root / "dog" / "b.png", (0, 0, 200))
    write_image(root / "dog" / "nested" / "a.png", (0, 0, 100))
    write_image(root / "cat" / "x.JPG", (200, 0, 0))
    (root / "cat" / "readme.txt").write_text("not an image")
    write_image(root / ".hidden" / "h.png", (1, 2, 3))
    return root


def test_labelled_folder(labelled_folder):
    ds = build_dataset(str(labelled_folder))
    assert ds.classes == ["cat", "dog"]
    assert len(ds) == 3
    assert dataset_has_labels(ds)
    labels = [ds[i][1] for i in range(len(ds))]
    assert labels == [0, 1, 1]
    img, _ = ds[1]
    assert img.mode == "RGB" and img.getpixel((0, 0)) == (0, 0, 200)  # dog/b.png sorts before dog/nested/a.png


def test_flat_folder_is_unlabelled(tmp_path):
    write_image(tmp_path / "b.png", (20, 20, 20))
    write_image(tmp_path / "a.bmp", (10, 10, 10))
    write_image(tmp_path / "more" / "c.png", (30, 30, 30))
    ds = build_dataset(str(tmp_path))
    assert ds.classes == [] and not dataset_has_labels(ds)
    samples = [ds[i] for i in range(len(ds))]
    assert [label for _, label in samples] == [-1, -1, -1]
    assert [img.getpixel((0, 0))[0] for img, _ in samples] == [10, 20, 30]


def test_split_folders(tmp_path):
    write_image(tmp_path / "train" / "a" / "1.png", (1, 1, 1))
    write_image(tmp_path / "train" / "b" / "2.png", (2, 2, 2))
    write_image(tmp_path / "val" / "a" / "3.png", (3, 3, 3))
    train = build_dataset(str(tmp_path), split="train")
    test = build_dataset(str(tmp_path), split="test")  # falls back to val/
    assert (len(train), train.classes) == (2, ["a", "b"])
    assert (len(test), test.classes) == (1, ["a"])
    assert test[0][0].getpixel((0, 0)) == (3, 3, 3)


def test_missing_split_folder_is_a_usage_error(tmp_path):
    write_image(tmp_path / "train" / "a" / "1.png", (1, 1, 1))
    with pytest.raises(UsageError, match="split"):
        build_dataset(str(tmp_path), split="test")


def test_corrupt_file_is_skipped_with_one_warning(tmp_path, caplog):
    write_image(tmp_path / "a.png", (10, 10, 10))
    (tmp_path / "b.png").write_bytes(b"\x89PNG broken")
    write_image(tmp_path / "c.png", (30, 30, 30))
    ds = build_dataset(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="lut.data"):
        first = ds[1]
        second = ds[1]
    assert first[0].getpixel((0, 0)) == (30, 30, 30)  # the next file, c.png
    assert second[0].getpixel((0, 0)) == (30, 30, 30)
    warnings = [r for r in caplog.records if r.name == "lut.data"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "skipping unreadable image" in warnings[0].getMessage()
    assert "b.png" in warnings[0].getMessage()


def test_corrupt_last_file_wraps_around(tmp_path, caplog):
    write_image(tmp_path / "a.png", (10, 10, 10))
    (tmp_path / "z.png").write_text("junk")
    ds = build_dataset(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="lut.data"):
        assert ds[1][0].getpixel((0, 0)) == (10, 10, 10)


def test_all_files_unreadable_is_a_usage_error(tmp_path, caplog):
    (tmp_path / "a.png").write_text("junk")
    (tmp_path / "b.jpg").write_text("junk")
    ds = build_dataset(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="lut.data"), pytest.raises(UsageError, match="none of the 2"):
        ds[0]


def test_missing_folder_is_data_not_found(tmp_path):
    with pytest.raises(DataNotFoundError, match="does not exist"):
        build_dataset(str(tmp_path / "nowhere"))


def test_folder_without_images_is_a_usage_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UsageError, match="no images found") as info:
        build_dataset(str(tmp_path))
    assert ".png" in str(info.value)
    assert not isinstance(info.value, DataNotFoundError)


def test_file_instead_of_folder_is_a_usage_error(tmp_path):
    path = write_image(tmp_path / "one.png", (0, 0, 0))
    with pytest.raises(UsageError, match="is a file"):
        build_dataset(str(path))


def test_unknown_name_lists_built_in_names():
    with pytest.raises(UsageError) as info:
        build_dataset("imagenet-surely-not-here")
    assert not isinstance(info.value, DataNotFoundError)
    message = str(info.value)
    assert all(name in message for name in BUILTIN_DATASETS)
    assert "folder" in message


def test_unknown_split_is_a_usage_error():
    with pytest.raises(UsageError, match="split"):
        build_dataset("fashion-mnist", split="holdout")


def test_cifar10_without_download_is_data_not_found(tmp_path):
    with pytest.raises(DataNotFoundError, match=str(tmp_path)):
        build_dataset("cifar10", data_root=tmp_path, download=False)


def test_fashion_mnist_missing_files_explain_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("LUT_FASHION_MNIST_DIR", str(tmp_path))
    with pytest.raises(DataNotFoundError) as info:
        build_dataset("fashion-mnist")
    assert "sudo apt-get install dataset-fashion-mnist" in str(info.value)
    assert "fashion-mnist-download" in str(info.value)


def test_fashion_mnist_directory_from_environment(tmp_path, monkeypatch):
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    labels = np.array([3, 7], dtype=np.uint8)
    header_images = bytes([0, 0, 8, 3]) + np.array([2, 28, 28], dtype=">i4").tobytes()
    header_labels = bytes([0, 0, 8, 1]) + np.array([2], dtype=">i4").tobytes()
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(header_images + images.tobytes()))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(header_labels + labels.tobytes()))
    monkeypatch.setenv("LUT_FASHION_MNIST_DIR", str(tmp_path))
    ds = build_dataset("fashion-mnist", split="test")
    assert len(ds) == 2
    img, label = ds[1]
    assert label == 7
    assert np.array_equal(np.asarray(img)[..., 0], images[1])


@pytest.mark.skipif(not FASHION_MNIST_AVAILABLE, reason="dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_debian_package(monkeypatch):
    monkeypatch.delenv("LUT_FASHION_MNIST_DIR", raising=False)
    train = build_dataset("fashion-mnist", split="train")
    test = build_dataset("fashion-mnist", split="test")
    assert (len(train), len(test)) == (60000, 10000)
    assert len(train.classes) == 10 and dataset_has_labels(train)
    with gzip.open(FASHION_MNIST_DIR / "train-labels-idx1-ubyte.gz") as f:
        first_label = f.read(9)[8]  # 8-byte header, then one byte per label
    img, label = train[0]
    assert label == first_label == 9
    assert train.classes[label] == "Ankle boot"
    assert img.mode == "RGB" and img.size == (28, 28)
    pixels = np.asarray(img)
    assert np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 0], pixels[..., 2])
    assert pixels.max() > 0


def test_a_link_back_to_a_folder_above_is_not_entered(tmp_path, caplog):
    root = tmp_path / "loop"
    write_image(root / "a" / "1.png", (1, 1, 1))
    write_image(root / "b" / "2.png", (2, 2, 2))
    (root / "a" / "up").symlink_to("..")
    with caplog.at_level(logging.WARNING, logger="lut.data"):
        ds = build_dataset(str(root))
    assert [(path.relative_to(root).as_posix(), label) for path, label in ds.samples] == [("a/1.png", 0),
                                                                                          ("b/2.png", 1)]
    assert [record.getMessage() for record in caplog.records] == [f"not entering {root / 'a' / 'up'}: it leads back "
                                                                  f"to {root.resolve()}"]


def test_an_empty_class_folder_is_reported(tmp_path, caplog):
    write_image(tmp_path / "data" / "a" / "1.png", (1, 1, 1))
    (tmp_path / "data" / "empty").mkdir()
    with caplog.at_level(logging.WARNING, logger="lut.data"):
        ds = build_dataset(str(tmp_path / "data"))
    assert ds.classes == ["a", "empty"]
    assert [record.getMessage() for record in caplog.records] == [
        f"class folder {tmp_path / 'data' / 'empty'} holds no images; its class 'empty' stays in the class list"]


def test_fingerprint_follows_added_and_rewritten_files(tmp_path):
    write_image(tmp_path / "data" / "a" / "1.png", (1, 1, 1))
    first = build_dataset(str(tmp_path / "data")).fingerprint()
    assert build_dataset(str(tmp_path / "data")).fingerprint() == first
    write_image(tmp_path / "data" / "a" / "2.png", (1, 1, 1))
    second = build_dataset(str(tmp_path / "data")).fingerprint()
    assert second != first
    write_image(tmp_path / "data" / "a" / "2.png", (9, 9, 9), size=(50, 40))  # same name, other content
    assert build_dataset(str(tmp_path / "data")).fingerprint() not in (first, second)
