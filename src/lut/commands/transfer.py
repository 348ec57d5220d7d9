"""`lut transfer --checkpoint C [C ...] --data SET --grid lr=A,B,C --grid weight_decay=D,E [key=value ...]`:
fine-tune each encoder at every point of a learning-rate x weight-decay grid and report best and mean +- std."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lut.commands.arguments import add_options, configured, given_values
from lut.errors import UsageError
from lut.evaluation.config import DEFAULT_RECIPE, FinetuneConfig
from lut.transfer.config import TRANSFER_RECIPES, TransferSettings, load_transfer_recipe, merged_grid, point_config
from lut.transfer.grid import Grid, grid_points, parse_grid
from lut.transfer.registry import FOLDER_LAYOUT, TRANSFER_SETS

if TYPE_CHECKING:
    from lut.transfer.plan import Encoder
    from lut.transfer.point import TransferData


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `transfer` sub-command."""
    parser = subcommands.add_parser(
        "transfer",
        help="transfer fine-tuning over a hyper-parameter grid (paper Sec. 5.3)",
        description="One `lut finetune` run per grid point and encoder, each in OUTPUT/LABEL/POINT (finished points "
                    "are reused, interrupted ones resume). Every point trains on the training split, is validated "
                    "after each epoch and tested once at the end; the summary gives the test score of the point "
                    "selected on validation, and mean +- std over the grid. Writes results.json, results.md, "
                    f"grid.png. Data sets (data_root=FOLDER holds their folders): {', '.join(TRANSFER_SETS)}; "
                    f"or a folder with {FOLDER_LAYOUT}. Fine-tuning settings: built-in defaults <- the recipe's <- "
                    "the command line's.",
    )
    add_options(parser, TransferSettings, FinetuneConfig, recipes=TRANSFER_RECIPES, default_recipe=DEFAULT_RECIPE)
    parser.set_defaults(handler=run)


@dataclass
class GridRequest:
    """A grid as the command line asks for it, checked: the settings, the grid, the encoders, the data, the output."""

    settings: dict[str, Any]
    grid: Grid
    encoders: list[Encoder]
    data: TransferData
    output: Path
    options: TransferSettings

    @property
    def runs(self) -> int:
        """Fine-tunings of the grid: encoders x grid points (what `--point` counts)."""
        return len(self.encoders) * len(grid_points(self.grid))

    @property
    def point(self) -> int | None:
        """The one run asked for (`--point`), or None for every run."""
        return None if self.options.point < 0 else self.options.point


def grid_request(args: argparse.Namespace) -> GridRequest:
    """Resolve recipe, grid, settings and encoders, checking every key and value before anything runs.

    Raises:
        UsageError: an unknown recipe, grid key or setting, a bad value, a missing checkpoint.
    """
    from lut.transfer.plan import encoders_from
    from lut.transfer.point import TransferData

    options = configured(args, TransferSettings)
    if not options.checkpoint or not options.data:
        raise UsageError("give the encoders and the data set: --checkpoint PATH [PATH ...] --data SET")
    settings, recipe_grid = load_transfer_recipe(getattr(args, "recipe", DEFAULT_RECIPE), options.full_grid)
    grid = merged_grid(recipe_grid, parse_grid(options.grid))
    settings.update(given_values(args, FinetuneConfig, skip=(TransferSettings,)))
    output = Path(settings.get("output_dir") or "runs/transfer").expanduser()
    base = point_config(settings, {}, output)
    encoders = encoders_from(options.checkpoint, options.labels or None)
    holdout = output / "splits" / f"{Path(options.data).name}-holdout.json"
    data = TransferData(options.data, base.data_root, str(holdout), options.val_fraction, base.seed,
                        base.train_samples, base.test_samples)
    return GridRequest(settings, grid, encoders, data, output, options)


def without_jobs(arguments: list[str]) -> list[str]:
    """The command line without its `--jobs N` (`--jobs=N`, `jobs=N`)."""
    kept: list[str] = []
    skip = False
    for token in arguments:
        if skip:
            skip = False
        elif token == "--jobs":
            skip = True
        elif not token.startswith(("--jobs=", "jobs=")):
            kept.append(token)
    return kept


def run(args: argparse.Namespace) -> int:
    """Run the grid (or its run `--point`), write and print the summary; with `--jobs N`, the runs first, as N
    processes at a time."""
    from lut.launch.transfer_grid import run_points_locally
    from lut.transfer.point import POINT_FILE
    from lut.transfer.report import summary_table, write_report
    from lut.transfer.runner import run_grid

    request = grid_request(args)
    jobs = request.options.jobs
    if jobs > 1 and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise UsageError("--jobs runs points in separate processes; under torchrun every point uses all processes: "
                         "leave --jobs at 1")
    if jobs > 1 and request.point is None:
        device = point_config(request.settings, {}, request.output).device
        run_points_locally(without_jobs(args.argv), request.data, request.output,
                           [encoder.label for encoder in request.encoders], request.grid, device, jobs)
    results = run_grid(request.settings, request.grid, request.encoders, request.data, request.output,
                       only=request.point, retrain=request.options.retrain_on_train_val)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # under torchrun the main process writes the results
    if request.point is not None:
        folder = Path(results["run"]["config"]["output_dir"])
        state = "reused" if results["reused"] else "diverged" if "error" in results["run"] else "finished"
        print(f"run {request.point} of {results['runs']} {state}: {folder / POINT_FILE}; the same command without "
              "--point writes the summary once every run is finished")
        return 0
    paths = write_report(results, request.output)
    print(summary_table(results))
    print(f"results in {paths['json']}, {paths['markdown']}, {paths['plot']}")
    return 0
