"""`lut transfer --checkpoint C [C ...] --data SET --grid lr=A,B,C --grid weight_decay=D,E [key=value ...]`:
fine-tune each encoder at every point of a learning-rate x weight-decay grid and report best and mean +- std."""

import argparse
import os
from pathlib import Path

from lut.config import config_help, parse_overrides
from lut.evaluation.config import FinetuneConfig
from lut.transfer.config import load_transfer_recipe, merged_grid, point_config, transfer_recipe_names
from lut.transfer.registry import FOLDER_LAYOUT, TRANSFER_SETS


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `transfer` sub-command."""
    parser = subcommands.add_parser(
        "transfer",
        help="transfer fine-tuning over a hyper-parameter grid (paper Sec. 5.3)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="One `lut finetune` run per grid point and encoder, each in OUTPUT/LABEL/POINT (finished points "
                    "are reused, interrupted ones resume). Every point trains on the training split, is validated "
                    "after each epoch and tested once at the end; the summary gives the test score of the point "
                    "selected on validation, and mean +- std over the grid. Writes results.json, results.md, "
                    f"grid.png.\n\ndata sets (data_root=FOLDER holds their folders): {', '.join(TRANSFER_SETS)}; "
                    f"or a folder with {FOLDER_LAYOUT}",
        epilog=f"fine-tuning settings (key=built-in default; the recipe's values replace these):\n"
               f"{config_help(FinetuneConfig)}",
    )
    parser.add_argument("--checkpoint", nargs="+", required=True, metavar="PATH",
                        help="one or more pre-trained encoders (LUT/MAE/timm .pth or safetensors)")
    parser.add_argument("--labels", nargs="+", default=None, metavar="NAME",
                        help="one name per checkpoint for tables and folders (default: the file names)")
    parser.add_argument("--weights", choices=("student", "teacher"), default=None,
                        help="network of a pre-training checkpoint (default: the student)")
    parser.add_argument("--data", required=True, help="transfer data set name, or a train/ + val/ (+ test/) folder")
    recipes = transfer_recipe_names()
    parser.add_argument("--recipe", default="transfer_small",
                        help=f"bundled recipe ({', '.join(recipes)}) or YAML path (default: transfer_small)")
    parser.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                        help="a grid axis over a fine-tuning setting; replaces the recipe's axis of that key "
                             "(repeat for more axes)")
    parser.add_argument("--full-grid", action="store_true",
                        help="start from the recipe's full grid, not the coarse one")
    parser.add_argument("--val-fraction", type=float, default=0.1,
                        help="share of each class held out for validation when the set has none (default: 0.1)")
    parser.add_argument("--jobs", type=int, default=1, help="grid points run at once, one process each (default: 1)")
    parser.add_argument("--output", default=None, metavar="DIR", help="output folder (default: the recipe's)")
    parser.add_argument("settings", nargs="*", metavar="key=value", help="fine-tuning settings overriding the recipe")
    parser.set_defaults(handler=run)


def split_settings(values: list[str]) -> tuple[list[str], list[str]]:
    """(values, `key=value` settings among them that name no existing file)."""
    settings = [value for value in values if "=" in value and not Path(value).exists()]
    return [value for value in values if value not in settings], settings


def run(args: argparse.Namespace) -> int:
    """Resolve recipe, grid and encoders, run the grid, write and print the summary."""
    from lut.transfer.grid import parse_grid
    from lut.transfer.point import TransferData
    from lut.transfer.report import summary_table, write_report
    from lut.transfer.runner import encoders_from, run_grid

    # `--checkpoint A B epochs=3` hands the setting to --checkpoint's list: take it back.
    checkpoints, after_checkpoints = split_settings(args.checkpoint)
    labels, after_labels = split_settings(args.labels or [])
    given = [*after_checkpoints, *after_labels, *args.settings]
    settings, recipe_grid = load_transfer_recipe(args.recipe, args.full_grid)
    grid = merged_grid(recipe_grid, parse_grid(args.grid))
    settings.update(parse_overrides(given))
    if args.weights:
        settings["weights"] = args.weights
    output = Path(args.output or settings.get("output_dir") or "runs/transfer").expanduser()
    base = point_config(settings, {}, output)  # checks every key and value before anything runs
    encoders = encoders_from(checkpoints, labels or None)
    data = TransferData(args.data, base.data_root, str(output / "splits" / f"{Path(args.data).name}-holdout.json"),
                        args.val_fraction, base.seed, base.train_samples, base.test_samples)
    results = run_grid(settings, grid, encoders, data, output, args.jobs)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # under torchrun the main process writes the results
    paths = write_report(results, output)
    print(summary_table(results))
    print(f"results in {paths['json']}, {paths['markdown']}, {paths['plot']}")
    return 0
