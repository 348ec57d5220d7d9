"""ObjectNet's 113 ImageNet-overlapping classes, scored as model soups' `datasets/objectnet.py` does.

Layout of the download (`objectnet-1.0/`): `images/<folder>/*.png` and `mappings/` with
`folder_to_objectnet_label.json` ({folder: ObjectNet name}), `objectnet_to_imagenet_1k.json`
({ObjectNet name: "ImageNet name; ImageNet name"}), `pytorch_to_imagenet_2012_id.json`
({1000-way index: ImageNet 2012 id}) and `imagenet_to_label_2012_v2` (line i: the name of 2012 id i).
Images of folders outside the mapping are dropped; a thin border (2 px) is cropped off every image;
each class's logit is the max over the logits of its ImageNet classes.
"""

import json
from pathlib import Path

import torch
from PIL import Image

from lut.errors import UsageError
from lut.robustness.benchmarks.base import (
    Benchmark,
    ImageFiles,
    Pass,
    class_folder_files,
    files_fingerprint,
    require_folder,
    subsample,
)
from lut.robustness.options import RobustnessOptions
from lut.robustness.scoring import project_logits, top1

MAPPING_FILES = ("folder_to_objectnet_label.json", "objectnet_to_imagenet_1k.json",
                 "pytorch_to_imagenet_2012_id.json", "imagenet_to_label_2012_v2")


class BorderCrop:
    """Cut `border` pixels off each side of a PIL image (ObjectNet's frame)."""

    def __init__(self, border: int) -> None:
        self.border = border

    def __call__(self, image: Image.Image) -> Image.Image:
        width, height = image.size
        return image.crop((self.border, self.border, width - self.border, height - self.border))


def read_mappings(folder: Path) -> dict[str, list[int]]:
    """Image folder name -> the 1000-way indices of its ImageNet classes, from the download's mapping files.

    Raises:
        UsageError: missing or malformed mapping files, or names that do not resolve.
    """
    missing = [name for name in MAPPING_FILES if not (folder / name).is_file()]
    if missing:
        raise UsageError(f"objectnet: mapping file(s) missing in {folder}: {', '.join(missing)} (they come with "
                         "the ObjectNet download, in objectnet-1.0/mappings/)")
    try:
        folder_of = {name: folder_name for folder_name, name in
                     json.loads((folder / MAPPING_FILES[0]).read_text()).items()}
        imagenet_names = json.loads((folder / MAPPING_FILES[1]).read_text())
        index_of_id = {int(imagenet_id): int(index) for index, imagenet_id in
                       json.loads((folder / MAPPING_FILES[2]).read_text()).items()}
        lines = (folder / MAPPING_FILES[3]).read_text().splitlines()
        index_of_name = {line.strip(): index_of_id[imagenet_id] for imagenet_id, line in enumerate(lines)}
        return {folder_of[name]: [index_of_name[part] for part in names.split("; ")]
                for name, names in imagenet_names.items()}
    except (ValueError, KeyError, AttributeError) as error:
        raise UsageError(f"objectnet: the mapping files in {folder} do not fit together ({error!r})") from error


def objectnet(root: Path, options: RobustnessOptions, others: dict[str, Path]) -> Benchmark:
    """ObjectNet top-1 on its ImageNet-overlapping classes."""
    root = require_folder(root, "objectnet")
    if not (root / "images").is_dir():
        raise UsageError(f"objectnet: {root} is not in the benchmark's layout: expected images/<class folder>/ "
                         "and mappings/ (the objectnet-1.0 folder of the download)")
    classes = read_mappings(root / "mappings")
    folders = sorted(classes)
    files = [(path, folder) for path, folder in class_folder_files(root / "images", "objectnet", None, "")
             if folder in classes]
    files = subsample(files, options.max_images, options.seed)
    if not files:
        raise UsageError(f"objectnet: no images in the {len(folders)} mapped class folders of {root / 'images'}")
    position = {folder: index for index, folder in enumerate(folders)}
    paths, targets = [path for path, _ in files], torch.tensor([position[folder] for _, folder in files])
    groups = [classes[folder] for folder in folders]

    def score(logits: dict[str, torch.Tensor]) -> dict:
        images = logits["images"]
        predictions = images.argmax(dim=1).tolist()
        membership = 100 * sum(prediction in groups[target] for prediction, target in
                               zip(predictions, targets.tolist())) / len(predictions)
        results = {"top1_mask": top1(project_logits(images, groups), targets), "top1_membership": membership}
        return {"top1": results[f"top1_{options.subset_protocol}"], **results, "images": len(paths),
                "classes": len(folders)}

    border = options.objectnet_border
    images = Pass("images", ImageFiles(paths), f"{files_fingerprint(paths)}|border={border}", BorderCrop(border))
    return Benchmark("objectnet", [images], score, "top1",
                     notes=[f"objectnet: {len(folders)} classes, {options.objectnet_border}-px border cropped, "
                            "class logit = max over its ImageNet logits"])
