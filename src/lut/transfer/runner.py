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


def run_grid(
    settings: dict[str, Any], grid: Grid, encoders: list[Encoder], data: TransferData, output: Path, jobs: int = 1
) -> dict[str, Any]:
    """Fine-tune every encoder at every grid point and summarise.

    Every point's settings are checked before anything runs. Points run in this process when `jobs` is 1
    (or under torchrun, where each point uses all processes), else in `jobs` worker processes.

    Returns:
        {"data", "metric", "grid", "notes", "encoders": [{"label", "checkpoint", "points", "summary"}]}.
    """
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed and jobs > 1:
        raise UsageError("--jobs runs points in separate processes; under torchrun every point uses all processes: "
                         "leave --jobs at 1")
    splits = data.open()  # checks the data (and saves the hold-out) before any point starts
    for note in splits.notes:
        log.warning("%s", note)
    points = grid_points(grid)
    plan = [(encoder, point, point_config({**settings, "checkpoint": encoder.checkpoint, "data": data.data,
                                           "data_root": data.data_root, "seed": data.seed}, point,
                                          output / encoder.label / point_name(point)))
            for encoder in encoders for point in points]
    results: dict[tuple[str, str], dict[str, Any]] = {}
    pending = []
    for encoder, point, config in plan:
        saved = finished_point(config)
        if saved is not None:
            log.info("reusing the finished point %s of %s (%s)", point_name(point), encoder.label, config.output_dir)
            results[encoder.label, point_name(point)] = saved
        else:
            pending.append((encoder, point, config))
    print(f"{data.data}: {len(splits.classes)} classes, {len(splits.train)} training, {len(splits.val)} validation, "
          f"{len(splits.test)} test images; {len(points)} grid points x {len(encoders)} encoders, "
          f"{len(plan) - len(pending)} finished, {len(pending)} to run")
    if distributed:
        with distributed_session(plan[0][2].device):  # one process group for all points
            for encoder, point, config in pending:
                results[encoder.label, point_name(point)] = run_point(config, data, point)
    elif jobs == 1 or len(pending) <= 1:
        for encoder, point, config in pending:
            results[encoder.label, point_name(point)] = run_point(config, data, point)
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {(encoder.label, point_name(point)): pool.submit(
                run_point, dataclasses.replace(config, device=point_device(config, slot, jobs)), data, point)
                for slot, (encoder, point, config) in enumerate(pending)}
            results.update({key: future.result() for key, future in futures.items()})
    encoder_results = []
    for encoder in encoders:
        ordered = [results[encoder.label, point_name(point)] for point in points]
        encoder_results.append({"label": encoder.label, "checkpoint": encoder.checkpoint, "points": ordered,
                                "summary": summarise_grid(ordered, splits.metric)})
    return {"data": data.data, "metric": splits.metric, "grid": grid, "notes": splits.notes,
            "encoders": encoder_results}
