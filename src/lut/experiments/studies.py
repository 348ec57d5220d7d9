"""The frozen-feature studies: LUT vs MAE over seeds (same epochs and same wall-clock), and the Table 4 ablations."""

import dataclasses
import datetime
import json
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from lut.errors import UsageError
from lut.experiments.launcher import launch
from lut.experiments.plan import ABLATIONS, RunSpec, ablation_run, base_run, run_config, same_time_run
from lut.experiments.scale import ExperimentScale
from lut.experiments.scoring import FrozenScorer
from lut.interchange import load_encoder
from lut.runtime.distributed import select_device
from lut.runtime.files import write_json
from lut.runtime.seeding import seed_everything
from lut.training.pretrain_models import build_student
from lut.version import __version__

Scores = dict[str, float]


class Study:
    """Shared machinery of a study: where runs live, the scorer, cached scores.

    Args:
        scale: the shared settings.
        root: folder holding one sub-folder per run.
        jobs: pre-training processes at once (None: the scale's).
    """

    def __init__(self, scale: ExperimentScale, root: Path, jobs: int | None = None) -> None:
        self.scale = scale
        self.root = root
        self.jobs = jobs or scale.jobs
        self._scorer: FrozenScorer | None = None

    def config(self, spec: RunSpec):
        """The run's resolved config."""
        return run_config(self.scale, spec, str(self.root / spec.name))

    @property
    def scorer(self) -> FrozenScorer:
        """Built on first use, from the LUT run's input size and normalisation."""
        if self._scorer is None:
            config = self.config(base_run("lut", self.scale.seeds[0]))
            self._scorer = FrozenScorer(self.scale.evaluation, config.img_size, config.mean, config.std)
        return self._scorer

    def cached(self, path: Path, compute: Callable[[], Scores]) -> Scores:
        """Scores stored at `path` for the current evaluation settings, computed once."""
        settings = dataclasses.asdict(self.scale.evaluation)
        if path.is_file():
            stored = json.loads(path.read_text())
            if stored.get("settings") == settings:
                return stored["scores"]
        scores = compute()
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json({"settings": settings, "scores": scores}, path)
        return scores

    def score_run(self, spec: RunSpec, summary: dict, weights: str = "student") -> dict[str, Any]:
        """Frozen scores of one finished run's student or teacher, with its training time."""
        run_dir = self.root / spec.name

        def compute() -> Scores:
            encoder, _info = load_encoder(run_dir / "checkpoint-last.pth", weights)
            return self.scorer.score(encoder)

        scores = self.cached(run_dir / f"frozen_scores_{weights}.json", compute)
        return {"run": spec.name, "seed": spec.seed, "epochs": self.config(spec).epochs,
                "train_seconds": summary.get("train_seconds"), **scores}

    def score_random_init(self, seed: int) -> dict[str, Any]:
        """The LUT run's encoder at initialisation (same seed, so the same weights it started from)."""

        def compute() -> Scores:
            seed_everything(seed)
            return self.scorer.score(build_student(self.config(base_run("lut", seed))).encoder)

        return {"run": "random init", "seed": seed, **self.cached(self.root / f"random_init_seed{seed}.json", compute)}

    def score_raw_pixels(self) -> dict[str, Any]:
        """Normalised pixels as features."""
        return {"run": "raw pixels", **self.cached(self.root / "raw_pixels.json", lambda: self.scorer.score(None))}

    def header(self, study: str, device_setting: str | None = None) -> dict[str, Any]:
        """What the results were made with; `device_setting` ("auto", "cpu", "cuda") defaults to the evaluation's."""
        device = select_device(device_setting or self.scale.evaluation.device)
        return {
            "study": study,
            "scale": self.scale.name,
            "description": self.scale.description,
            "recipe": self.scale.recipe,
            "pretrain": self.scale.pretrain,
            "evaluation": dataclasses.asdict(self.scale.evaluation),
            "seeds": list(self.scale.seeds),
            "jobs": self.jobs,
            "environment": {
                "date": datetime.date.today().isoformat(),
                "device": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
                "cpu_cores": os.cpu_count(),
                "torch": torch.__version__,
                "lut": __version__,
            },
        }


def cpu_name() -> str:
    """The processor's model name, as the operating system reports it."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def train_seconds(summaries: list[dict]) -> list[float]:
    """`train_seconds` of finished runs."""
    seconds = [summary.get("train_seconds") for summary in summaries]
    if any(value is None for value in seconds):
        raise UsageError("a finished run has no train_seconds in its summary.json; it was made by an older lut")
    return seconds


@dataclasses.dataclass(frozen=True)
class ComparisonRuns:
    """The pre-trainings of the LUT vs MAE comparison, finished.

    Attributes:
        epochs: epochs of the same-epochs runs.
        time_ratio: LUT / MAE training time (each method's fastest seed).
        same_time_epochs: epochs of the same-wall-clock MAE runs.
        lut, mae, mae_same_time: the runs of each group, one per seed.
        summaries: {run name: its summary.json}.
    """

    epochs: int
    time_ratio: float
    same_time_epochs: int
    lut: list[RunSpec]
    mae: list[RunSpec]
    mae_same_time: list[RunSpec]
    summaries: dict[str, dict]


def pretrain_comparison(study: Study) -> ComparisonRuns:
    """Pre-train what the comparison lacks: LUT and MAE for every seed, then MAE with LUT's wall-clock.

    Runs of one method are trained together (`jobs` at a time) so both methods see the same load. The
    same-wall-clock MAE gets round(epochs x LUT time / MAE time) epochs (its schedules span them), with
    each method's fastest seed as its time: other work on the machine can only slow a run down.
    """
    scale, root = study.scale, study.root
    lut_specs = [base_run("lut", seed) for seed in scale.seeds]
    mae_specs = [base_run("mae", seed) for seed in scale.seeds]
    lut = launch(scale, lut_specs, root, study.jobs, "LUT")
    mae = launch(scale, mae_specs, root, study.jobs, "MAE")
    epochs = study.config(lut_specs[0]).epochs
    time_ratio = min(train_seconds(list(lut.values()))) / min(train_seconds(list(mae.values())))
    long_epochs = max(epochs, round(epochs * time_ratio))
    long_specs = [same_time_run(seed, long_epochs) for seed in scale.seeds]
    mae_long = launch(scale, long_specs, root, study.jobs, "MAE with LUT's wall-clock")
    return ComparisonRuns(epochs, time_ratio, long_epochs, lut_specs, mae_specs, long_specs,
                          {**lut, **mae, **mae_long})


def compare(scale: ExperimentScale, root: Path, jobs: int | None = None) -> dict[str, Any]:
    """LUT vs MAE: every seed with the same epochs, then MAE again with LUT's training time (`pretrain_comparison`),
    each encoder scored frozen.

    Returns:
        The results: header, the epochs and time ratio, and one row per encoder with per-seed scores.
    """
    study = Study(scale, root, jobs)
    runs = pretrain_comparison(study)
    summaries = runs.summaries
    rows = [
        {"encoder": "raw pixels", "runs": [study.score_raw_pixels()]},
        {"encoder": "random init", "runs": [study.score_random_init(seed) for seed in scale.seeds]},
        {"encoder": "MAE", "budget": "same epochs",
         "runs": [study.score_run(s, summaries[s.name]) for s in runs.mae]},
        {"encoder": "LUT student", "budget": "same epochs",
         "runs": [study.score_run(s, summaries[s.name]) for s in runs.lut]},
        {"encoder": "LUT teacher (EMA)", "budget": "same epochs",
         "runs": [study.score_run(s, summaries[s.name], "teacher") for s in runs.lut]},
        {"encoder": "MAE", "budget": "same wall-clock",
         "runs": [study.score_run(s, summaries[s.name]) for s in runs.mae_same_time]},
    ]
    return {**study.header("compare"), "epochs": runs.epochs, "same_time_epochs": runs.same_time_epochs,
            "time_ratio": runs.time_ratio, "rows": rows}


def ablations(scale: ExperimentScale, root: Path, jobs: int | None = None) -> dict[str, Any]:
    """Table 4a-4f with the scale's first seed (one seed: differences below the seed spread
    of the comparison are not evidence).

    Returns:
        The results: header and one row per ablation setting.
    """
    study = Study(scale, root, jobs)
    seed = scale.seeds[0]
    specs = {ablation: ablation_run(ablation, seed) for ablation in ABLATIONS}
    unique = list({spec.name: spec for spec in specs.values()}.values())
    summaries = launch(scale, unique, root, study.jobs, "ablations")
    rows = [
        {**dataclasses.asdict(ablation), "runs": [study.score_run(spec, summaries[spec.name])]}
        for ablation, spec in specs.items()
    ]
    return {**study.header("ablations"), "epochs": study.config(unique[0]).epochs, "rows": rows}
