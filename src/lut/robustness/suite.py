"""`evaluate_robustness`: every checkpoint on every benchmark, logits cached, scores and report written."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lut.analysis.models import checkpoint_labels
from lut.data.views import EvalTransform, eval_crop_pct
from lut.errors import UsageError
from lut.interchange.classifier import ClassifierInfo, load_classifier
from lut.interchange.export import check_output_path
from lut.robustness.benchmarks import Benchmark, Pass, build_benchmarks, parse_benchmark_specs
from lut.robustness.cache import cache_file, cache_key, load_logits, save_logits
from lut.robustness.inference import PassImages, predict_logits
from lut.robustness.occlusion import CenterOcclusion
from lut.robustness.options import RobustnessOptions
from lut.robustness.report import write_report
from lut.runtime.distributed import DistributedContext, wait_for_all
from lut.runtime.precision import autocast_dtype
from lut.runtime.session import run_session
from lut.wording import counted


@dataclass
class RobustnessSettings:
    """One robustness run.

    Attributes:
        checkpoints: classifier files.
        labels: a name per checkpoint (default: folder names).
        benchmarks: `NAME=PATH` items (`fashion-mnist` needs no path).
        options: protocol choices.
        output_dir: where results.json, table.md and the curves PNG go.
        cache_dir: logits cache folder; None disables the cache.
        batch_size: images per forward and process.
        num_workers: data loader processes.
        device: auto, cpu or cuda.
        precision: auto (bf16 where the device computes it natively, else fp32), fp32 or bf16.
        crop_pct: evaluation crop (None: the checkpoint's, else 0.875 at 224 px and more, 1.0 below).
    """

    checkpoints: list[str]
    benchmarks: list[str]
    labels: list[str] | None = None
    options: RobustnessOptions = field(default_factory=RobustnessOptions)
    output_dir: str = "runs/robustness"
    cache_dir: str | None = None
    batch_size: int = 128
    num_workers: int = 4
    device: str = "auto"
    precision: str = "auto"
    crop_pct: float | None = None


@dataclass
class LabelledClassifier:
    """A loaded classifier with its label (the name it has in tables) and the evaluation view it gets."""

    label: str
    model: nn.Module
    info: ClassifierInfo
    view: EvalTransform
    view_settings: dict[str, Any]


def check_settings(settings: RobustnessSettings) -> None:
    """Refuse an evaluation of nothing before any work (the numbers' bounds are `RobustnessConfig`'s).

    Raises:
        UsageError: naming the setting.
    """
    if not settings.checkpoints:
        raise UsageError("no checkpoint given: pass --checkpoint PATH [PATH ...]")
    if not settings.benchmarks:
        raise UsageError("no benchmark given: pass --benchmark NAME=PATH [NAME=PATH ...]")
    options = settings.options
    holes = options.occlusion_holes
    if not holes or min(holes) < 1:
        raise UsageError("--occlusion-hole sizes must be positive pixel counts")


def load_classifiers(settings: RobustnessSettings, benchmarks: list[Benchmark]) -> list[LabelledClassifier]:
    """Every checkpoint's classifier, checked against the benchmarks' class counts and occlusion holes.

    Raises:
        UsageError: a classifier with the wrong number of outputs, or a hole larger than its input.
    """
    classifiers = []
    for path, label in zip(settings.checkpoints, checkpoint_labels(settings.checkpoints, settings.labels)):
        model, info = load_classifier(path)
        for benchmark in benchmarks:
            if info.num_classes != benchmark.num_classes:
                raise UsageError(f"{path} has {info.num_classes} outputs; {benchmark.name} needs a "
                                 f"{benchmark.num_classes}-class classifier")
        size = info.architecture.img_size
        too_large = [hole for benchmark in benchmarks for step in benchmark.passes if step.occlusion
                     for hole in [step.occlusion[0]] if isinstance(hole, int) and hole > size]
        if too_large:
            raise UsageError(f"occlusion hole {too_large[0]} px is larger than {path}'s {size} px input")
        crop_pct = settings.crop_pct or info.crop_pct or eval_crop_pct(size)
        view_settings = {"img_size": size, "crop_pct": crop_pct, "mean": info.mean, "std": info.std}
        classifiers.append(LabelledClassifier(label, model, info, EvalTransform(size, info.mean, info.std, crop_pct),
                                      view_settings))
    return classifiers


def occlusion_transform(step: Pass, classifier: LabelledClassifier) -> CenterOcclusion | None:
    """The pass's occlusion at the classifier's input size and normalisation, or None."""
    if step.occlusion is None:
        return None
    hole, fill = step.occlusion
    size = classifier.view_settings["img_size"]
    side = hole if isinstance(hole, int) else round(hole * size)
    return CenterOcclusion(side, fill, classifier.info.mean, classifier.info.std)


def pass_logits(
    classifier: LabelledClassifier, benchmark: Benchmark, step: Pass, settings: RobustnessSettings,
    context: DistributedContext,
) -> tuple[torch.Tensor, bool]:
    """The pass's logits from the cache, else from a forward pass (then cached); and whether they were cached."""
    occlusion = occlusion_transform(step, classifier)
    amp_dtype = autocast_dtype(settings.precision)
    key_settings = {
        "classifier": classifier.info.digest, "benchmark": benchmark.name, "pass": step.name, "images": step.identity,
        "view": classifier.view_settings, "occlusion": [occlusion.hole, occlusion.fill] if occlusion else None,
        "precision": str(amp_dtype),
    }
    key = cache_key(key_settings)
    path = None
    if settings.cache_dir is not None:
        path = cache_file(Path(settings.cache_dir).expanduser(), classifier.info.digest, benchmark.name, step.name, key)
        cached = load_logits(path, key)
        if cached is not None:
            return cached, True
    dataset = PassImages(step.images, step.image_transform, classifier.view, occlusion)
    description = f"{classifier.label} {benchmark.name}/{step.name}"
    logits = predict_logits(classifier.model, dataset, classifier.info.num_classes, settings.batch_size,
                            settings.num_workers, context, amp_dtype, description)
    if path is not None and context.is_main:
        save_logits(path, key, logits, key_settings)
    return logits, False


def evaluate_classifier(classifier: LabelledClassifier, benchmarks: list[Benchmark], settings: RobustnessSettings,
                        context: DistributedContext) -> dict[str, Any]:
    """One classifier on every benchmark: its entry of `results.json`."""
    classifier.model.to(context.device)
    view = classifier.view_settings
    if context.is_main:
        print(classifier.info.describe())
        for note in (*classifier.info.notes, f"view: resize to {view['img_size']} / {view['crop_pct']}, center crop "
                                             f"{view['img_size']} px"):
            print(f"  {note}")
    scores = {}
    for benchmark in benchmarks:
        logits, cached_passes = {}, []
        for step in benchmark.passes:
            logits[step.name], cached = pass_logits(classifier, benchmark, step, settings, context)
            if cached:
                cached_passes.append(step.name)
        scores[benchmark.name] = benchmark.score(logits)
        if context.is_main:
            if cached_passes:
                print(f"  {benchmark.name}: logits of {', '.join(cached_passes)} read from the cache")
            print(f"  {benchmark.name}: {benchmark.headline} {scores[benchmark.name][benchmark.headline]:.2f}")
    classifier.model.cpu()
    return {"checkpoint": classifier.info.path, "classifier": classifier.info.describe(), "view": view,
            "notes": list(classifier.info.notes), "benchmarks": scores}


def evaluate_robustness(settings: RobustnessSettings) -> dict[str, Any]:
    """Run every checkpoint on every benchmark; single process or under torchrun.

    Returns:
        The results as written to `results.json` (on other processes than the main one: the results alone).
    """
    check_settings(settings)
    specs = parse_benchmark_specs(settings.benchmarks)
    check_output_path(Path(settings.output_dir).expanduser(), "--output", folder=True)
    with run_session(settings) as (settings, context):  # the report records the precision that ran
        benchmarks = build_benchmarks(specs, settings.options)
        if context.is_main:
            for note in (note for benchmark in benchmarks for note in benchmark.notes):
                print(note)
        if context.is_main and settings.options.max_images:
            print(f"max_images: each benchmark's image sets are a fixed random subset of at most "
                  f"{counted(settings.options.max_images, 'image')} (seed {settings.options.seed})")
        classifiers = load_classifiers(settings, benchmarks)
        results = {classifier.label: evaluate_classifier(classifier, benchmarks, settings, context)
                   for classifier in classifiers}
        summary = write_report(settings, benchmarks, results) if context.is_main else {"results": results}
        wait_for_all(context)
    return summary
