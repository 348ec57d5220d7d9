"""`lut finetune --checkpoint C --data D [--recipe R] [key=value ...]`: end-to-end fine-tuning."""

import argparse

from lut.commands.options import add_recipe_options, recipe_overrides
from lut.config import config_help
from lut.evaluation.config import FinetuneConfig, eval_recipe_names, resolve_eval_config


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `finetune` sub-command."""
    parser = subcommands.add_parser(
        "finetune",
        help="fine-tune a pre-trained encoder as a classifier (MAE/LUT protocol)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="timm ViT with global average pooling + fc_norm, layer-wise lr decay, AdamW, RandAugment, "
                    "mixup/cutmix, label smoothing, random erasing, drop path, warm-up + cosine. Runs under "
                    "torchrun for several GPUs; resumes from output_dir/checkpoint-last.pth.",
        epilog=f"settings (key=built-in default; the recipe's values replace these):\n{config_help(FinetuneConfig)}",
    )
    add_recipe_options(parser, eval_recipe_names("finetune"), "small")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Resolve the settings, fine-tune, print the accuracies."""
    from lut.evaluation.finetune import finetune

    config = resolve_eval_config(FinetuneConfig, "finetune", args.recipe, recipe_overrides(args))
    summary = finetune(config)
    for key, value in summary["final"].items():
        print(f"  {key:<6} {value:6.2f}%")
    print(f"best top-1 {summary['best'].get('top1', {}).get('value', float('nan')):.2f}%; "
          f"results in {summary['output_dir']}")
    return 0
