"""`lut segment {train,eval,predict}`: UperNet semantic segmentation on a pre-trained ViT."""

import argparse
from pathlib import Path

from lut.commands.arguments import add_options, configured, given_values
from lut.errors import UsageError
from lut.evaluation.config import DEFAULT_RECIPE
from lut.segmentation.config import (
    SEGMENT_RECIPES,
    SegmentConfig,
    SegmentEvalConfig,
    SegmentPredictConfig,
    resolve_segment_config,
)
from lut.wording import counted


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `segment` command and its sub-commands."""
    parser = subcommands.add_parser("segment", help="semantic segmentation: UperNet on a pre-trained ViT (ADE20K "
                                    "protocol)", description="UperNet on a pre-trained ViT, mmseg's MAE protocol.")
    actions = parser.add_subparsers(dest="segment_action", required=True, metavar="ACTION")

    train = actions.add_parser(
        "train", help="fine-tune an encoder with an UperNet head",
        description="Features of four blocks -> Feature2Pyramid -> UperHead + FCN auxiliary head; AdamW with "
                    "layer-wise lr decay, warm-up + poly schedule, periodic validation mIoU. Runs under torchrun "
                    "for several GPUs (SyncBatchNorm); resumes from output_dir/checkpoint-last.pth. Without "
                    "--checkpoint, arch=NAME trains from a random initialisation. Settings: built-in defaults <- "
                    "the recipe's <- the command line's.",
    )
    add_options(train, SegmentConfig, recipes=SEGMENT_RECIPES, default_recipe=DEFAULT_RECIPE)
    train.set_defaults(handler=run_train)

    evaluate = actions.add_parser("eval", help="mIoU, accuracies and per-class IoU of a trained checkpoint")
    add_options(evaluate, SegmentEvalConfig)
    evaluate.set_defaults(handler=run_eval)

    predict = actions.add_parser("predict", help="colour masks and overlays for image files")
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    add_options(predict, SegmentPredictConfig)
    predict.set_defaults(handler=run_predict)


def run_train(args: argparse.Namespace) -> int:
    """Resolve the settings, train, print the mIoU."""
    from lut.segmentation.train import train_segmentation

    recipe = getattr(args, "recipe", DEFAULT_RECIPE)
    summary = train_segmentation(resolve_segment_config(recipe, given_values(args, SegmentConfig)))
    if summary["rank"] != 0:
        return 0
    final, best = summary["final"], summary["best"]
    if final.get("mIoU") is not None:
        print(f"  mIoU {final['mIoU']:6.2f}%  mAcc {final['mAcc']:6.2f}%  aAcc {final['aAcc']:6.2f}%")
    print(f"best mIoU {best.get('mIoU', float('nan')):.2f}% at iteration {best.get('step', '-')}; "
          f"results in {summary['output_dir']}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    """Evaluate a checkpoint and print the metrics."""
    from lut.segmentation.evaluate import evaluate_checkpoint

    config = configured(args, SegmentEvalConfig)
    config.require_checkpoint()
    output = config.output_dir or str(Path(config.checkpoint).expanduser().parent / "eval")
    results = evaluate_checkpoint(config.checkpoint, config.data or None, output, run_choice(config.mode),
                                  config.stride or None, config.flip, config.device, config.val_samples)
    print(f"{counted(results['images'], 'image')}, {results['mode']} inference{' + flip' if config.flip else ''}: "
          f"mIoU {results['mIoU']:.2f}%  mAcc {results['mAcc']:.2f}%  aAcc {results['aAcc']:.2f}%")
    print(f"results in {output}/results.json and {output}/class_iou.png")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    """Segment the images and say where the files are."""
    from lut.segmentation.predict import predict_images

    config = configured(args, SegmentPredictConfig)
    config.require_checkpoint()
    if not config.out:
        raise UsageError("give the folder for the masks: --out DIR")
    written = predict_images(config.checkpoint, args.images, config.out, run_choice(config.mode),
                             config.stride or None, config.flip, config.device)
    print(f"{counted(len(written) // 3, 'image')} segmented: label maps, colour masks and overlays in {config.out}")
    return 0


def run_choice(mode: str) -> str | None:
    """The inference mode as the segmentation functions take it (None: the run's)."""
    return None if mode == "run" else mode
