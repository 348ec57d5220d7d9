"""Data sets: built-in names (Fashion-MNIST, CIFAR, STL-10) and folders of images.

Every data set yields ``(image, label)`` with ``image`` an RGB PIL image and
``label`` an int (-1 when unlabelled), and has a ``classes`` list (empty when
unlabelled), so the training and evaluation code never has to tell them apart.
"""

import gzip
import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from torch.utils.data import Dataset, default_collate
from torchvision import datasets as tv_datasets

from lut.data.hf_datasets import is_hub_spec, is_saved_dataset, open_hub_dataset, open_saved_dataset
from lut.data.imagenet_val import find_ground_truth, flat_val_labels, val_number
from lut.data.images import IMAGE_EXTENSIONS, UnreadableImageError, is_image_file, load_rgb
from lut.data.shard_source import TarShardSource
from lut.data.shards import is_shard_spec
from lut.errors import DataNotFoundError, UsageError
from lut.runtime.say_once import say_once
from lut.wording import counted

logger = logging.getLogger("lut.data")

Sample = tuple[Image.Image, int]

SPLITS = ("train", "test", "val")
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_ENV = "LUT_FASHION_MNIST_DIR"
FASHION_MNIST_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
_FASHION_MNIST_PREFIX = {"train": "train", "test": "t10k"}
_IDX_UBYTE = 0x08

# Folders that split a data set; "test" and "val" stand in for each other.
_SPLIT_FOLDERS = {"train": ("train",), "test": ("test", "val"), "val": ("val", "test")}


def _builtin_split(split: str) -> str:
    """Maps a split name to "train" or "test", the two splits of the built-in data sets.

    Args:
        split: "train", "test" or "val" ("val" is an alias of "test").

    Returns:
        "train" or "test".
    """
    if split not in SPLITS:
        raise UsageError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    return "train" if split == "train" else "test"


def read_idx(path: Path) -> np.ndarray:
    """Reads a gzip-compressed IDX file of unsigned bytes (the MNIST format).

    Args:
        path: ``*-ubyte.gz`` file.

    Returns:
        uint8 array with the shape stored in the header, e.g. (N, 28, 28) or (N,).
    """
    with gzip.open(path, "rb") as f:
        data = f.read()
    # Header: two zero bytes, the element type, the number of dimensions, then one big-endian int32 per dimension.
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] != _IDX_UBYTE:
        raise UsageError(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">i4", count=ndim, offset=4))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


class FashionMNIST(Dataset):
    """Fashion-MNIST read from the IDX files of the Debian package ``dataset-fashion-mnist``.

    The images are decoded on first access and kept as one uint8 array.

    Args:
        split: "train" (60000 images) or "test" (10000; "val" is an alias).
        root: folder with the ``*-ubyte.gz`` files; defaults to ``$LUT_FASHION_MNIST_DIR``
            or ``/usr/share/datasets/fashion-mnist``.
    """

    def __init__(self, split: str = "train", root: str | os.PathLike[str] | None = None) -> None:
        if root is None:
            root = os.environ.get(FASHION_MNIST_ENV, FASHION_MNIST_DIR)
        prefix = _FASHION_MNIST_PREFIX[_builtin_split(split)]
        root = Path(root).expanduser()
        self.images_path = root / f"{prefix}-images-idx3-ubyte.gz"
        self.labels_path = root / f"{prefix}-labels-idx1-ubyte.gz"
        missing = [p for p in (self.images_path, self.labels_path) if not p.is_file()]
        if missing:
            raise DataNotFoundError(
                f"Fashion-MNIST files not found: {', '.join(map(str, missing))}. "
                "Install them with `sudo apt-get install dataset-fashion-mnist`, point "
                f"{FASHION_MNIST_ENV} at a folder holding them, or use data=fashion-mnist-download "
                "to fetch them with torchvision"
            )
        self.classes = list(FASHION_MNIST_CLASSES)
        self._labels = read_idx(self.labels_path)  # (N,)
        self._images: np.ndarray | None = None  # (N, 28, 28), read on first access

    def __len__(self) -> int:
        return len(self._labels)

    @property
    def targets(self) -> list[int]:
        """Every sample's label, in order (as torchvision data sets have them)."""
        return self._labels.tolist()

    def __getitem__(self, index: int) -> Sample:
        if self._images is None:
            self._images = read_idx(self.images_path)
        # Grayscale replicated to three channels so that every data set yields RGB.
        return Image.fromarray(self._images[index]).convert("RGB"), int(self._labels[index])


class TorchvisionSource(Dataset):
    """Adapts a torchvision data set to yield ``(RGB PIL image, int label)``.

    Args:
        dataset: a torchvision data set returning ``(PIL image, label)`` without transform.
    """

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.classes: list[str] = list(getattr(dataset, "classes", []))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Sample:
        img, label = self.dataset[index]
        return img.convert("RGB"), int(label)


# Each entry opens a torchvision data set from (root, "train" or "test", download).
_TORCHVISION_DATASETS: dict[str, Callable[[Path, str, bool], Dataset]] = {
    "cifar10": lambda root, split, dl: tv_datasets.CIFAR10(root, train=split == "train", download=dl),
    "cifar100": lambda root, split, dl: tv_datasets.CIFAR100(root, train=split == "train", download=dl),
    "fashion-mnist-download": lambda root, split, dl: tv_datasets.FashionMNIST(
        root, train=split == "train", download=dl
    ),
    "stl10": lambda root, split, dl: tv_datasets.STL10(root, split=split, download=dl),
}
BUILTIN_DATASETS = ("fashion-mnist", *_TORCHVISION_DATASETS)


def _torchvision_dataset(name: str, split: str, data_root: Path, download: bool) -> TorchvisionSource:
    """Opens (and if allowed downloads) a torchvision data set under ``data_root``.

    Args:
        name: key of ``_TORCHVISION_DATASETS``.
        split: "train" or "test".
        data_root: folder holding the downloaded files.
        download: whether to download missing files.

    Returns:
        The wrapped data set.
    """
    try:
        dataset = _TORCHVISION_DATASETS[name](data_root, split, download)
    # torchvision reports missing or corrupt files with RuntimeError and failed
    # downloads with OSError (URLError, timeouts, permissions).
    except (RuntimeError, OSError) as exc:
        if download:
            message = f"{name} could not be downloaded to {data_root} ({exc}); downloading needs a network once"
        else:
            message = f"{name} not found under {data_root} ({exc}); enable downloading (needs a network once)"
        raise DataNotFoundError(message) from exc
    return TorchvisionSource(dataset)


class ImageFolderSource(Dataset):
    """Images in a folder, labelled by class sub-folder or unlabelled.

    A file that cannot be decoded is reported in one warning per bad file (per process, whichever
    data set instance meets it first; each data loader worker keeps its own record). For training
    (the default) the next readable sample of this source (in index order, wrapping around) is
    returned instead, with its own label; a held-out test split is a source of its own (`select`),
    so a bad test image is never replaced by a training image. For evaluation (`skip_unreadable`)
    the sample is None instead, which `collate_readable` leaves out, so that counts and accuracies
    are over the distinct readable images.

    Args:
        root: the folder the samples were found in (used in messages).
        samples: ``(path, label)`` pairs, label -1 when unlabelled.
        classes: class names indexed by label; empty when unlabelled.
        part: which images of `root` these are: "all", or a part of a fixed division of the folder ("train" or
            "held-out", see `lut.data.held_out`); parts of the same folder share no image.
    """

    def __init__(self, root: Path, samples: list[tuple[Path, int]], classes: list[str], part: str = "all") -> None:
        self.root = root
        self.samples = samples
        self.classes = classes
        self.part = part
        self.unreadable: set[int] = set()
        self.skips_unreadable = False

    def __len__(self) -> int:
        return len(self.samples)

    def select(self, indices: list[int], part: str = "all") -> "ImageFolderSource":
        """A source of the samples at `indices` alone (a split of this one, named `part` when it is one of the
        folder's fixed parts)."""
        return ImageFolderSource(self.root, [self.samples[index] for index in indices], self.classes, part)

    def relabelled(self, classes: list[str]) -> "ImageFolderSource":
        """The same images labelled by their class names' positions in `classes` (a superset of this source's)."""
        missing = sorted(set(self.classes) - set(classes))
        if missing:
            raise UsageError(f"{self.root} has classes that the training split lacks: {', '.join(missing)}")
        position = {name: index for index, name in enumerate(classes)}
        return ImageFolderSource(
            self.root, [(path, position[self.classes[label]]) for path, label in self.samples], list(classes), self.part
        )

    def fingerprint(self) -> str:
        """A digest of the file list with each file's size and modification time (the feature cache's key)."""
        digest = hashlib.sha256()
        for path, label in self.samples:
            try:
                status = path.stat()
                stamp = f"{status.st_size}:{status.st_mtime_ns}"
            except OSError:
                stamp = "missing"
            digest.update(f"{path}\t{label}\t{stamp}\n".encode())
        return digest.hexdigest()

    def __getitem__(self, index: int) -> Sample | None:
        if self.skips_unreadable:
            return self.read(index)
        for offset in range(len(self.samples)):
            sample = self.read((index + offset) % len(self.samples))
            if sample is not None:
                return sample
        raise UsageError(f"none of the {len(self.samples)} images in {self.root} can be read")

    def read(self, index: int) -> Sample | None:
        """The sample at `index`, or None when its file cannot be decoded (reported once per file)."""
        if index in self.unreadable:
            return None
        path, label = self.samples[index]
        try:
            return load_rgb(path), label
        except UnreadableImageError as exc:
            self.unreadable.add(index)
            say_once(logger, ("unreadable image", path), logging.WARNING, "skipping unreadable image %s: %s", path,
                     exc.reason)
            return None


def skip_unreadable(dataset: Dataset) -> Dataset:
    """`dataset`, whose image-folder samples (also through subsets and transforms: `dataset` and `base`
    attributes) are from now on None when their file cannot be read, rather than replaced by another image, so
    that evaluation counts every image once (see `collate_readable`)."""
    source = dataset
    while not isinstance(source, ImageFolderSource):
        inner = getattr(source, "dataset", getattr(source, "base", None))
        if inner is None:
            return dataset
        source = inner
    source.skips_unreadable = True
    return dataset


def collate_readable(batch: list[Any]) -> Any:
    """The loader's default collation of the samples that are not None (unreadable images); None when none is left."""
    readable = [sample for sample in batch if sample is not None]
    return default_collate(readable) if readable else None


def readable_count_note(read: int, total: int, described: str) -> str:
    """One line when `read` of the `total` images of `described` could be read (else ""): the others are left out."""
    if read == total:
        return ""
    return (f"{total - read} of the {counted(total, 'image')} of {described} cannot be read: left out, "
            f"{counted(read, 'distinct image')} counted")


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _scan_images(folder: Path) -> list[Path]:
    """Finds image files under ``folder`` recursively, skipping hidden files and folders.

    Args:
        folder: folder to scan; symbolic links to folders are followed, each real folder once
            (a link to a folder scanned already or above is reported and not entered).

    Returns:
        Image paths sorted for a deterministic order.
    """
    found = []
    visited = {folder.resolve()}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        # Pruning in place stops os.walk from entering e.g. .ipynb_checkpoints, and folders seen before.
        kept = []
        above = Path(dirpath).resolve().parents
        for name in dirnames:
            real = Path(dirpath, name).resolve()
            if _is_hidden(name):
                continue
            if real in visited or real in above:
                logger.warning("not entering %s: it leads back to %s", Path(dirpath, name), real)
                continue
            visited.add(real)
            kept.append(name)
        dirnames[:] = kept
        found.extend(Path(dirpath, f) for f in filenames if not _is_hidden(f) and is_image_file(f))
    return sorted(found)


def is_labelled_folder(folder: Path) -> bool:
    """Whether `folder` opens labelled: no image lies directly in it (class sub-folders), or those that do are flat
    ImageNet validation files whose ground truth lies in or above it (`lut.data.imagenet_val`)."""
    loose = next((entry for entry in folder.iterdir()
                  if not _is_hidden(entry.name) and is_image_file(entry) and entry.is_file()), None)
    return loose is None or (val_number(loose) is not None and find_ground_truth(folder) is not None)


def _split_folder(folder: Path, split: str) -> Path:
    """Picks ``folder/<split>`` when the folder is divided into split sub-folders.

    The evaluation split ("test") is `test/`, or `val/` when there is no `test/`; when `test/` holds unlabelled
    images and `val/` is labelled (ImageNet as Kaggle ships it), `val/` is, said once per folder.

    Args:
        folder: the data folder.
        split: "train", "test" or "val".

    Returns:
        The folder holding the requested split, or ``folder`` itself when it is not split.
    """
    candidates = _SPLIT_FOLDERS[split]
    present = [folder / name for name in candidates if (folder / name).is_dir()]
    if split == "test" and len(present) == 2 and not is_labelled_folder(present[0]) and is_labelled_folder(present[1]):
        say_once(logger, ("evaluation split", folder), logging.INFO,
                 "%s: test/ holds unlabelled images and val/ is labelled: val/ is the evaluation split", folder)
        return present[1]
    if present:
        return present[0]
    present = sorted(name for name in ("train", "val", "test") if (folder / name).is_dir())
    if present:
        raise UsageError(
            f"{folder} has split folders ({', '.join(present)}) but none for split {split!r} "
            f"(looked for {', '.join(candidates)})"
        )
    return folder


def image_folder(folder: Path, split: str = "train") -> ImageFolderSource:
    """Builds a data set from a folder of images.

    Images lying directly in the folder make it unlabelled (all images below it
    are used, label -1), except the flat ImageNet validation files with their ground truth in or
    above the folder (labelled by wnid, said in one line; `lut.data.imagenet_val`); otherwise every
    non-hidden sub-folder is a class, sorted by name like torchvision's ImageFolder, holding images
    at any depth.

    Args:
        folder: existing folder, possibly divided into train/val/test sub-folders.
        split: which split sub-folder to use when there are any.

    Returns:
        The data set.
    """
    root = _split_folder(folder, split)
    entries = sorted(p for p in root.iterdir() if not _is_hidden(p.name))
    if any(p.is_file() and is_image_file(p) for p in entries):
        files = _scan_images(root)
        labelled = flat_val_labels(root, files)
        if labelled is None:
            samples = [(path, -1) for path in files]
            classes: list[str] = []
        else:
            classes, labels, truth = labelled
            samples = list(zip(files, labels))
            say_once(logger, ("flat val", root), logging.INFO,
                     "%s: the labels of its %d ImageNet validation images (%d classes) are read from %s", root,
                     len(files), len(classes), truth.path)
    else:
        class_dirs = [p for p in entries if p.is_dir()]
        classes = [p.name for p in class_dirs]
        samples = []
        for label, class_dir in enumerate(class_dirs):
            images = _scan_images(class_dir)
            if not images and len(class_dirs) > 1:
                logger.warning("class folder %s holds no images; its class %r stays in the class list", class_dir,
                               class_dir.name)
            samples.extend((path, label) for path in images)
    if not samples:
        raise UsageError(f"no images found in {root} (looked for extensions {', '.join(IMAGE_EXTENSIONS)})")
    return ImageFolderSource(root, samples, classes)


def _looks_like_path(spec: str) -> bool:
    return os.sep in spec or "/" in spec or spec.startswith(("~", "."))


def build_dataset(
    spec: str,
    split: str = "train",
    data_root: str | os.PathLike[str] = "~/.cache/lut/data",
    download: bool = True,
    image_column: str = "",
    label_column: str = "",
) -> Dataset:
    """Opens the data set named by ``spec``.

    Built-in names take precedence over a folder of the same name; write
    ``./name`` to mean the folder.

    Args:
        spec: a built-in name (see ``BUILTIN_DATASETS``), a path to a folder of images, a folder that
            Hugging Face ``datasets`` wrote with ``save_to_disk``, ``hf:NAME[:CONFIG]`` for
            ``datasets.load_dataset``, or local tar shards (a brace pattern; they have no splits).
        split: "train", "test" or "val" ("test" and "val" are interchangeable).
        data_root: where torchvision data sets are stored or downloaded to.
        download: whether torchvision data sets may be downloaded.
        image_column: a Hugging Face data set's image column ("" detects it).
        label_column: a Hugging Face data set's label column ("" detects it).

    Returns:
        A data set yielding ``(RGB PIL image, int label)`` with a ``classes`` list.

    Raises:
        DataNotFoundError: the data is not on this machine.
        UsageError: unknown name or split, a file instead of a folder, or no images.
    """
    builtin_split = _builtin_split(split)
    path = Path(spec).expanduser()
    if is_hub_spec(spec):
        return open_hub_dataset(spec, split, image_column, label_column)
    if spec not in BUILTIN_DATASETS and path.is_dir() and is_saved_dataset(path):
        return open_saved_dataset(path, split, image_column, label_column)
    if image_column or label_column:
        raise UsageError(f"image_column and label_column choose columns of a Hugging Face data set; {spec!r} is "
                         "not one (leave them empty)")
    if is_shard_spec(spec):
        return TarShardSource(spec)
    if spec == "fashion-mnist":
        return FashionMNIST(builtin_split)
    if spec in _TORCHVISION_DATASETS:
        return _torchvision_dataset(spec, builtin_split, Path(data_root).expanduser(), download)
    if path.is_dir():
        return image_folder(path, split)
    if path.exists():
        raise UsageError(
            f"data {spec!r} is a file; expected a folder of images or one of: {', '.join(BUILTIN_DATASETS)}"
        )
    if _looks_like_path(spec):
        raise DataNotFoundError(f"data folder {path.absolute()} does not exist")
    raise UsageError(
        f"unknown data set {spec!r} (and no folder of that name exists); "
        f"choose one of: {', '.join(BUILTIN_DATASETS)}, give a path to a folder of images, or write hf:NAME"
    )


def dataset_has_labels(dataset: Dataset) -> bool:
    """Whether a data set from :func:`build_dataset` carries class labels.

    Args:
        dataset: the data set.

    Returns:
        True when it has at least one class.
    """
    return len(getattr(dataset, "classes", ())) > 0


def is_hugging_face_spec(spec: str) -> bool:
    """Whether `spec` names a Hugging Face data set (`hf:NAME`, or a `save_to_disk` folder), whose columns
    `image_column` and `label_column` choose."""
    path = Path(spec).expanduser()
    return is_hub_spec(spec) or (spec not in BUILTIN_DATASETS and path.is_dir() and is_saved_dataset(path))
