"""`lut pretrain [RECIPE] [key=value ...]`."""

import argparse
import logging

from lut.config import config_help, default_recipe, parse_overrides, recipe_names, resolve_config


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `pretrain` sub-command."""
    parser = subcommands.add_parser(
        "pretrain",
        help="pre-train a ViT with LUT or MAE",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Pre-train with a recipe (bundled name or YAML path) and key=value overrides. With no recipe "
                    "named: `default` (for your own images) when data= is given, else `demo` (Fashion-MNIST).",
        epilog=f"recipes: {', '.join(recipe_names())}\n\nconfig keys (key=built-in default; the recipe's values "
               f"replace these):\n{config_help()}",
    )
    parser.add_argument("settings", nargs="*", metavar="[RECIPE] key=value",
                        help="recipe (or recipe=R), then overrides (--key value works too)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Resolve the config, train, and print where the outputs are."""
    from lut.training.pretrain import pretrain

    overrides = list(args.settings)
    recipe = overrides.pop(0) if overrides and "=" not in overrides[0] else None
    named = [item.partition("=")[2] for item in overrides if item.startswith("recipe=")]  # recipe=R, --recipe R
    recipe = named[-1] if named else recipe
    overrides = [item for item in overrides if not item.startswith("recipe=")]
    if recipe is None:
        recipe = default_recipe(parse_overrides(overrides))
        logging.getLogger("lut").info("recipe %s (none named; `lut pretrain RECIPE ...` chooses another)", recipe)
    summary = pretrain(resolve_config(recipe, overrides))
    if summary["rank"] != 0:
        return 0
    print(f"done: {summary['steps']} steps; outputs in {summary['output_dir']}")
    for key in ("checkpoint", "loss_curve", "reconstructions"):
        if key in summary:
            print(f"  {key:<16} {summary[key]}")
    return 0
