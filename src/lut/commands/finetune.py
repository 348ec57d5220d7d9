"""`lut finetune --checkpoint C --data D [--recipe R] [key=value ...]`: end-to-end fine-tuning."""

import argparse

from lut.commands.arguments import add_options, given_values
from lut.evaluation.config import DEFAULT_RECIPE, FINETUNE_RECIPES, FinetuneConfig, resolve_eval_config


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `finetune` sub-command."""
    parser = subcommands.add_parser(
        "finetune",
        help="fine-tune a pre-trained encoder as a classifier (MAE/LUT protocol)",
        description="timm ViT with global average pooling + fc_norm, layer-wise lr decay, AdamW, RandAugment, "
                    "mixup/cutmix, label smoothing, random erasing, drop path, warm-up + cosine. Runs under "
                    "torchrun for several GPUs; resumes from output_dir/checkpoint-last.pth. Settings: built-in "
                    "defaults <- the recipe's <- the command line's.",
    )
    add_options(parser, FinetuneConfig, recipes=FINETUNE_RECIPES, default_recipe=DEFAULT_RECIPE)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Resolve the settings, fine-tune, print the accuracies."""
    from lut.evaluation.finetune import finetune

    recipe = getattr(args, "recipe", DEFAULT_RECIPE)
    config = resolve_eval_config(FinetuneConfig, "finetune", recipe, given_values(args, FinetuneConfig))
    summary = finetune(config)
    for key, value in summary["final"].items():
        print(f"  {key:<6} {value:6.2f}%")
    print(f"best top-1 {summary['best'].get('top1', {}).get('value', float('nan')):.2f}%; "
          f"results in {summary['output_dir']}")
    return 0
