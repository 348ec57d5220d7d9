"""Transfer data sets in the layouts torchvision reads (its parsers, our image loading), and the release layouts
torchvision's download steps rename or nest.

Each reader takes `data_root` (the folder holding the set's own folder, as torchvision's `root`) and
returns the set's official splits; torchvision's integrity checks run as they do in torchvision. DTD,
iNaturalist 2021 and Caltech-101 are read by their file lists here, so that each is accepted as torchvision
lays it out and as its release extracts (`dtd/images` without torchvision's extra `dtd/`; iNaturalist's
`train/`, `train_mini/`, `val/` before torchvision renames them; Caltech-101's stray `BACKGROUND_Google/tmp`).
"""

import logging
import re
from pathlib import Path

from torch.utils.data import Dataset
from torchvision import datasets as tv_datasets

from lut.data.sources import ImageFolderSource, build_dataset, image_folder
from lut.errors import UsageError
from lut.transfer.holdout import draw_per_class

log = logging.getLogger("lut")

Splits = dict[str, Dataset]
CALTECH101_TRAIN_PER_CLASS = 30  # the common transfer protocol (TensorFlow Datasets' caltech101 train split)
CALTECH101_SPLIT_SEED = 0
CALTECH101_BACKGROUND = "BACKGROUND_Google"
CALTECH101_IMAGE = re.compile(r"^image_\d{4}\.jpg$")
# torchvision's folder first, then the release's as it extracts
CALTECH101_FOLDERS = ("caltech101", "caltech-101")
DTD_FOLDERS = ("dtd/dtd", "dtd")
INAT_2021_FOLDERS = {"2021_train": ("2021_train", "train"), "2021_train_mini": ("2021_train_mini", "train_mini"),
                     "2021_valid": ("2021_valid", "val")}


def first_present(data_root: Path, names: tuple[str, ...]) -> Path:
    """The first `data_root / name` that is a folder (the first of them when none is)."""
    return next((data_root / name for name in names if (data_root / name).is_dir()), data_root / names[0])


def files_source(folder: Path, files: list, labels: list[int], classes: list[str]) -> ImageFolderSource:
    """Image files with their labels as an image-folder source (skips unreadable files, fingerprints)."""
    return ImageFolderSource(folder, [(Path(path), int(label)) for path, label in zip(files, labels)], list(classes))


def builtin_splits(name: str, data_root: Path) -> Splits:
    """Fashion-MNIST, CIFAR-10 or CIFAR-100 as the existing data sources read them (no download)."""
    return {split: build_dataset(name, split, data_root, download=False) for split in ("train", "test")}


def flowers102(data_root: Path) -> Splits:
    """Oxford Flowers-102: `flowers-102/` with `jpg/`, `imagelabels.mat`, `setid.mat`; train/val/test."""
    splits = {}
    for split in ("train", "val", "test"):
        dataset = tv_datasets.Flowers102(data_root, split=split)
        splits[split] = files_source(dataset._base_folder, dataset._image_files, dataset._labels, dataset.classes)
    return splits


def aircraft(data_root: Path) -> Splits:
    """FGVC-Aircraft (variants, 100 classes): `fgvc-aircraft-2013b/data/`; train/val/test."""
    splits = {}
    for split in ("train", "val", "test"):
        dataset = tv_datasets.FGVCAircraft(data_root, split=split, annotation_level="variant")
        splits[split] = files_source(Path(dataset._data_path), dataset._image_files, dataset._labels, dataset.classes)
    return splits


def oxford_pets(data_root: Path) -> Splits:
    """Oxford-IIIT Pets (37 breeds): `oxford-iiit-pet/` with `images/`, `annotations/`; trainval/test.

    torchvision names the classes of each split from that split's images; the names of both are joined so
    that the two splits share one class list (the release's labels are 1-based breed ids).
    """
    datasets = {ours: tv_datasets.OxfordIIITPet(data_root, split=theirs)
                for ours, theirs in (("train", "trainval"), ("test", "test"))}
    names = {}
    for dataset in datasets.values():
        names.update({label: dataset.classes[position] for position, label in enumerate(sorted(set(dataset._labels)))})
    classes = [names.get(label, str(label + 1)) for label in range(max(names) + 1)]
    return {split: files_source(dataset._base_folder, dataset._images, dataset._labels, classes)
            for split, dataset in datasets.items()}


def stanford_cars(data_root: Path) -> Splits:
    """Stanford Cars (196 models): `stanford_cars/` with `devkit/`, `cars_train/`, `cars_test/` and
    `cars_test_annos_withlabels.mat`; train/test."""
    splits = {}
    for split in ("train", "test"):
        dataset = tv_datasets.StanfordCars(data_root, split=split)
        files, labels = zip(*dataset._samples) if dataset._samples else ((), ())
        splits[split] = files_source(dataset._base_folder, list(files), list(labels), dataset.classes)
    return splits


def dtd(data_root: Path) -> Splits:
    """Describable Textures (47 classes), partition 1: `dtd/dtd/` (torchvision's) or `dtd/` (the release's) with
    `images/<class>/` and `labels/{train,val,test}1.txt` (lines `<class>/<file>.jpg`); train/val/test.

    Raises:
        UsageError: a missing list, or a listed image of a class that `images/` does not hold.
    """
    folder = first_present(data_root, DTD_FOLDERS)
    classes = sorted(entry.name for entry in (folder / "images").iterdir() if entry.is_dir())
    label_of = {name: label for label, name in enumerate(classes)}
    splits = {}
    for split in ("train", "val", "test"):
        path = folder / "labels" / f"{split}1.txt"
        if not path.is_file():
            raise UsageError(f"{path} is missing")
        names = path.read_text().split()
        unknown = [name for name in names if name.split("/")[0] not in label_of]
        if unknown:
            raise UsageError(f"{path} lists {unknown[0]}, whose class folder is not in {folder / 'images'}")
        splits[split] = files_source(folder / "images", [folder / "images" / name for name in names],
                                     [label_of[name.split("/")[0]] for name in names], classes)
    return splits


def food101(data_root: Path) -> Splits:
    """Food-101: `food-101/` with `images/` and `meta/{train,test}.json`; train/test."""
    splits = {}
    for split in ("train", "test"):
        dataset = tv_datasets.Food101(data_root, split=split)
        splits[split] = files_source(dataset._base_folder, dataset._image_files, dataset._labels, dataset.classes)
    splits["test"] = splits["test"].relabelled(splits["train"].classes)  # torchvision names each split's own classes
    return splits


def inaturalist_2021(train_version: str):
    """iNaturalist 2021 (10,000 species) from `2021_train/` or `2021_train_mini/`, tested on `2021_valid/`
    (torchvision's names), or from the release's `train/` or `train_mini/`, tested on `val/`.

    Each holds one folder per species (`00000_Animalia_...`); the classes are the training folders, sorted.
    """

    def read(data_root: Path) -> Splits:
        train = image_folder(first_present(data_root, INAT_2021_FOLDERS[train_version]))
        test = image_folder(first_present(data_root, INAT_2021_FOLDERS["2021_valid"]))
        return {"train": train, "test": test.relabelled(train.classes)}

    return read


def caltech101(data_root: Path, background: bool = False) -> Splits:
    """Caltech-101: `caltech101/` (torchvision's) or `caltech-101/` (the release's) holding
    `101_ObjectCategories/<class>/image_0001.jpg ...`; train/test.

    torchvision's classes: the 101 object folders in sorted order (`Faces` and `Faces_easy` are two classes),
    `BACKGROUND_Google` left out, or with `background` added as class 101, the last (102 classes, as TensorFlow
    Datasets counts them; the object classes keep their labels and their split). The release has no split:
    `CALTECH101_TRAIN_PER_CLASS` images of every class, drawn class by class with the fixed
    `CALTECH101_SPLIT_SEED`, are the training split and the rest the test split. Files that are not numbered
    images (the release's `BACKGROUND_Google/tmp`) are left out, said in one line.

    Raises:
        ValueError: `background` without a `BACKGROUND_Google/` folder.
    """
    folder = first_present(data_root, CALTECH101_FOLDERS) / "101_ObjectCategories"
    folders = sorted(entry.name for entry in folder.iterdir() if entry.is_dir())
    classes = [name for name in folders if name != CALTECH101_BACKGROUND]
    if background:
        if CALTECH101_BACKGROUND not in folders:
            raise ValueError(f"no {CALTECH101_BACKGROUND}/ in {folder}")
        classes.append(CALTECH101_BACKGROUND)
    files, labels, stray = [], [], []
    for label, name in enumerate(classes):
        for entry in sorted((folder / name).iterdir()):
            if CALTECH101_IMAGE.match(entry.name):
                files.append(entry)
                labels.append(label)
            else:
                stray.append(entry)
    if stray:
        log.info("caltech101: %d file(s) that are not numbered images (image_0001.jpg ..) are left out, e.g. %s",
                 len(stray), stray[0])
    images = files_source(folder, files, labels, classes)
    train = draw_per_class(labels, lambda size: min(size, CALTECH101_TRAIN_PER_CLASS), CALTECH101_SPLIT_SEED)
    test = sorted(set(range(len(files))) - set(train))
    return {"train": images.select(train), "test": images.select(test)}
