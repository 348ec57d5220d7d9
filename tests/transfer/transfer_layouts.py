"""Tiny copies of the transfer data sets' release layouts (a few 8 px images each), written by the tests."""

import json
import pickle
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.io import savemat


def write_image(path: Path, value: int = 0) -> Path:
    """An 8 x 8 RGB image (JPEG or PNG after the suffix) of one grey level."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), value, dtype=np.uint8)).save(path)
    return path


def write_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines))


def cifar(root: Path, hundred: bool = False) -> Path:
    """`cifar-10-batches-py/` (5 training batches of 2 images, test batch of 3) or `cifar-100-python/`."""
    folder = root / ("cifar-100-python" if hundred else "cifar-10-batches-py")
    folder.mkdir(parents=True)
    key = "fine_labels" if hundred else "labels"

    def batch(labels: list[int]) -> dict:
        return {"data": np.zeros((len(labels), 3072), dtype=np.uint8), key: labels}

    if hundred:
        (folder / "train").write_bytes(pickle.dumps(batch([0, 1, 2, 2, 99])))
        (folder / "test").write_bytes(pickle.dumps(batch([5, 6])))
        (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": [f"c{index}" for index in range(100)]}))
    else:
        for index in range(5):
            (folder / f"data_batch_{index + 1}").write_bytes(pickle.dumps(batch([index, 9])))
        (folder / "test_batch").write_bytes(pickle.dumps(batch([3, 3, 7])))
        (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"c{index}" for index in range(10)]}))
    return folder


def flowers(root: Path) -> Path:
    """`flowers-102/`: images 1-6, labels (1-based) 1,1,2,2,3,102; train {1,3}, val {2,4}, test {5,6}."""
    folder = root / "flowers-102"
    for image_id in range(1, 7):
        write_image(folder / "jpg" / f"image_{image_id:05d}.jpg")
    savemat(folder / "imagelabels.mat", {"labels": np.array([[1, 1, 2, 2, 3, 102]])})
    savemat(
        folder / "setid.mat", {"trnid": np.array([[1, 3]]), "valid": np.array([[2, 4]]), "tstid": np.array([[5, 6]])}
    )
    return folder


def aircraft(root: Path) -> Path:
    """`fgvc-aircraft-2013b/data/`: variants 707-320, A320, Cessna 172; one image per split and variant."""
    data = root / "fgvc-aircraft-2013b" / "data"
    variants = ["707-320", "A320", "Cessna 172"]
    write_lines(data / "variants.txt", variants)
    for offset, split in enumerate(("train", "val", "test")):
        lines = [f"{1000 + 10 * offset + index} {variant}" for index, variant in enumerate(variants)]
        write_lines(data / f"images_variant_{split}.txt", lines)
        for line in lines:
            write_image(data / "images" / f"{line.split()[0]}.jpg")
    return data


def pets(root: Path) -> Path:
    """`oxford-iiit-pet/`: trainval Abyssinian_1 (1), american_bulldog_2 (2), Abyssinian_3 (1); test boxer_4 (3)."""
    folder = root / "oxford-iiit-pet"
    rows = {
        "trainval": [("Abyssinian_1", 1, 1), ("american_bulldog_2", 2, 2), ("Abyssinian_3", 1, 1)],
        "test": [("boxer_4", 3, 2)],
    }
    for split, entries in rows.items():
        write_lines(
            folder / "annotations" / f"{split}.txt", [f"{name} {label} {kind} 1" for name, label, kind in entries]
        )
        for name, _, _ in entries:
            write_image(folder / "images" / f"{name}.jpg")
    return folder


def cars(root: Path) -> Path:
    """`stanford_cars/`: 3 models; train 00001.jpg (class 1), 00002.jpg (3); test 00001.jpg (2), 00002.jpg (1)."""
    folder = root / "stanford_cars"

    def annotations(rows: list[tuple[str, int]]) -> np.ndarray:
        table = np.zeros(len(rows), dtype=[("fname", "O"), ("class", "O")])
        for index, (name, label) in enumerate(rows):
            table[index] = (name, label)
        return table

    (folder / "devkit").mkdir(parents=True)
    savemat(
        folder / "devkit" / "cars_meta.mat",
        {"class_names": np.array(["AM General Hummer", "Acura RL", "Audi TT"], dtype=object)},
    )
    savemat(
        folder / "devkit" / "cars_train_annos.mat", {"annotations": annotations([("00001.jpg", 1), ("00002.jpg", 3)])}
    )
    savemat(
        folder / "cars_test_annos_withlabels.mat", {"annotations": annotations([("00001.jpg", 2), ("00002.jpg", 1)])}
    )
    for name in ("00001.jpg", "00002.jpg"):
        write_image(folder / "cars_train" / name)
    for name in ("00001.jpg", "00002.jpg"):
        write_image(folder / "cars_test" / name)
    return folder


def dtd(root: Path, nested: bool = True) -> Path:
    """`dtd/dtd/` (torchvision's download nests the release one deeper) or `dtd/` (as `dtd-r1.0.1.tar.gz` extracts):
    classes banded, zigzagged, and perforated (no image listed in partition 1's lists); partition 1 lists."""
    data = root / "dtd" / "dtd" if nested else root / "dtd"
    write_image(data / "images" / "perforated" / "perforated_0001.jpg")
    lists = {
        "train": ["banded/banded_0001.jpg", "zigzagged/zigzagged_0001.jpg"],
        "val": ["zigzagged/zigzagged_0002.jpg"],
        "test": ["banded/banded_0002.jpg", "zigzagged/zigzagged_0003.jpg"],
    }
    for split, names in lists.items():
        write_lines(data / "labels" / f"{split}1.txt", names)
        for name in names:
            write_image(data / "images" / name)
    return data


def food(root: Path) -> Path:
    """`food-101/`: train apple_pie/1, apple_pie/2, ramen/3; test ramen/4."""
    folder = root / "food-101"
    meta = {
        "train": {"apple_pie": ["apple_pie/1", "apple_pie/2"], "ramen": ["ramen/3"]},
        "test": {"ramen": ["ramen/4"]},
    }
    for split, classes in meta.items():
        (folder / "meta").mkdir(parents=True, exist_ok=True)
        (folder / "meta" / f"{split}.json").write_text(json.dumps(classes))
        for names in classes.values():
            for name in names:
                write_image(folder / "images" / f"{name}.jpg")
    return folder


INAT_2021_CLASSES = [
    "00000_Animalia_Arthropoda_Insecta_Coleoptera_Carabidae_Carabus_auratus",
    "00001_Plantae_Tracheophyta_Magnoliopsida_Rosales_Rosaceae_Rosa_canina",
]


def inat_2021(root: Path, train_version: str, valid: str = "2021_valid") -> None:
    """`2021_train(_mini)/` with 2 + 1 images of the two species, `2021_valid/` with 1 + 1 (torchvision's names), or
    the release's `train(_mini)/` and `val/` (as `train.tar.gz`, `train_mini.tar.gz`, `val.tar.gz` extract)."""
    for version, counts in ((train_version, (2, 1)), (valid, (1, 1))):
        for name, count in zip(INAT_2021_CLASSES, counts):
            for index in range(count):
                write_image(root / version / name / f"{version}_{index}.jpg")


def inat_json(root: Path, year: str, obfuscated: bool = False) -> Path:
    """`inat{year}/` with COCO-style JSON: categories 0 (Aves) and 5 (Plantae); train 3 images, val 1.

    With `obfuscated`, the JSON files name the categories by number (as the 2018 and 2019 releases did) and
    `categories.json` beside them (released later) gives their names and taxonomy.
    """
    folder = root / f"inat{year}"
    categories = [{"id": 5, "name": "Rosa canina"}, {"id": 0, "name": "Turdus merula"}]
    if obfuscated:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "categories.json").write_text(json.dumps([{**category, "kingdom": "Animalia"}
                                                            for category in categories]))
        categories = [{"id": category["id"], "name": str(category["id"])} for category in categories]
    for split, rows in (("train", [(7, 0), (3, 5), (9, 0)]), ("val", [(11, 5)])):
        images = [
            {"id": image_id, "file_name": f"train_val{year}/{category}/{image_id}.jpg"} for image_id, category in rows
        ]
        notes = [{"id": image_id, "image_id": image_id, "category_id": category} for image_id, category in rows]
        (folder).mkdir(parents=True, exist_ok=True)
        (folder / f"{split}{year}.json").write_text(
            json.dumps({"images": images, "annotations": notes, "categories": categories})
        )
        for image in images:
            write_image(folder / image["file_name"])
    return folder


def bird_release(root: Path, folder_name: str, ids: list[str], class_ids: list[str], training: list[str]) -> Path:
    """CUB/NABirds release files: image i has id ids[i], class class_ids[i], is training when training[i] == "1"."""
    folder = root / folder_name
    names = {class_id: f"Bird {class_id}" for class_id in set(class_ids)} | {"0": "Birds"}
    write_lines(
        folder / "classes.txt",
        [f"{class_id} {name}" for class_id, name in sorted(names.items(), key=lambda item: int(item[0]))],
    )
    write_lines(
        folder / "images.txt", [f"{image} {class_id:>03}/{image}.jpg" for image, class_id in zip(ids, class_ids)]
    )
    write_lines(folder / "image_class_labels.txt", [f"{image} {class_id}" for image, class_id in zip(ids, class_ids)])
    write_lines(folder / "train_test_split.txt", [f"{image} {flag}" for image, flag in zip(ids, training)])
    for image, class_id in zip(ids, class_ids):
        write_image(folder / "images" / f"{class_id:>03}" / f"{image}.jpg")
    return folder


def stanford_dogs(root: Path) -> Path:
    """`stanford_dogs/`: Chihuahua (label 1) and Maltese (label 2); train 2 images, test 1."""
    folder = root / "stanford_dogs"
    folder.mkdir(parents=True)
    lists = {
        "train": [("n02085620-Chihuahua/n02085620_1.jpg", 1), ("n02085936-Maltese_dog/n02085936_2.jpg", 2)],
        "test": [("n02085936-Maltese_dog/n02085936_3.jpg", 2)],
    }
    for split, rows in lists.items():
        savemat(
            folder / f"{split}_list.mat",
            {
                "file_list": np.array([name for name, _ in rows], dtype=object)[:, None],
                "labels": np.array([[label] for _, label in rows]),
            },
        )
        for name, _ in rows:
            write_image(folder / "Images" / name)
    return folder


CALTECH101_COUNTS = {"BACKGROUND_Google": 3, "Faces": 31, "Faces_easy": 33, "accordion": 35}


def caltech101(root: Path, counts: dict[str, int] = CALTECH101_COUNTS, release: bool = False) -> Path:
    """`caltech101/101_ObjectCategories/<class>/image_0001.jpg ..`, `counts[class]` images per class folder; with
    `release`, `caltech-101/101_ObjectCategories/` as `caltech-101.zip` and its `101_ObjectCategories.tar.gz`
    extract, with the stray file `BACKGROUND_Google/tmp` (a JPEG without its suffix)."""
    folder = root / ("caltech-101" if release else "caltech101") / "101_ObjectCategories"
    for name, count in counts.items():
        for number in range(1, count + 1):
            write_image(folder / name / f"image_{number:04d}.jpg")
    if release:
        write_image(folder / "BACKGROUND_Google" / "tmp.jpg").rename(folder / "BACKGROUND_Google" / "tmp")
    return folder


SUN397_CLASSES = ["/a/abbey", "/a/apartment_building/outdoor", "/b/bakery/shop"]


def sun397(root: Path, partitions: str = "SUN397") -> Path:
    """`SUN397/` as `SUN397.tar.gz` extracts (`ClassName.txt`, `a/abbey/sun_*.jpg`), and `Partitions.zip`'s
    `Training_01.txt` / `Testing_01.txt` (and a second partition) in `root / partitions`: partition 1 trains on
    2 abbey, 1 apartment, 1 bakery images, tests on 1 of each; partition 2 swaps two images."""
    folder = root / "SUN397"
    write_lines(folder / "ClassName.txt", SUN397_CLASSES)
    rows = {"Training": [(0, "aa"), (0, "ab"), (1, "ba"), (2, "ca")], "Testing": [(0, "ac"), (1, "bb"), (2, "cb")]}
    for kind, entries in rows.items():
        lines = [f"{SUN397_CLASSES[label]}/sun_{name}.jpg" for label, name in entries]
        write_lines(root / partitions / f"{kind}_01.txt", lines)
        write_lines(root / partitions / f"{kind}_02.txt", lines[::-1])
        for line in lines:
            write_image(folder / line.lstrip("/"))
    return folder
