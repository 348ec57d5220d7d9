"""The runs of a grid: which encoders, and every (encoder, grid point) fine-tuning with its checked settings and
folder, in the order `--point` counts them."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lut.errors import UsageError
from lut.evaluation.config import FinetuneConfig
from lut.transfer.config import point_config
from lut.transfer.grid import Grid, grid_points, point_name
from lut.transfer.point import TransferData


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


@dataclass(frozen=True)
class PlannedRun:
    """One fine-tuning of the grid: an encoder at a grid point, in its own folder."""

    label: str
    point: dict[str, Any]
    config: FinetuneConfig

    @property
    def key(self) -> tuple[str, str]:
        return self.label, point_name(self.point)


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
