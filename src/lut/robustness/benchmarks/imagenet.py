"""ImageNet val, V2, ReaL, A, O, R, Sketch and center occlusion.

Layouts: val, A, O, R and Sketch are folders with one sub-folder per wnid (a folder with `val/` or
`test/` inside is entered: its `val/` when `test/` is unlabelled, as in Kaggle's ImageNet); ImageNet
val may also be the flat folder the val tar extracts, labelled by the devkit's ground truth or
Kaggle's `LOC_val_solution.csv` (`lut.data.imagenet_val`); V2 has folders `0`..`999` named by
ImageNet class index (read as integers: sorting them as strings would mislabel them); ReaL reads
ImageNet val files named `ILSVRC2012_val_00000001.JPEG` ..., flat or in wnid folders.
"""

from pathlib import Path

import torch

from lut.data.imagenet_val import GROUND_TRUTH_FILES, val_number
from lut.data.sources import image_folder
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
from lut.robustness.scoring import (
    SUBSET_PROTOCOLS,
    max_softmax,
    ood_measures,
    real_top1,
    rms_calibration_error,
    subset_top1,
    top1,
)
from lut.robustness.tables import imagenet_index, imagenet_synsets, real_labels, subset_indices, subset_synsets

WNID_FOLDERS = ("one folder per ImageNet wnid (n01440764, ...), or the flat val files ILSVRC2012_val_00000001.JPEG "
                f"... with {GROUND_TRUTH_FILES} in or above their folder")


def image_pass(name: str, paths: list[Path], **kwargs) -> Pass:
    """A pass over image files, identified by their digest."""
    return Pass(name, ImageFiles(paths), files_fingerprint(paths), **kwargs)


def val_files(root: Path, benchmark: str, options: RobustnessOptions) -> tuple[list[Path], torch.Tensor]:
    """ImageNet val images in wnid folders and their 1000-way class indices."""
    files = class_folder_files(root, benchmark, set(imagenet_synsets()), WNID_FOLDERS)
    files = subsample(files, options.max_images, options.seed)
    index = imagenet_index()
    return [path for path, _ in files], torch.tensor([index[wnid] for _, wnid in files])


def imagenet_val(root: Path, options: RobustnessOptions, others: dict[str, Path]) -> Benchmark:
    """Plain 1000-way top-1 on ImageNet val."""
    paths, targets = val_files(root, "imagenet-val", options)
    return Benchmark("imagenet-val", [image_pass("images", paths)],
                     lambda logits: {"top1": top1(logits["images"], targets), "images": len(paths)}, "top1")


def imagenet_sketch(root: Path, options: RobustnessOptions, others: dict[str, Path]) -> Benchmark:
    """Plain 1000-way top-1 on ImageNet-Sketch (wnid folders; grayscale files are converted to RGB)."""
    paths, targets = val_files(root, "imagenet-sketch", options)
    return Benchmark("imagenet-sketch", [image_pass("images", paths)],
                     lambda logits: {"top1": top1(logits["images"], targets), "images": len(paths)}, "top1")


def imagenet_v2(root: Path, options: RobustnessOptions, others: dict[str, Path]) -> Benchmark:
    """ImageNet-V2: folder `k` holds class k (int(folder name), never the folders' sort order)."""
    files = class_folder_files(root, "imagenet-v2", {str(index) for index in range(1000)},
                               "folders named 0..999 by ImageNet class index")
    files = subsample(files, options.max_images, options.seed)
    paths, targets = [path for path, _ in files], torch.tensor([int(folder) for _, folder in files])
    return Benchmark("imagenet-v2", [image_pass("images", paths)],
                     lambda logits: {"top1": top1(logits["images"], targets), "images": len(paths)}, "top1",
                     notes=["imagenet-v2: class = int(folder name)"])


def imagenet_real(root: Path, options: RobustnessOptions, others: dict[str, Path]) -> Benchmark:
    """ReaL: the argmax is right when it is in the image's ReaL list; images with an empty list are skipped."""
    paths = [path for path, _ in image_folder(require_folder(root, "imagenet-real"), split="test").samples]
    paths = subsample(paths, options.max_images, options.seed)
    numbers = [val_number(path) for path in paths]
    stray = [path.name for path, number in zip(paths, numbers) if number is None]
    if stray:
        raise UsageError(f"imagenet-real: {root} is not in the benchmark's layout: expected ImageNet val files "
                         f"named ILSVRC2012_val_00000001.JPEG ...; found {len(stray)} other(s), e.g. {stray[0]}")
    labels = real_labels()
    positions = [number - 1 for number in numbers]
    outside = [paths[i].name for i, position in enumerate(positions) if not 0 <= position < len(labels)]
    if outside:
        raise UsageError(f"imagenet-real: {outside[0]} is not one of the {len(labels)} ImageNet val images")
    lists = [labels[position] for position in positions]

    def score(logits: dict[str, torch.Tensor]) -> dict:
        accuracy, scored = real_top1(logits["images"], lists)
        return {"top1": accuracy, "images": scored, "skipped_empty": len(lists) - scored}

    return Benchmark("imagenet-real", [image_pass("images", paths)], score, "top1",
                     notes=["imagenet-real: images with an empty ReaL label list are skipped"])


def subset_benchmark(name: str, root: Path, options: RobustnessOptions) -> Benchmark:
    """ImageNet-A or -R: 200 wnid folders, scored on their 200 classes (mask or membership)."""
    wnids = subset_synsets(name)
    files = class_folder_files(root, name, set(wnids), f"folders named by the {len(wnids)} {name} wnids")
    files = subsample(files, options.max_images, options.seed)
    position = {wnid: index for index, wnid in enumerate(wnids)}
    paths, targets = [path for path, _ in files], torch.tensor([position[wnid] for _, wnid in files])
    indices = subset_indices(name)

    def score(logits: dict[str, torch.Tensor]) -> dict:
        results = {f"top1_{protocol}": subset_top1(logits["images"], targets, indices, protocol)
                   for protocol in SUBSET_PROTOCOLS}
        masked = logits["images"][:, torch.tensor(indices)]  # (N, 200)
        correct = (masked.argmax(dim=1) == targets).numpy()
        calibration = rms_calibration_error(max_softmax(masked), correct)
        return {"top1": results[f"top1_{options.subset_protocol}"], **results, "rms_calibration_error": calibration,
                "images": len(paths)}

    note = (f"{name}: argmax over its 200 classes' logits" if options.subset_protocol == "mask"
            else f"{name}: argmax over all 1000 logits, right only when it is the image's class")
    return Benchmark(name, [image_pass("images", paths)], score, "top1", notes=[note])


def imagenet_a(root: Path, options: RobustnessOptions, others: dict[str, Path]) -> Benchmark:
    """ImageNet-A (natural adversarial examples)."""
    return subset_benchmark("imagenet-a", root, options)


def imagenet_r(root: Path, options: RobustnessOptions, others: dict[str, Path]) -> Benchmark:
    """ImageNet-R (renditions)."""
    return subset_benchmark("imagenet-r", root, options)


def imagenet_o(root: Path, options: RobustnessOptions, others: dict[str, Path]) -> Benchmark:
    """ImageNet-O: OOD detection against the ImageNet val images of its 200 classes.

    Raises:
        UsageError: without an `imagenet-val` benchmark to take the in-distribution images from.
    """
    if "imagenet-val" not in others:
        raise UsageError("imagenet-o needs the ImageNet val images of its 200 classes as in-distribution images: "
                         "also give --benchmark imagenet-val=PATH")
    wnids = subset_synsets("imagenet-o")
    out_files = class_folder_files(root, "imagenet-o", set(wnids), "folders named by the 200 imagenet-o wnids")
    in_files = [path for path, wnid in class_folder_files(others["imagenet-val"], "imagenet-val",
                                                          set(imagenet_synsets()), WNID_FOLDERS) if wnid in wnids]
    out_files = subsample(out_files, options.max_images, options.seed)
    in_files = subsample(in_files, options.max_images, options.seed)
    if not in_files:
        raise UsageError(f"imagenet-o: {others['imagenet-val']} holds no images of ImageNet-O's 200 classes")
    indices = torch.tensor(subset_indices("imagenet-o"))

    def score(logits: dict[str, torch.Tensor]) -> dict:
        in_scores = -max_softmax(logits["in-distribution"][:, indices])
        out_scores = -max_softmax(logits["images"][:, indices])
        return {**ood_measures(in_scores, out_scores), "images": len(out_files), "in_distribution": len(in_files)}

    return Benchmark("imagenet-o", [image_pass("images", [path for path, _ in out_files]),
                                    image_pass("in-distribution", in_files)], score, "aupr",
                     notes=["imagenet-o: AUPR with OOD positive, score -max softmax over the 200 O-class logits, "
                            f"against {len(in_files)} ImageNet val images of those classes"])


def occlusion(root: Path, options: RobustnessOptions, others: dict[str, Path]) -> Benchmark:
    """Center occlusion of ImageNet val: one pass per hole size."""
    paths, targets = val_files(root, "occlusion", options)
    passes = [image_pass(f"hole-{hole}", paths, occlusion=(hole, options.occlusion_fill))
              for hole in options.occlusion_holes]

    def score(logits: dict[str, torch.Tensor]) -> dict:
        holes = [{"value": hole, "top1": top1(logits[f"hole-{hole}"], targets)} for hole in options.occlusion_holes]
        return {"top1": holes[0]["top1"], "holes": holes, "images": len(paths)}

    sizes = ", ".join(f"{hole} x {hole}" for hole in options.occlusion_holes)
    return Benchmark("occlusion", passes, score, "top1", curves={"hole side (px)": "holes"},
                     notes=[f"occlusion: centred hole(s) {sizes} px filled with {options.occlusion_fill}-space zeros; "
                            "the table shows the first"])
