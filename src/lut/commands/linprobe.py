"""`lut linprobe --checkpoint C --data D [--recipe R] [key=value ...]`: linear probing (MAE protocol)."""

import argparse

from lut.commands.arguments import add_options, given_values
from lut.evaluation.config import DEFAULT_RECIPE, LINPROBE_RECIPES, LinprobeConfig, resolve_eval_config


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `linprobe` sub-command."""
    parser = subcommands.add_parser(
        "linprobe",
        help="linear probing of frozen features (MAE protocol)",
        description="Frozen encoder, BatchNorm (no affine) + Linear on the CLS and mean-pooled features, LARS, "
                    "lr = blr * batch / 256, warm-up + cosine, RandomResizedCrop + flip. mode=features instead fits "
                    "a logistic regression on cached features (cheap; not the MAE protocol). Settings: built-in "
                    "defaults <- the recipe's <- the command line's.",
    )
    add_options(parser, LinprobeConfig, recipes=LINPROBE_RECIPES, default_recipe=DEFAULT_RECIPE)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Resolve the settings, probe, print the accuracies."""
    from lut.evaluation.linear_probe import linear_probe

    recipe = getattr(args, "recipe", DEFAULT_RECIPE)
    config = resolve_eval_config(LinprobeConfig, "linprobe", recipe, given_values(args, LinprobeConfig))
    summary = linear_probe(config)
    for key, value in summary["final"].items():
        print(f"  {key:<12} {value:6.2f}%")
    print(f"results in {summary['output_dir']}")
    return 0
