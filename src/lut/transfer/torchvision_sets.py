"""Transfer data sets in the layouts torchvision reads (its parsers, our image loading).

Each reader takes `data_root` (the folder holding the set's own folder, as torchvision's `root`) and
returns the set's official splits; torchvision's integrity checks run as they do in torchvision.
"""

from pathlib import Path

from torch.utils.data import Dataset
from torchvision import datasets as tv_datasets

from lut.data.sources import ImageFolderSource, build_dataset
from lut.transfer.holdout import draw_per_class

Splits = dict[str, Dataset]
CALTECH101_TRAIN_PER_CLASS = 30  # the common transfer protocol (TensorFlow Datasets' caltech101 train split)
CALTECH101_SPLIT_SEED = 0


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
    """Describable Textures (47 classes), partition 1: `dtd/dtd/` with `images/`, `labels/`; train/val/test."""
    splits = {}
    for split in ("train", "val", "test"):
        dataset = tv_datasets.DTD(data_root, split=split, partition=1)
        splits[split] = files_source(dataset._data_folder, dataset._image_files, dataset._labels, dataset.classes)
    # torchvision lists the classes each split's file names, which need not be all of them.
    splits["val"] = splits["val"].relabelled(splits["train"].classes)
    splits["test"] = splits["test"].relabelled(splits["train"].classes)
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
    """iNaturalist 2021 (10,000 species) from `2021_train/` or `2021_train_mini/`, tested on `2021_valid/`.

    The folders are torchvision's names for the release's `train/`, `train_mini/` and `val/`.
    """

    def read(data_root: Path) -> Splits:
        splits = {}
        for ours, version in (("train", train_version), ("test", "2021_valid")):
            dataset = tv_datasets.INaturalist(data_root, version=version)
            folder = Path(dataset.root)
            files = [folder / dataset.all_categories[label] / name for label, name in sorted(dataset.index)]
            labels = [label for label, _ in sorted(dataset.index)]
            splits[ours] = files_source(folder, files, labels, dataset.all_categories)
        return splits

    return read


def caltech101(data_root: Path) -> Splits:
    """Caltech-101: `caltech101/101_ObjectCategories/<class>/image_0001.jpg ...`; train/test.

    torchvision's classes: the 101 object folders in sorted order (`Faces` and `Faces_easy` are two classes),
    `BACKGROUND_Google` left out. The release has no split: `CALTECH101_TRAIN_PER_CLASS` images of every class,
    drawn with the fixed `CALTECH101_SPLIT_SEED`, are the training split and the rest the test split.

    Raises:
        ValueError: an image torchvision's numbering expects is missing (a class folder holding other files).
    """
    dataset = tv_datasets.Caltech101(data_root, target_type="category")
    folder = Path(dataset.root) / "101_ObjectCategories"
    # torchvision numbers each class's images image_0001.jpg .. image_N.jpg, N its folder's entry count.
    files = [folder / dataset.categories[label] / f"image_{number:04d}.jpg"
             for label, number in zip(dataset.y, dataset.index)]
    missing = [path for path in files if not path.is_file()]
    if missing:
        raise ValueError(f"{len(missing)} numbered images missing, e.g. {missing[0]} (a class folder holds "
                         "image_0001.jpg .. image_N.jpg and nothing else)")
    images = files_source(folder, files, dataset.y, dataset.categories)
    train = draw_per_class(dataset.y, lambda size: min(size, CALTECH101_TRAIN_PER_CLASS), CALTECH101_SPLIT_SEED)
    test = sorted(set(range(len(files))) - set(train))
    return {"train": images.select(train), "test": images.select(test)}
