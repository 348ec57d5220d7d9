"""What every run of a study shares: the pre-training recipe and overrides, the evaluation, the seeds."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lut.config import RecipeShelf, build_config, load_recipe, option
from lut.errors import UsageError
from lut.runtime.distributed import parse_device

SCALES_PACKAGE = "lut.experiments.scales"
SCALES = RecipeShelf(SCALES_PACKAGE, kind="experiment scale")


@dataclass(frozen=True)
class FrozenEvalSettings:
    """How each encoder is scored: k-NN and a linear classifier on frozen, mean-pooled features."""

    data: str = option("fashion-mnist", "labelled data set (built-in name or folder with class sub-folders)")
    train_samples: int = option(0, "training images used as k-NN memory and to fit the classifier (0: all)",
                                minimum=0)
    test_samples: int = option(0, "test images scored (0: the whole official test split)", minimum=0)
    k: int = option(20, "neighbours of the k-NN", minimum=1)
    batch_size: int = option(256, "images per forward", minimum=1)
    device: str = option("auto", "auto, cpu, cuda or cuda:N")


@dataclass(frozen=True)
class ExperimentScale:
    """A study's shared settings.

    Attributes:
        name: the scale's name (file stem).
        description: one line for the tables.
        recipe: pre-training recipe every run starts from.
        pretrain: config overrides applied to every run (before the run's own).
        evaluation: the frozen-feature protocol.
        seeds: seeds of the multi-seed comparison (ablations use the first).
        jobs: pre-training processes run at once.
        finetune_recipe: fine-tuning recipe of the fine-tuning study (bundled name or YAML path).
        finetune: fine-tuning settings overriding that recipe.
    """

    name: str
    description: str
    recipe: str
    pretrain: dict[str, Any] = field(default_factory=dict)
    evaluation: FrozenEvalSettings = field(default_factory=FrozenEvalSettings)
    seeds: tuple[int, ...] = (0, 1, 2)
    jobs: int = 1
    finetune_recipe: str = "small"
    finetune: dict[str, Any] = field(default_factory=dict)


def scale_names() -> list[str]:
    """Bundled scales."""
    return SCALES.names()


def load_scale(name_or_path: str, overrides: dict[str, Any] | None = None) -> ExperimentScale:
    """Read a bundled scale by name or a YAML file by path; `overrides` update its pre-training settings.

    Raises:
        UsageError: unknown scale, bad YAML, unknown or badly typed keys.
    """
    values = load_recipe(name_or_path, SCALES)
    name = name_or_path if name_or_path in SCALES.names() else Path(name_or_path).stem
    known = {"description", "recipe", "pretrain", "evaluation", "seeds", "jobs", "finetune"}
    if set(values) - known:
        raise UsageError(f"scale {name_or_path}: expected a mapping with keys among {', '.join(sorted(known))}")
    try:
        evaluation = build_config(values.get("evaluation") or {}, FrozenEvalSettings)
        parse_device(evaluation.device)  # a GPU is looked for when the study runs
    except UsageError as error:
        raise UsageError(f"scale {name_or_path}: evaluation: {error}") from error
    finetune = dict(values.get("finetune") or {})
    seeds = tuple(int(seed) for seed in values.get("seeds", (0, 1, 2)))
    if not seeds:
        raise UsageError(f"scale {name_or_path}: give at least one seed")
    return ExperimentScale(
        name=name,
        description=str(values.get("description", name)),
        recipe=str(values.get("recipe", "demo")),
        pretrain={**values.get("pretrain", {}), **(overrides or {})},
        evaluation=evaluation,
        seeds=seeds,
        jobs=max(1, int(values.get("jobs", 1))),
        finetune_recipe=str(finetune.pop("recipe", "small")),
        finetune=finetune,
    )
