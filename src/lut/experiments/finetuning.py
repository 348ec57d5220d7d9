"""The fine-tuning study: the encoders of the LUT vs MAE comparison, and a random one, fine-tuned end to end."""

import dataclasses
from pathlib import Path
from typing import Any

from lut.config import PretrainConfig, load_recipe
from lut.evaluation.config import FinetuneConfig, resolve_eval_config
from lut.evaluation.finetune import finetune
from lut.experiments.launcher import claim_run_dir, read_summary
from lut.experiments.plan import RunSpec, base_run
from lut.experiments.scale import ExperimentScale
from lut.experiments.studies import Study, pretrain_comparison
from lut.runtime.checkpoint import LAST_CHECKPOINT, atomic_save
from lut.runtime.seeding import seed_everything
from lut.training.pretrain_models import build_student
from lut.version import __version__

FINETUNE_DIR = "finetune"


def finetune_config(scale: ExperimentScale, checkpoint: Path, output_dir: Path, seed: int) -> FinetuneConfig:
    """The scale's fine-tuning recipe and settings for one pre-trained student.

    Raises:
        UsageError: the scale's fine-tuning settings are not valid.
    """
    # The pre-training's input size, written out so that the study's finished runs keep their settings.
    pretrained_size = {**load_recipe(scale.recipe), **scale.pretrain}.get("img_size", PretrainConfig.img_size)
    values = {"img_size": pretrained_size, **scale.finetune, "checkpoint": str(checkpoint), "weights": "student",
              "output_dir": str(output_dir), "seed": seed}
    return resolve_eval_config(FinetuneConfig, "finetune", scale.finetune_recipe, values)


def random_init_checkpoint(study: Study, seed: int) -> Path:
    """The LUT run's student at initialisation (same seed: the weights it started from), saved once."""
    path = study.root / f"random_init_seed{seed}.pth"
    if not path.is_file():
        config = study.config(base_run("lut", seed))
        seed_everything(seed)
        student = build_student(config)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_save({"model": student.state_dict(), "model_ema": None, "step": 0,
                     "config": dataclasses.asdict(config), "lut_version": __version__}, path)
    return path


def finetune_run(study: Study, name: str, checkpoint: Path, seed: int) -> dict[str, Any]:
    """Fine-tune one encoder into ROOT/finetune/SCALE/NAME (a finished run is reused, an unfinished one resumes).

    The scale's name separates fine-tuning schedules of the same pre-training runs (e.g. a scale
    file that only changes the fine-tuning epochs).

    Returns:
        The run's final and best test accuracy.

    Raises:
        UsageError: the folder holds a fine-tuning with other settings.
    """
    run_dir = study.root / FINETUNE_DIR / study.scale.name / name
    config = finetune_config(study.scale, checkpoint, run_dir, seed)
    claim_run_dir(run_dir, config)
    summary = read_summary(run_dir)
    if summary is None:
        print(f"fine-tuning {name} -> {run_dir}")
        summary = finetune(config)
    return {"run": name, "seed": seed, "epochs": summary["epochs"], "top1": summary["final"]["top1"],
            "top5": summary["final"].get("top5"), "best_top1": summary["best"]["top1"]["value"]}


def finetune_study(scale: ExperimentScale, root: Path, jobs: int | None = None) -> dict[str, Any]:
    """Fine-tune the students of `compare` (pre-training what is missing) and random initialisations.

    Returns:
        The results: header, the fine-tuning settings, the pre-training epochs, one row per encoder.
    """
    # Checked before the pre-trainings: a bad fine-tuning setting should not wait hours to be reported.
    settings = dataclasses.asdict(finetune_config(scale, Path(), Path(), scale.seeds[0]))
    for key in ("checkpoint", "output_dir", "seed"):
        settings.pop(key)
    study = Study(scale, root, jobs)
    runs = pretrain_comparison(study)

    def finetuned(specs: list[RunSpec]) -> list[dict[str, Any]]:
        return [{**finetune_run(study, spec.name, root / spec.name / LAST_CHECKPOINT, spec.seed),
                 "pretrain_epochs": study.config(spec).epochs} for spec in specs]

    random_init = [{**finetune_run(study, f"random_init_seed{seed}", random_init_checkpoint(study, seed), seed),
                    "pretrain_epochs": 0} for seed in scale.seeds]
    rows = [
        {"encoder": "random init", "runs": random_init},
        {"encoder": "MAE", "budget": "same epochs", "runs": finetuned(runs.mae)},
        {"encoder": "LUT student", "budget": "same epochs", "runs": finetuned(runs.lut)},
        {"encoder": "MAE", "budget": "same wall-clock", "runs": finetuned(runs.mae_same_time)},
    ]
    return {**study.header("finetune", settings["device"]), "finetune_recipe": scale.finetune_recipe,
            "finetune": settings, "epochs": runs.epochs, "same_time_epochs": runs.same_time_epochs,
            "time_ratio": runs.time_ratio, "rows": rows}
