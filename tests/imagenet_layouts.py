"""Tiny ImageNet trees in the layouts the releases extract to (8 px images), shared by the data, evaluation,
robustness and transfer tests.

- The devkit (`ILSVRC2012_devkit_t12.tar.gz`): `data/meta.mat` (a `synsets` struct array: ILSVRC2012_ID, WNID,
  words, num_children, ...) and `data/ILSVRC2012_validation_ground_truth.txt` (line k: the ILSVRC2012_ID of
  `ILSVRC2012_val_{k:08d}.JPEG`); `ILSVRC2012_img_val.tar` extracts its 50,000 files flat.
- Kaggle's `imagenet-object-localization-challenge`: `LOC_synset_mapping.txt`, `LOC_val_solution.csv`
  (`ImageId,PredictionString`, the string's boxes each start with the wnid) and `ILSVRC/Data/CLS-LOC/` with
  `train/<wnid>/<wnid>_<n>.JPEG`, flat `val/ILSVRC2012_val_*.JPEG` and flat, unlabelled `test/ILSVRC2012_test_*.JPEG`.

The first five validation images' classes are the real ones (the ground truth's first lines).
"""

from pathlib import Path

import numpy as np
from PIL import Image

# image number -> (ILSVRC2012_ID, wnid), the devkit's first five ground-truth lines
FIRST_VAL = {1: (490, "n01751748"), 2: (361, "n09193705"), 3: (171, "n02105855"), 4: (822, "n04263257"),
             5: (297, "n03125729")}
VAL_WNIDS = sorted({wnid for _, wnid in FIRST_VAL.values()})


def write_image(path: Path, value: int = 0) -> Path:
    """An 8 x 8 RGB image of one grey level (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), value, dtype=np.uint8)).save(path, format="JPEG" if path.suffix.upper()
                                                                     == ".JPEG" else None)
    return path


def flat_val(folder: Path, numbers: list[int] = sorted(FIRST_VAL)) -> list[Path]:
    """`ILSVRC2012_val_0000000k.JPEG` for each k, directly in `folder` (as the val tar extracts)."""
    return [write_image(folder / f"ILSVRC2012_val_{number:08d}.JPEG", 10 * number) for number in numbers]


def devkit(root: Path) -> Path:
    """`ILSVRC2012_devkit_t12/data/` with `meta.mat` (the five leaf synsets and one inner node) and the ground truth."""
    from scipy.io import savemat

    data = root / "ILSVRC2012_devkit_t12" / "data"
    data.mkdir(parents=True)
    fields = [("ILSVRC2012_ID", "O"), ("WNID", "O"), ("words", "O"), ("gloss", "O"), ("num_children", "O"),
              ("children", "O"), ("wordnet_height", "O"), ("num_train_images", "O")]
    rows = [(ids, wnid, wnid, "", 0, np.zeros(0), 0, 1300) for ids, wnid in FIRST_VAL.values()]
    rows.append((1001, "n00001740", "entity", "", 2, np.array([490, 361]), 18, 0))
    synsets = np.array(rows, dtype=fields)
    savemat(data / "meta.mat", {"synsets": synsets[:, None]})
    (data / "ILSVRC2012_validation_ground_truth.txt").write_text(
        "".join(f"{FIRST_VAL[number][0]}\n" for number in sorted(FIRST_VAL)))
    return data


def kaggle(root: Path, val_in_class_folders: bool = False, test_images: int = 2) -> Path:
    """`imagenet-object-localization-challenge/` as Kaggle's download extracts; returns its `ILSVRC/Data/CLS-LOC`.

    train/ holds two images of each of the five classes; val/ the five validation images (flat, or, when
    `val_in_class_folders`, moved into wnid folders as the common `valprep.sh` does); test/ `test_images` loose
    unlabelled images.
    """
    top = root / "imagenet-object-localization-challenge"
    top.mkdir(parents=True)
    (top / "LOC_synset_mapping.txt").write_text("".join(f"{wnid} {wnid} words\n" for wnid in VAL_WNIDS))
    (top / "LOC_val_solution.csv").write_text("ImageId,PredictionString\n" + "".join(
        f"ILSVRC2012_val_{number:08d},{wnid} 1 2 7 8 {wnid} 0 0 3 3 \n" for number, (_, wnid) in FIRST_VAL.items()))
    cls_loc = top / "ILSVRC" / "Data" / "CLS-LOC"
    for wnid in VAL_WNIDS:
        for index in range(2):
            write_image(cls_loc / "train" / wnid / f"{wnid}_{index + 1}.JPEG", 200)
    if val_in_class_folders:
        for number, (_, wnid) in FIRST_VAL.items():
            write_image(cls_loc / "val" / wnid / f"ILSVRC2012_val_{number:08d}.JPEG", 10 * number)
    else:
        flat_val(cls_loc / "val")
    for number in range(1, test_images + 1):
        write_image(cls_loc / "test" / f"ILSVRC2012_test_{number:08d}.JPEG", 100)
    return cls_loc
