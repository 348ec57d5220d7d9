"""`lut linprobe --checkpoint C --data D [--recipe R] [key=value ...]`: linear probing (MAE protocol)."""

import argparse

from lut.commands.options import add_recipe_options, recipe_overrides
from lut.config import config_help
from lut.evaluation.config import LinprobeConfig, eval_recipe_names, resolve_eval_config


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `linprobe` sub-command."""
    parser = subcommands.add_parser(
        "linprobe",
        help="linear probing of frozen features (MAE protocol)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Frozen encoder, BatchNorm (no affine) + Linear on the CLS and mean-pooled features, LARS, "
                    "lr = blr * batch / 256, warm-up + cosine, RandomResizedCrop + flip. mode=features instead fits "
                    "a logistic regression on cached features (cheap; not the MAE protocol).",
        epilog=f"settings (key=built-in default; the recipe's values replace these):\n{config_help(LinprobeConfig)}",
    )
    add_recipe_options(parser, eval_recipe_names("linprobe"), "small")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Resolve the settings, probe, print the accuracies."""
    from lut.evaluation.linear_probe import linear_probe

    config = resolve_eval_config(LinprobeConfig, "linprobe", args.recipe, recipe_overrides(args))
    summary = linear_probe(config)
    for key, value in summary["final"].items():
        print(f"  {key:<12} {value:6.2f}%")
    print(f"results in {summary['output_dir']}")
    return 0
