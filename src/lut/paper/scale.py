"""A scale of `lut paper`: for each stage (pretrain, finetune, linprobe, segment, robustness, and optionally transfer)
its recipe and settings, the seeds."""

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from lut.errors import UsageError

SCALES_PACKAGE = "lut.paper.scales"
STAGES = ("pretrain", "finetune", "linprobe", "segment", "robustness")
# Stages a scale may leave out (then the tables that need them cannot run at it).
OPTIONAL_STAGES = ("transfer",)


@dataclass(frozen=True)
class Stage:
    """How one kind of run is made: its recipe and settings, with per-method replacements.

    Attributes:
        recipe: bundled recipe name (or YAML path) of the command.
        settings: `key=value` settings of every run of this stage; "{NAME}" in a value stands for `data.NAME=...`.
        images: training images per epoch, for the cost estimate when `train_samples` does not say (0: unknown).
        by_method: {method or encoder name: {"recipe": ..., "settings": {...}}} replacing the above for that one.
        processes: training processes of one run (for the cost of iteration-counted runs: segmentation).
        grid: transfer: the `--grid` axes {setting: values} replacing the recipe's axes ({}: the recipe's grid).
        data_sets: transfer: {table: {data set: its training images, for the cost estimate}}.
    """

    recipe: str
    settings: dict[str, Any] = field(default_factory=dict)
    images: int = 0
    by_method: dict[str, dict[str, Any]] = field(default_factory=dict)
    processes: int = 1
    grid: dict[str, list[Any]] = field(default_factory=dict)
    data_sets: dict[str, dict[str, int]] = field(default_factory=dict)

    def recipe_for(self, method: str) -> str:
        """The recipe of `method`'s runs."""
        return str(self.by_method.get(method, {}).get("recipe", self.recipe))

    def settings_for(self, method: str) -> dict[str, Any]:
        """The settings of `method`'s runs."""
        return {**self.settings, **(self.by_method.get(method, {}).get("settings") or {})}


@dataclass(frozen=True)
class PaperScale:
    """Everything a table's graph needs besides the table: the stages, the seeds, how many local processes at once.

    Attributes:
        name: the scale's name (file stem).
        description: one line for the tables.
        seeds: every pre-training and evaluation runs once per seed.
        jobs: local processes at once (default of `--jobs`).
        compare_with: the paper's architecture whose numbers stand beside the measured ones (e.g. vit_base).
        stages: {stage: Stage} for every stage in `STAGES`.
        table_pretrain: {table: pre-training settings of that table's rows} (Table 4's 400 epochs at `paper`).
    """

    name: str
    description: str
    seeds: tuple[int, ...]
    jobs: int
    compare_with: str
    stages: dict[str, Stage]
    table_pretrain: dict[str, dict[str, Any]] = field(default_factory=dict)


def scale_names() -> list[str]:
    """The bundled scales."""
    return sorted(path.name[:-5] for path in resources.files(SCALES_PACKAGE).iterdir() if path.name.endswith(".yaml"))


def load_scale(name_or_path: str) -> PaperScale:
    """A bundled scale by name, or a YAML file by path.

    Raises:
        UsageError: unknown scale, bad YAML, missing or unknown keys.
    """
    bundled = resources.files(SCALES_PACKAGE) / f"{name_or_path}.yaml"
    if bundled.is_file():
        text, name = bundled.read_text(), name_or_path
    elif Path(name_or_path).is_file():
        text, name = Path(name_or_path).read_text(), Path(name_or_path).stem
    else:
        raise UsageError(f"no paper scale {name_or_path!r}: give a YAML path or one of {', '.join(scale_names())}")
    try:
        values = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise UsageError(f"scale {name_or_path}: invalid YAML: {error}".splitlines()[0]) from error
    known = {"description", "seeds", "jobs", "compare_with", "stages", "table_pretrain"}
    given = set((values.get("stages") or {}) if isinstance(values, dict) else ())
    if not isinstance(values, dict) or set(values) - known or not set(STAGES) <= given <= {*STAGES, *OPTIONAL_STAGES}:
        raise UsageError(f"scale {name_or_path}: expected keys among {', '.join(sorted(known))}, with stages "
                         f"{', '.join(STAGES)} (and optionally {', '.join(OPTIONAL_STAGES)})")
    stages = {}
    for stage, entry in values["stages"].items():
        unknown = set(entry) - {"recipe", "settings", "images", "by_method", "processes", "grid", "data_sets"}
        if unknown or "recipe" not in entry:
            raise UsageError(f"scale {name_or_path}: stage {stage} needs a recipe and takes settings, images, "
                             f"by_method, processes, grid, data_sets (not {', '.join(sorted(unknown))})")
        data_sets = {str(table): {str(name): int(images or 0) for name, images in (sets or {}).items()}
                     for table, sets in (entry.get("data_sets") or {}).items()}
        stages[stage] = Stage(str(entry["recipe"]), dict(entry.get("settings") or {}), int(entry.get("images", 0)),
                              dict(entry.get("by_method") or {}), max(1, int(entry.get("processes", 1))),
                              dict(entry.get("grid") or {}), data_sets)
    seeds = tuple(int(seed) for seed in values.get("seeds", (0,)))
    if not seeds:
        raise UsageError(f"scale {name_or_path}: give at least one seed")
    table_pretrain = {str(table): dict(settings or {}) for table, settings in
                      (values.get("table_pretrain") or {}).items()}
    return PaperScale(name, str(values.get("description", name)), seeds, max(1, int(values.get("jobs", 1))),
                      str(values.get("compare_with", "vit_base")), stages, table_pretrain)
