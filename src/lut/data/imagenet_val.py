"""Labels of the flat ImageNet validation folder (the 50,000 files as `ILSVRC2012_img_val.tar` extracts).

The images `ILSVRC2012_val_00000001.JPEG` .. carry no class in their path; their wnids come from whichever
ground truth lies in the folder or up to `SEARCH_DEPTH` folders above it:

- Kaggle's `LOC_val_solution.csv` (`ImageId,PredictionString`, the string's first word the wnid), as the
  ImageNet object-localisation download holds it beside `ILSVRC/Data/CLS-LOC/val/`;
- the devkit's `ILSVRC2012_validation_ground_truth.txt` (line k: the 1-based ILSVRC2012_ID of image k) with
  `meta.mat` (its `synsets` table maps the ids to wnids), in `ILSVRC2012_devkit_t12/data/` or loose.
"""

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from lut.errors import UsageError

VAL_FILE = re.compile(r"^ILSVRC2012_val_(\d{8})(?:\.|$)", re.IGNORECASE)  # a file, or a CSV ImageId
KAGGLE_SOLUTION = "LOC_val_solution.csv"
DEVKIT_GROUND_TRUTH = "ILSVRC2012_validation_ground_truth.txt"
DEVKIT_META = "meta.mat"
DEVKIT_DATA = Path("ILSVRC2012_devkit_t12") / "data"
SEARCH_DEPTH = 4  # Kaggle's val/ lies in ILSVRC/Data/CLS-LOC/ below the CSV
GROUND_TRUTH_FILES = (f"{KAGGLE_SOLUTION}, or {DEVKIT_GROUND_TRUTH} with {DEVKIT_META} (the devkit's "
                      f"{DEVKIT_DATA.as_posix()}/)")


@dataclass(frozen=True)
class ValGroundTruth:
    """Where the labels of a flat validation folder come from.

    Attributes:
        path: the ground-truth file found (the CSV or the devkit's text file).
        meta: the devkit's `meta.mat` (None for the CSV).
    """

    path: Path
    meta: Path | None = None

    def wnids(self) -> dict[int, str]:
        """Validation image number (1-based, as in its file name) -> wnid.

        Raises:
            UsageError: a malformed file, or an ILSVRC2012_ID that `meta.mat` does not name.
        """
        if self.meta is None:
            return kaggle_wnids(self.path)
        return devkit_wnids(self.path, self.meta)


def find_ground_truth(folder: Path) -> ValGroundTruth | None:
    """The ground truth nearest `folder` (the folder itself first, then up to `SEARCH_DEPTH` folders above)."""
    for place in [folder, *folder.parents][: SEARCH_DEPTH + 1]:
        if (place / KAGGLE_SOLUTION).is_file():
            return ValGroundTruth(place / KAGGLE_SOLUTION)
        for data in (place, place / DEVKIT_DATA):
            if (data / DEVKIT_GROUND_TRUTH).is_file() and (data / DEVKIT_META).is_file():
                return ValGroundTruth(data / DEVKIT_GROUND_TRUTH, data / DEVKIT_META)
    return None


def val_number(path: Path) -> int | None:
    """The 1-based number of an ImageNet validation file (`ILSVRC2012_val_00000007.JPEG` or its stem -> 7), else
    None."""
    match = VAL_FILE.match(path.name)
    return int(match.group(1)) if match else None


def kaggle_wnids(path: Path) -> dict[int, str]:
    """Image number -> wnid from `LOC_val_solution.csv` (every box of an image names its class; the first is read).

    Raises:
        UsageError: a file without the columns `ImageId` and `PredictionString`, or a row without a wnid.
    """
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if not {"ImageId", "PredictionString"} <= set(reader.fieldnames or []):
            raise UsageError(f"{path}: expected the columns ImageId,PredictionString, found {reader.fieldnames}")
        wnids = {}
        for row in reader:
            number, words = val_number(Path(row["ImageId"])), row["PredictionString"].split()
            if number is None or not words:
                raise UsageError(f"{path}: row {row['ImageId']!r} names no ImageNet val image or no wnid")
            wnids[number] = words[0]
    return wnids


def devkit_wnids(ground_truth: Path, meta: Path) -> dict[int, str]:
    """Image number -> wnid from the devkit's ground truth (1-based ILSVRC2012_IDs) and `meta.mat`.

    Raises:
        UsageError: a line that is not an id, or an id that `meta.mat` does not list.
    """
    from scipy.io import loadmat  # a dependency of scikit-learn; imported only for this file

    synsets = loadmat(meta, squeeze_me=True)["synsets"]
    wnid_of = {int(synset["ILSVRC2012_ID"]): str(synset["WNID"]) for synset in synsets}
    wnids = {}
    for number, line in enumerate(ground_truth.read_text().split(), 1):
        if not line.isdigit() or int(line) not in wnid_of:
            raise UsageError(f"{ground_truth}, line {number}: {line!r} is not an ILSVRC2012_ID listed in {meta}")
        wnids[number] = wnid_of[int(line)]
    return wnids


def flat_val_labels(folder: Path, files: list[Path]) -> tuple[list[str], list[int], ValGroundTruth] | None:
    """(classes, each file's label, the ground truth) when `files`, lying directly in `folder`, are all ImageNet
    validation files and a ground truth is found; None otherwise.

    Classes are the sorted wnids of the files (ImageNet's class order when all 1000 are there).

    Raises:
        UsageError: a file the ground truth does not list.
    """
    numbers = [val_number(path) for path in files]
    if not files or None in numbers:
        return None
    truth = find_ground_truth(folder)
    if truth is None:
        return None
    wnid_of = truth.wnids()
    unlisted = [path.name for path, number in zip(files, numbers) if number not in wnid_of]
    if unlisted:
        raise UsageError(f"{folder}: {len(unlisted)} image(s) are not in {truth.path}, e.g. {unlisted[0]}")
    classes = sorted({wnid_of[number] for number in numbers})
    position = {wnid: label for label, wnid in enumerate(classes)}
    return classes, [position[wnid_of[number]] for number in numbers], truth
