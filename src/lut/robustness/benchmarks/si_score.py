"""SI-Score (Djolonga et al. 2020): objects pasted on backgrounds at varied size, location and rotation.

Layout (one download per factor: `object_size/`, `object_location/`, `rotation/`): one folder per
foreground class name (`bagel/`, `ambulance/`, ...) holding `<image_id>.jpg`, and `metadata.csv`
(image_id, x_coord, y_coord, area, rotation, ...), as `dataset_generator.py` of
`google-research/si-score` writes them. The label is the class name's ImageNet index
(`label_str_to_imagenet_classes.py`); the score is 1000-way top-1, overall and per factor value.
Without `metadata.csv` (as the TensorFlow Datasets zips extract: class folders only) the overall top-1
is scored alone, said in one line.
"""

import csv
from collections import defaultdict
from pathlib import Path

import torch

from lut.errors import UsageError
from lut.robustness.benchmarks.base import Benchmark, class_folder_files, require_folder, subsample
from lut.robustness.benchmarks.imagenet import image_pass
from lut.robustness.options import RobustnessOptions
from lut.robustness.tables import si_score_classes

METADATA = "metadata.csv"
# benchmark name -> {curve name: metadata column}
FACTORS = {
    "si-score-size": {"object area (fraction of the image)": "area"},
    "si-score-location": {"object centre x (fraction of the width)": "x_coord",
                          "object centre y (fraction of the height)": "y_coord"},
    "si-score-rotation": {"rotation (degrees)": "rotation"},
}


def read_metadata(path: Path, columns: set[str]) -> dict[str, dict[str, float]]:
    """image_id -> {column: value} from SI-Score's `metadata.csv`.

    Raises:
        UsageError: missing columns, or a value that is not a number.
    """
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        absent = sorted(columns - set(reader.fieldnames or []) | ({"image_id"} - set(reader.fieldnames or [])))
        if absent:
            raise UsageError(f"SI-Score: {path} lacks the column(s) {', '.join(absent)}")
        try:
            return {row["image_id"]: {column: float(row[column]) for column in columns} for row in reader}
        except ValueError as error:
            raise UsageError(f"SI-Score: {path} holds a value that is not a number ({error})") from error


def si_score(name: str, root: Path, options: RobustnessOptions) -> Benchmark:
    """One SI-Score factor's benchmark."""
    root = require_folder(root, name)
    classes = si_score_classes()
    files = class_folder_files(root, name, set(classes), "folders named by SI-Score's foreground classes "
                               f"(bagel, ambulance, ...), and {METADATA} for the per-factor curves")
    files = subsample(files, options.max_images, options.seed)
    curves, notes = FACTORS[name], []
    paths, targets = [path for path, _ in files], torch.tensor([classes[folder] for _, folder in files])
    if (root / METADATA).is_file():
        factors = factor_values(name, root / METADATA, paths, set(curves.values()))
    else:
        curves, factors = {}, {}
        notes.append(f"{name}: no {METADATA} in {root} (class folders only, as the TensorFlow Datasets zips "
                     "extract): top-1 over all images, without the per-factor curves")

    def score(logits: dict[str, torch.Tensor]) -> dict:
        correct = (logits["images"].argmax(dim=1) == targets).tolist()
        results: dict = {"top1": 100 * sum(correct) / len(correct), "images": len(paths)}
        for column, values in factors.items():
            groups: dict[float, list[bool]] = defaultdict(list)
            for value, hit in zip(values, correct):
                groups[value].append(hit)
            results[column] = [{"value": value, "top1": 100 * sum(hits) / len(hits), "images": len(hits)}
                               for value, hits in sorted(groups.items())]
        return results

    return Benchmark(name, [image_pass("images", paths)], score, "top1", notes=notes, curves=dict(curves))


def factor_values(name: str, metadata_path: Path, paths: list[Path], columns: set[str]) -> dict[str, list[float]]:
    """{metadata column: each image's value} for the images at `paths`, read from `metadata.csv`.

    Raises:
        UsageError: an image the metadata does not list (and `read_metadata`'s errors).
    """
    metadata = read_metadata(metadata_path, columns)
    unlisted = [path.name for path in paths if path.stem not in metadata]
    if unlisted:
        raise UsageError(f"{name}: {len(unlisted)} image(s) are not in {metadata_path}, e.g. {unlisted[0]}")
    return {column: [metadata[path.stem][column] for path in paths] for column in columns}


def si_score_size(root: Path, options: RobustnessOptions, others: dict[str, Path]) -> Benchmark:
    """SI-Score object size."""
    return si_score("si-score-size", root, options)


def si_score_location(root: Path, options: RobustnessOptions, others: dict[str, Path]) -> Benchmark:
    """SI-Score object location."""
    return si_score("si-score-location", root, options)


def si_score_rotation(root: Path, options: RobustnessOptions, others: dict[str, Path]) -> Benchmark:
    """SI-Score rotation."""
    return si_score("si-score-rotation", root, options)
