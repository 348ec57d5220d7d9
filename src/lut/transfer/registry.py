"""Transfer data sets by name, or a class-folder tree (`train/`, `val/`, `test/`, or no split folders), opened
into three splits.

Where a set has no validation split, a stratified seeded hold-out of its training split becomes the
validation split (saved, reused); where it has no labelled test split (iNaturalist, a folder without
`test/` or with unlabelled images there), its official validation split is the test split, as in the
papers that report these sets; a folder without either holds out the fixed fifth every command holds out.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torch.utils.data import Dataset

from lut.data.held_out import held_out_split
from lut.data.sampling import random_subset
from lut.data.sources import image_folder
from lut.errors import DataNotFoundError, UsageError
from lut.transfer import release_sets, torchvision_sets
from lut.transfer.holdout import saved_holdout
from lut.transfer.splits import TransferSplits, select, split_labels


@dataclass(frozen=True)
class TransferSet:
    """How to open one named set.

    Attributes:
        read: `data_root -> {"train", "test" and maybe "val": split}`.
        folder: the set's folder under `data_root` ("" for a data set found without one).
        expected: what that folder holds, for messages.
        metric: "top1", or "class_mean" where the literature reports mean per-class accuracy.
        note: one line on a choice the reader makes (a split drawn for a set without one), said when opened.
        release_folders: the folders the release extracts to, read in place of `folder` (torchvision's) when
            that is absent, said in one line.
    """

    read: Callable[[Path], dict[str, Dataset]]
    folder: str
    expected: str
    metric: str = "top1"
    note: str = ""
    release_folders: tuple[str, ...] = ()


TRANSFER_SETS: dict[str, TransferSet] = {
    "fashion-mnist": TransferSet(lambda root: torchvision_sets.builtin_splits("fashion-mnist", root), "",
                                 "the Fashion-MNIST IDX files"),
    "cifar10": TransferSet(lambda root: torchvision_sets.builtin_splits("cifar10", root), "cifar-10-batches-py",
                           "data_batch_1..5, test_batch, batches.meta"),
    "cifar100": TransferSet(lambda root: torchvision_sets.builtin_splits("cifar100", root), "cifar-100-python",
                            "train, test, meta"),
    "flowers102": TransferSet(torchvision_sets.flowers102, "flowers-102", "jpg/, imagelabels.mat, setid.mat",
                              "class_mean"),
    "aircraft": TransferSet(torchvision_sets.aircraft, "fgvc-aircraft-2013b",
                            "data/images/, data/variants.txt, data/images_variant_{train,val,test}.txt", "class_mean"),
    "pets": TransferSet(torchvision_sets.oxford_pets, "oxford-iiit-pet",
                        "images/, annotations/{trainval,test}.txt", "class_mean"),
    "cars": TransferSet(torchvision_sets.stanford_cars, "stanford_cars",
                        "devkit/{cars_meta,cars_train_annos}.mat, cars_train/, cars_test/, "
                        "cars_test_annos_withlabels.mat"),
    "dtd": TransferSet(torchvision_sets.dtd, "dtd/dtd", "images/, labels/{train,val,test}1.txt",
                       release_folders=torchvision_sets.DTD_FOLDERS[1:]),
    "food101": TransferSet(torchvision_sets.food101, "food-101", "images/, meta/{train,test}.json"),
    "caltech101": TransferSet(
        torchvision_sets.caltech101, "caltech101",
        "101_ObjectCategories/ with one folder per class (BACKGROUND_Google/ among them, left out) of "
        "image_0001.jpg ..", "class_mean",
        f"caltech101 has no official split: {torchvision_sets.CALTECH101_TRAIN_PER_CLASS} images of every class "
        f"(drawn with seed {torchvision_sets.CALTECH101_SPLIT_SEED}) are the training split, the rest the test "
        "split; BACKGROUND_Google is not a class (as in torchvision)",
        release_folders=torchvision_sets.CALTECH101_FOLDERS[1:]),
    "caltech101_bg": TransferSet(
        lambda root: torchvision_sets.caltech101(root, background=True), "caltech101",
        "101_ObjectCategories/ with one folder per class (BACKGROUND_Google/ among them) of image_0001.jpg ..",
        "class_mean",
        f"caltech101_bg has no official split: {torchvision_sets.CALTECH101_TRAIN_PER_CLASS} images of every class "
        f"(drawn with seed {torchvision_sets.CALTECH101_SPLIT_SEED}) are the training split, the rest the test "
        "split; BACKGROUND_Google is class 101, the last of 102 (as TensorFlow Datasets counts them)",
        release_folders=torchvision_sets.CALTECH101_FOLDERS[1:]),
    "inat2017": TransferSet(release_sets.inaturalist_json("2017"), "inat2017",
                            "train2017.json, val2017.json and the images they name"),
    "inat2018": TransferSet(release_sets.inaturalist_json("2018"), "inat2018",
                            "train2018.json, val2018.json and the images they name"),
    "inat2019": TransferSet(release_sets.inaturalist_json("2019"), "inat2019",
                            "train2019.json, val2019.json and the images they name"),
    "inat2021": TransferSet(torchvision_sets.inaturalist_2021("2021_train"), "2021_train",
                            "one folder per species (00000_Animalia_...), and 2021_valid/ (the release's val/) beside "
                            "it", release_folders=torchvision_sets.INAT_2021_FOLDERS["2021_train"][1:]),
    "inat2021_mini": TransferSet(torchvision_sets.inaturalist_2021("2021_train_mini"), "2021_train_mini",
                                 "one folder per species (00000_Animalia_...), and 2021_valid/ (the release's val/) "
                                 "beside it",
                                 release_folders=torchvision_sets.INAT_2021_FOLDERS["2021_train_mini"][1:]),
    "cub200": TransferSet(release_sets.bird_release("CUB_200_2011"), "CUB_200_2011",
                          "images/, images.txt, image_class_labels.txt, train_test_split.txt, classes.txt"),
    "nabirds": TransferSet(release_sets.bird_release("nabirds"), "nabirds",
                           "images/, images.txt, image_class_labels.txt, train_test_split.txt, classes.txt"),
    "stanford_dogs": TransferSet(release_sets.stanford_dogs, "stanford_dogs",
                                 "Images/, train_list.mat, test_list.mat"),
    "sun397": TransferSet(release_sets.sun397, "SUN397",
                          "ClassName.txt, a/abbey/sun_*.jpg .., and Partitions.zip's Training_01.txt, Testing_01.txt "
                          "(in it, in its Partitions/, or in Partitions/ beside it)",
                          note=f"sun397: the official partition {release_sets.SUN397_PARTITION} (Training_01.txt, "
                               "Testing_01.txt)"),
}
FOLDER_LAYOUT = "one folder of images per class, or train/ (and val/, test/) sub-folders that each hold one"


def official_splits(data: str, data_root: Path) -> tuple[dict[str, Dataset], str, list[str]]:
    """The splits a named set or a class-folder tree ships with, its metric, and notes on what was chosen.

    Raises:
        UsageError: an unknown name (with the known ones), a folder in no known layout, or unreadable release files.
        DataNotFoundError: a named set whose folder is not under `data_root`.
    """
    if data in TRANSFER_SETS:
        spec = TRANSFER_SETS[data]
        notes = [spec.note] if spec.note else []
        folder = data_root / spec.folder
        if spec.folder and not folder.is_dir():
            release = next((data_root / name for name in spec.release_folders if (data_root / name).is_dir()), None)
            if release is None:
                also = "".join(f" or {data_root / name}" for name in spec.release_folders)
                raise DataNotFoundError(f"{data}: no folder {folder}{also}; expected it to hold {spec.expected} "
                                        "(set data_root=FOLDER to where the set's folder lies)")
            notes.append(f"{data}: reading {release} as the release extracts it (torchvision's layout names it "
                         f"{spec.folder}/)")
            folder = release
        try:
            splits = spec.read(data_root)
        except (RuntimeError, OSError, KeyError, ValueError, IndexError, TypeError) as error:
            raise UsageError(f"{data}: cannot read {folder} ({type(error).__name__}: {error}); expected "
                             f"{spec.expected}") from error
        return splits, spec.metric, notes
    path = Path(data).expanduser()
    if not path.is_dir():
        raise UsageError(f"unknown transfer data set {data!r} and no such folder; known sets: "
                         f"{', '.join(TRANSFER_SETS)}, or a folder with {FOLDER_LAYOUT}")
    splits, notes = folder_splits(path)
    return splits, "top1", notes


def folder_splits(path: Path) -> tuple[dict[str, Dataset], list[str]]:
    """The labelled splits of a class-folder tree, and one note per choice made.

    `train/` is the training split; a `val/` or `test/` of unlabelled images is not a split (said); without a
    labelled `test/`, a labelled `val/` is the test split; without either, or in a folder without split
    folders, the fixed fifth that every command holds out (`lut.data.held_out`) is the test split.

    Raises:
        UsageError: no labelled training images.
    """
    present = [name for name in ("train", "val", "test") if (path / name).is_dir()]
    train_folder = path / "train" if present else path
    train = image_folder(train_folder) if train_folder.is_dir() else None
    if train is None or not train.classes:
        found = ", ".join(f"{name}/" for name in present) or "no split folders"
        raise UsageError(f"{path} is in none of the known layouts ({found}, no labelled training images); expected "
                         f"{FOLDER_LAYOUT}")
    splits, notes = {"train": train}, []
    for name in ("val", "test"):
        if name not in present:
            continue
        split = image_folder(path / name)
        if split.classes:
            splits[name] = split.relabelled(train.classes)
        else:
            notes.append(f"{path / name} holds unlabelled images: it is not an evaluation split")
    if "test" not in splits and "val" in splits:
        splits["test"] = splits.pop("val")
        notes.append(f"{path} has no labelled test/: val/ is the test split")
    elif "test" not in splits:
        splits["train"], splits["test"] = held_out_split(train)
        notes.append(f"{train_folder} has no labelled test split: holding out {len(splits['test'])} of its "
                     f"{len(train)} images for testing (the fixed fifth every command holds out, never trained on)")
    return splits, notes


def open_transfer_set(
    data: str,
    data_root: str | Path,
    holdout_path: Path,
    val_fraction: float = 0.1,
    seed: int = 0,
    train_samples: int = 0,
    test_samples: int = 0,
) -> TransferSplits:
    """Open a set's training, validation and test splits.

    Args:
        data: a name of `TRANSFER_SETS` or a class-folder tree.
        data_root: the folder holding the named sets' folders.
        holdout_path: where the validation hold-out is saved (and reused from).
        val_fraction: share of every class held out when the set has no validation split.
        seed: seed of the hold-out and of the subsets.
        train_samples: random training subset (0: all), drawn after the hold-out.
        test_samples: random subset of the validation and of the test split each (0: all).
    """
    splits, metric, notes = official_splits(data, Path(data_root).expanduser())
    train = splits["train"]
    if "val" in splits:
        val = splits["val"]
    else:
        held_out, reused = saved_holdout(holdout_path, split_labels(train), val_fraction, seed)
        kept = sorted(set(range(len(train))) - set(held_out))
        train, val = select(train, kept), select(train, held_out)
        verb = "reusing the" if reused else "saved a new"
        notes.append(f"{data} has no validation split: {verb} stratified hold-out of {len(held_out)} training images "
                     f"({val_fraction:g} of each class, seed {seed}) in {holdout_path}")
    if train_samples and train_samples < len(train):
        notes.append(f"training on a random subset of {train_samples} of {len(train)} images (train_samples)")
    if test_samples and test_samples < max(len(val), len(splits["test"])):
        notes.append(f"validating and testing on random subsets of {test_samples} images (test_samples)")
    return TransferSplits(
        train=random_subset(train, train_samples, seed),
        val=random_subset(val, test_samples, seed + 1),
        test=random_subset(splits["test"], test_samples, seed + 2),
        classes=list(splits["train"].classes),
        metric=metric,
        notes=notes,
    )
