"""Run a grid for one or several encoders: finished points reused, the rest run in turn or `jobs` at a time."""

import dataclasses
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lut.errors import UsageError
from lut.evaluation.config import FinetuneConfig
from lut.training.distributed import distributed_session
from lut.transfer.config import point_config
from lut.transfer.grid import Grid, grid_points, point_name
from lut.transfer.point import TransferData, finished_point, run_point
from lut.transfer.selection import summarise_grid

log = logging.getLogger("lut")


@dataclass(frozen=True)
class Encoder:
    """A pre-trained encoder of the comparison: its column label and checkpoint."""

    label: str
    checkpoint: str


def encoders_from(checkpoints: list[str], labels: list[str] | None) -> list[Encoder]:
    """Pair checkpoints with labels (default: the checkpoint file names without extension).

    Raises:
        UsageError: a count mismatch, a repeated label or one that is not a plain folder name, a missing file.
    """
    labels = labels or [Path(checkpoint).stem for checkpoint in checkpoints]
    if len(labels) != len(checkpoints):
        raise UsageError(f"{len(checkpoints)} checkpoints but {len(labels)} labels: give one label per checkpoint")
    if len(set(labels)) < len(labels):
        raise UsageError(f"labels must differ (they name the result folders): {', '.join(labels)}")
    for label in labels:
        if not label or "/" in label or label in (".", ".."):
            raise UsageError(f"label {label!r} cannot name a folder")
    for checkpoint in checkpoints:
        if not Path(checkpoint).expanduser().is_file():
            raise UsageError(f"checkpoint {checkpoint} does not exist")
    return [Encoder(label, checkpoint) for label, checkpoint in zip(labels, checkpoints)]


def point_device(config: FinetuneConfig, slot: int, jobs: int) -> str:
    """With several jobs and GPUs, job slot i trains on GPU i modulo their count; else the configured device."""
    if jobs > 1 and config.device in ("auto", "cuda") and torch.cuda.device_count() > 1:
        return f"cuda:{slot % torch.cuda.device_count()}"
    return config.device


@dataclass(frozen=True)
class PlannedRun:
    """One fine-tuning of the grid: an encoder at a grid point, in its own folder."""

    label: str
    point: dict[str, Any]
    config: FinetuneConfig

    @property
    def key(self) -> tuple[str, str]:
        return self.label, point_name(self.point)


RETRAIN_FOLDER = "retrain"


def run_config(settings: dict[str, Any], encoder: Encoder, data: TransferData, point: dict[str, Any],
               folder: Path) -> FinetuneConfig:
    """The checked settings of fine-tuning `encoder` at `point` in `folder`."""
    return point_config({**settings, "checkpoint": encoder.checkpoint, "data": data.data, "data_root": data.data_root,
                         "seed": data.seed}, point, folder)


def plan_runs(settings: dict[str, Any], grid: Grid, encoders: list[Encoder], data: TransferData,
              output: Path) -> list[PlannedRun]:
    """Every (encoder, grid point) run with its checked settings, encoder by encoder, the last axis fastest.

    Raises:
        UsageError: a point whose settings are not valid fine-tuning settings.
    """
    return [PlannedRun(encoder.label, point, run_config(settings, encoder, data, point,
                                                        output / encoder.label / point_name(point)))
            for encoder in encoders for point in grid_points(grid)]


def check_point_index(index: int, runs: int, encoders: int) -> None:
    """Refuse a `--point` outside 0 .. runs - 1.

    Raises:
        UsageError: naming the valid range.
    """
    if not 0 <= index < runs:
        raise UsageError(f"--point {index} is out of range: this grid has {runs} runs ({encoders} encoder(s) x "
                         f"{runs // encoders} grid points), numbered 0..{runs - 1}")


def run_pending(pending: list[tuple[tuple[str, str], FinetuneConfig, TransferData, dict[str, Any]]], jobs: int,
                distributed: bool) -> dict[tuple[str, str], dict[str, Any]]:
    """Run the fine-tunings `(key, config, data, point)`: under torchrun each on all processes in one process group,
    else in this process, or `jobs` at a time in worker processes; returns their results by key."""
    results: dict[tuple[str, str], dict[str, Any]] = {}
    if distributed:
        with distributed_session(pending[0][1].device if pending else "auto"):  # one process group for all
            for key, config, data, point in pending:
                results[key] = run_point(config, data, point)
    elif jobs == 1 or len(pending) <= 1:
        for key, config, data, point in pending:
            results[key] = run_point(config, data, point)
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {key: pool.submit(run_point, dataclasses.replace(config, device=point_device(config, slot, jobs)),
                                        data, point)
                       for slot, (key, config, data, point) in enumerate(pending)}
            results.update({key: future.result() for key, future in futures.items()})
    return results


def retrain_selected(settings: dict[str, Any], encoders: list[Encoder], encoder_results: list[dict[str, Any]],
                     data: TransferData, output: Path, jobs: int, distributed: bool) -> None:
    """Fine-tune each encoder's selected point again on training + validation images (Kornblith et al.'s final
    step), in `OUTPUT/LABEL/retrain/POINT`, and add its result (`retrained`) and test score to the encoder's results.

    The point was chosen on validation scores alone; the retrained model is tested once, at its end.
    """
    merged = dataclasses.replace(data, train_with_val=True)
    pending = []
    for encoder, result in zip(encoders, encoder_results, strict=True):
        selected = result["summary"].get("selected")
        if selected is None:
            continue  # no point finished: nothing to retrain
        config = run_config(settings, encoder, data, selected, output / encoder.label / RETRAIN_FOLDER /
                            point_name(selected))
        saved = finished_point(config)
        if saved is not None:
            log.info("reusing the retrained point %s of %s (%s)", point_name(selected), encoder.label,
                     config.output_dir)
            result["retrained"] = saved
        else:
            pending.append(((encoder.label, RETRAIN_FOLDER), config, merged, selected))
    retrained = run_pending(pending, jobs, distributed)
    for result in encoder_results:
        run = result.get("retrained") or retrained.get((result["label"], RETRAIN_FOLDER))
        if run is None:
            continue
        result["retrained"] = run
        if "test" in run:  # else it diverged
            result["summary"]["retrained_test"] = run["test"][result["summary"]["metric"]]


def run_grid(
    settings: dict[str, Any], grid: Grid, encoders: list[Encoder], data: TransferData, output: Path, jobs: int = 1,
    only: int | None = None, retrain: bool = False,
) -> dict[str, Any]:
    """Fine-tune every encoder at every grid point and summarise; or run the one run `only` (a job array's task).

    Every point's settings are checked before anything runs. Points run in this process when `jobs` is 1
    (or under torchrun, where each point uses all processes), else in `jobs` worker processes.

    Args:
        only: index of the single run to do (`plan_runs`' order), none of the others and no summary.
        retrain: then fine-tune each encoder's selected point on training + validation images and test it
            (`retrained`, and `retrained_test` in the summary).

    Returns:
        {"data", "metric", "grid", "notes", "encoders": [{"label", "checkpoint", "points", "summary"(, "retrained")}]};
        with `only`, {"run": that run's result, "index", "runs", "reused"}.
    """
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed and jobs > 1:
        raise UsageError("--jobs runs points in separate processes; under torchrun every point uses all processes: "
                         "leave --jobs at 1")
    plan = plan_runs(settings, grid, encoders, data, output)
    if only is not None:
        check_point_index(only, len(plan), len(encoders))
    splits = data.open()  # checks the data (and saves the hold-out) before any point starts
    for note in splits.notes:
        log.warning("%s", note)
    results: dict[tuple[str, str], dict[str, Any]] = {}
    pending = []
    for run in plan if only is None else plan[only:only + 1]:
        saved = finished_point(run.config)
        if saved is not None:
            log.info("reusing the finished point %s of %s (%s)", point_name(run.point), run.label,
                     run.config.output_dir)
            results[run.key] = saved
        else:
            pending.append((run.key, run.config, data, run.point))
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun, said once
        print(f"{data.data}: {len(splits.classes)} classes, {len(splits.train)} training, {len(splits.val)} "
              f"validation, {len(splits.test)} test images; {len(plan) // len(encoders)} grid points x {len(encoders)} "
              "encoders, " + (f"run {only} of {len(plan)}: " if only is not None else "")
              + f"{len(results)} finished, {len(pending)} to run")
    results.update(run_pending(pending, jobs, distributed))
    if only is not None:
        return {"run": results[plan[only].key], "index": only, "runs": len(plan), "reused": not pending}
    encoder_results = []
    for encoder in encoders:
        ordered = [results[run.key] for run in plan if run.label == encoder.label]
        encoder_results.append({"label": encoder.label, "checkpoint": encoder.checkpoint, "points": ordered,
                                "summary": summarise_grid(ordered, splits.metric)})
    if retrain:
        retrain_selected(settings, encoders, encoder_results, data, output, jobs, distributed)
    return {"data": data.data, "metric": splits.metric, "grid": grid, "notes": splits.notes,
            "encoders": encoder_results}
