"""The hyper-parameter grid: `--grid key=a,b,c` axes over fine-tuning settings, enumerated in a fixed order."""

import dataclasses
import itertools
from typing import Any

import yaml

from lut.config import build_config
from lut.errors import UsageError
from lut.evaluation.config import FinetuneConfig

# Settings that choose the encoder, the data or where things go: the same for every point of a grid.
NOT_GRID_KEYS = ("checkpoint", "weights", "arch", "data", "data_root", "download", "output_dir", "resume", "device",
                 "num_workers", "train_samples", "test_samples")
Grid = dict[str, list[Any]]


def grid_keys() -> list[str]:
    """The fine-tuning settings a grid may vary."""
    return [item.name for item in dataclasses.fields(FinetuneConfig) if item.name not in NOT_GRID_KEYS]


def check_grid(grid: Grid) -> Grid:
    """The grid with its values in their settings' types; refuses an empty grid or axis, a key that is not a
    fine-tuning setting, a value out of its setting's range and a repeated value.

    Raises:
        UsageError: naming the axis and what is wrong.
    """
    if not grid:
        raise UsageError("the grid is empty: give --grid KEY=V1,V2,... (e.g. --grid lr=1e-4,1e-3) or a recipe with "
                         "a grid")
    allowed = grid_keys()
    for key, values in grid.items():
        if key not in allowed:
            raise UsageError(f"grid key {key!r} is not a fine-tuning setting a grid can vary; choose from "
                             f"{', '.join(allowed)}")
        if not isinstance(values, list) or not values:
            raise UsageError(f"grid axis {key!r} has no values: give {key}=V1,V2,...")
    typed = {key: [getattr(build_config({key: value}, FinetuneConfig), key) for value in values]
             for key, values in grid.items()}  # "1e-3" (a string to YAML) becomes 0.001
    for key, values in typed.items():
        names = [format_value(value) for value in values]
        if len(set(names)) < len(names):
            raise UsageError(f"grid axis {key!r} repeats a value: {', '.join(names)}")
    return typed


def parse_grid(axes: list[str]) -> Grid:
    """`["lr=1e-4,1e-3", "weight_decay=0.05"]` -> {"lr": [0.0001, 0.001], "weight_decay": [0.05]}.

    Values are read as YAML scalars (numbers stay numbers); a key given twice keeps its last values.

    Raises:
        UsageError: an axis without `=`, or an empty value list.
    """
    grid: Grid = {}
    for axis in axes:
        key, sep, raw = axis.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"expected --grid KEY=V1,V2,..., got {axis!r}")
        values = [yaml.safe_load(item) for item in raw.split(",") if item.strip()]
        if not values:
            raise UsageError(f"grid axis {key.strip()!r} has no values: give {key.strip()}=V1,V2,...")
        grid[key.strip()] = values
    return grid


def grid_points(grid: Grid) -> list[dict[str, Any]]:
    """Every combination of the axes' values, the last axis varying fastest."""
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


def format_value(value: Any) -> str:
    """A value as it appears in folder names and tables: `1e-04` -> "0.0001", 0.05 -> "0.05"."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def point_name(point: dict[str, Any]) -> str:
    """The folder name of a grid point: "lr=0.001,weight_decay=0.05"."""
    return ",".join(f"{key}={format_value(value)}" for key, value in point.items())
