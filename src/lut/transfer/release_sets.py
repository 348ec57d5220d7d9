"""Transfer data sets read from their release files: CUB-200-2011, NABirds, Stanford Dogs, iNaturalist 2017-2019,
SUN397.

Each reader takes `data_root`, the folder holding the set's folder, and returns the official splits.
Labels are the positions of the release's class ids in sorted order (NABirds' 555 leaf classes among
its hierarchy's ids; iNaturalist's category ids; SUN397's `ClassName.txt` lines).
"""

import json
import logging
from pathlib import Path

import numpy as np

from lut.errors import UsageError
from lut.transfer.torchvision_sets import Splits, files_source

log = logging.getLogger("lut")
SUN397_PARTITION = 1  # Kornblith et al. (2019) and the SUN397 papers report the first of the ten


def read_id_table(path: Path) -> dict[str, str]:
    """A release table of `id value` lines ("1 001.Black_footed_Albatross") as {id: value}.

    Raises:
        UsageError: a missing file or a line without a value.
    """
    if not path.is_file():
        raise UsageError(f"{path} is missing")
    table = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            key, _, value = line.strip().partition(" ")
            if not value:
                raise UsageError(f"{path}, line {number}: expected 'id value', got {line!r}")
            table[key] = value.strip()
    return table


def bird_release(folder_name: str):
    """CUB-200-2011 (`CUB_200_2011/`) or NABirds (`nabirds/`): `images.txt`, `image_class_labels.txt`,
    `train_test_split.txt` (1: training), `classes.txt` and `images/`; train/test."""

    def read(data_root: Path) -> Splits:
        folder = data_root / folder_name
        files = read_id_table(folder / "images.txt")
        class_of = read_id_table(folder / "image_class_labels.txt")
        is_train = read_id_table(folder / "train_test_split.txt")
        names = read_id_table(folder / "classes.txt")
        class_ids = sorted({class_of[image] for image in files}, key=int)
        label_of = {class_id: label for label, class_id in enumerate(class_ids)}
        classes = [names.get(class_id, class_id) for class_id in class_ids]
        splits = {}
        for split, flag in (("train", "1"), ("test", "0")):
            images = [image for image in files if is_train[image] == flag]
            splits[split] = files_source(folder, [folder / "images" / files[image] for image in images],
                                         [label_of[class_of[image]] for image in images], classes)
        return splits

    return read


def stanford_dogs(data_root: Path) -> Splits:
    """Stanford Dogs (120 breeds): `stanford_dogs/` with `Images/` and the split lists `train_list.mat`,
    `test_list.mat` (from `lists.tar`); train/test."""
    from scipy.io import loadmat  # a dependency of scikit-learn; imported only for this set

    folder = data_root / "stanford_dogs"
    lists = {}
    for split in ("train", "test"):
        path = folder / f"{split}_list.mat"
        if not path.is_file():
            raise UsageError(f"{path} is missing")
        content = loadmat(path, squeeze_me=True)
        files = [str(name) for name in np.atleast_1d(content["file_list"])]  # a one-entry list squeezes to a scalar
        lists[split] = (files, [int(label) - 1 for label in np.atleast_1d(content["labels"])])
    folder_of = {label: name.split("/")[0] for files, labels in lists.values() for name, label in zip(files, labels)}
    classes = [folder_of[label] for label in range(max(folder_of) + 1)]
    return {split: files_source(folder, [folder / "Images" / name for name in files], labels, classes)
            for split, (files, labels) in lists.items()}


def category_names(folder: Path, year: str) -> dict[int, str]:
    """Category id -> real name from the `categories.json` the 2018 and 2019 releases added beside their JSON files
    (whose own category names are obfuscated ids); {} without it. Reading it is said in one line."""
    path = folder / "categories.json"
    if not path.is_file():
        return {}
    names = {int(category["id"]): str(category["name"]) for category in json.loads(path.read_text())}
    log.info("inat%s: class names read from %s", year, path)
    return names


def inaturalist_json(year: str):
    """iNaturalist 2017/2018/2019: `inat{year}/` with `train{year}.json`, `val{year}.json` (COCO-style
    images, annotations, categories) and the image folder they name; the official val is the test split.
    The class names are those of `categories.json` when it is there (2018, 2019)."""

    def read(data_root: Path) -> Splits:
        folder = data_root / f"inat{year}"
        splits, classes, real_names = {}, None, category_names(folder, year)
        for ours, theirs in (("train", "train"), ("test", "val")):
            path = folder / f"{theirs}{year}.json"
            if not path.is_file():
                raise UsageError(f"{path} is missing")
            content = json.loads(path.read_text())
            if classes is None:
                categories = sorted(content["categories"], key=lambda category: category["id"])
                label_of = {category["id"]: label for label, category in enumerate(categories)}
                classes = [real_names.get(int(category["id"]), str(category.get("name", category["id"])))
                           for category in categories]
            category_of = {note["image_id"]: note["category_id"] for note in content["annotations"]}
            images = sorted(content["images"], key=lambda image: image["id"])
            splits[ours] = files_source(folder, [folder / image["file_name"] for image in images],
                                        [label_of[category_of[image["id"]]] for image in images], classes)
        return splits

    return read


def sun397(data_root: Path) -> Splits:
    """SUN397 (397 scene classes): `SUN397/` as `SUN397.tar.gz` extracts (`ClassName.txt`, lines `/a/abbey`, and
    `a/abbey/sun_*.jpg`), with the official partition lists `Training_01.txt`, `Testing_01.txt` of
    `Partitions.zip` in `SUN397/`, `SUN397/Partitions/` or `Partitions/` beside it; train/test (50 images of
    every class each).

    Raises:
        UsageError: no partition lists, or a listed image of a class that `ClassName.txt` lacks.
    """
    folder = data_root / "SUN397"
    lists = f"Training_{SUN397_PARTITION:02d}.txt", f"Testing_{SUN397_PARTITION:02d}.txt"
    places = (folder, folder / "Partitions", data_root / "Partitions")
    partitions = next((place for place in places if (place / lists[0]).is_file()), None)
    if partitions is None:
        raise UsageError(f"sun397: no {lists[0]} in {', '.join(str(place) for place in places)} "
                         "(Partitions.zip holds it)")
    keys = [line.strip() for line in (folder / "ClassName.txt").read_text().splitlines() if line.strip()]
    label_of = {key: label for label, key in enumerate(keys)}
    classes = [key[3:] for key in keys]  # "/a/abbey" -> "abbey", as torchvision names them
    splits = {}
    for split, name in zip(("train", "test"), lists):
        files = [line.strip() for line in (partitions / name).read_text().splitlines() if line.strip()]
        class_keys = [line.rsplit("/", 1)[0] for line in files]  # "/a/abbey/sun_x.jpg" -> "/a/abbey"
        unknown = [line for line, key in zip(files, class_keys) if key not in label_of]
        if unknown:
            raise UsageError(f"{partitions / name} lists {unknown[0]}, whose class {folder / 'ClassName.txt'} lacks")
        splits[split] = files_source(folder, [folder / line.lstrip("/") for line in files],
                                     [label_of[key] for key in class_keys], classes)
    return splits
