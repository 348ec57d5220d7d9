"""Command-line options shared by the evaluation and export commands."""

import argparse

from lut.config import parse_overrides

DEFAULT_WEIGHTS_HELP = (
    "network of a pre-training checkpoint (default: the student; files holding a single encoder need no choice)"
)


def add_encoder_options(
    parser: argparse.ArgumentParser, required: bool = True, weights_help: str = DEFAULT_WEIGHTS_HELP
) -> None:
    """`--checkpoint`, `--weights` and `--arch`: which encoder to load."""
    parser.add_argument("--checkpoint", required=required, metavar="PATH",
                        help="LUT/MAE/timm .pth, or a safetensors file (e.g. from lut export)")
    parser.add_argument("--weights", choices=("student", "teacher"), default=None,
                        help=weights_help)
    parser.add_argument("--arch", default=None, metavar="NAME",
                        help="architecture, e.g. vit_base_patch16 (default: inferred from the weights)")


def add_recipe_options(parser: argparse.ArgumentParser, recipes: list[str], default: str) -> None:
    """`--checkpoint`, `--data`, `--recipe`, `--weights`, `--arch`, `--output` and `key=value` settings."""
    add_encoder_options(parser, required=False)
    parser.add_argument("--data", default=None, help="labelled data: built-in name or folder with class sub-folders")
    parser.add_argument("--recipe", default=default,
                        help=f"bundled recipe ({', '.join(recipes)}) or YAML path (default: {default})")
    parser.add_argument("--output", default=None, metavar="DIR", help="output folder (default: the recipe's)")
    parser.add_argument("settings", nargs="*", metavar="key=value", help="settings overriding the recipe")


def recipe_overrides(args: argparse.Namespace) -> dict:
    """The `key=value` settings, with the flags mapped onto their config keys (flags win)."""
    values = parse_overrides(args.settings)
    flags = {"checkpoint": args.checkpoint, "data": args.data, "weights": args.weights, "arch": args.arch,
             "output_dir": args.output}
    values.update({key: value for key, value in flags.items() if value is not None})
    return values
