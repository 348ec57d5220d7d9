"""`lut segment {train,eval,predict}`: UperNet semantic segmentation on a pre-trained ViT."""

import argparse
from pathlib import Path

from lut.commands.options import add_recipe_options, recipe_overrides
from lut.config import config_help
from lut.errors import UsageError
from lut.segmentation.config import SegmentConfig, resolve_segment_config, segment_recipe_names
from lut.segmentation.inference import MODES
from lut.wording import counted

DATA_HELP = ("fashion-mnist-scenes (built in), an ADE20K release folder, or a folder with images/{train,val}, "
             "masks/{train,val} and classes.txt")


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `segment` command and its sub-commands."""
    parser = subcommands.add_parser("segment", help="semantic segmentation: UperNet on a pre-trained ViT (ADE20K "
                                    "protocol)", description="UperNet on a pre-trained ViT, mmseg's MAE protocol.")
    actions = parser.add_subparsers(dest="segment_action", required=True, metavar="ACTION")

    train = actions.add_parser(
        "train", help="fine-tune an encoder with an UperNet head",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Features of four blocks -> Feature2Pyramid -> UperHead + FCN auxiliary head; AdamW with "
                    "layer-wise lr decay, warm-up + poly schedule, periodic validation mIoU. Runs under torchrun "
                    "for several GPUs (SyncBatchNorm); resumes from output_dir/checkpoint-last.pth. Without "
                    "--checkpoint, arch=NAME trains from a random initialisation.",
        epilog=f"settings (key=built-in default; the recipe's values replace these):\n{config_help(SegmentConfig)}",
    )
    add_recipe_options(train, segment_recipe_names(), "small")
    train.set_defaults(handler=run_train)

    evaluate = actions.add_parser("eval", help="mIoU, accuracies and per-class IoU of a trained checkpoint")
    evaluate.add_argument("--checkpoint", required=True, metavar="PATH", help="a `lut segment train` checkpoint")
    evaluate.add_argument("--data", default=None, help=f"{DATA_HELP} (default: the training run's)")
    add_inference_options(evaluate)
    evaluate.add_argument("--val-samples", type=int, default=0, help="the first N validation images (0: all)")
    evaluate.add_argument("--output", default=None, metavar="DIR",
                          help="folder for results.json and class_iou.png (default: next to the checkpoint)")
    evaluate.set_defaults(handler=run_eval)

    predict = actions.add_parser("predict", help="colour masks and overlays for image files")
    predict.add_argument("--checkpoint", required=True, metavar="PATH", help="a `lut segment train` checkpoint")
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    predict.add_argument("--out", required=True, metavar="DIR", help="folder for NAME_{labels,mask,overlay}.png")
    add_inference_options(predict)
    predict.set_defaults(handler=run_predict)


def add_inference_options(parser: argparse.ArgumentParser) -> None:
    """`--mode`, `--stride`, `--flip` and `--device`."""
    parser.add_argument("--mode", choices=MODES, default=None, help="sliding windows or the whole image "
                        "(default: the run's eval_mode)")
    parser.add_argument("--stride", type=int, default=None, help="sliding-window step (default: the run's)")
    parser.add_argument("--flip", action="store_true", help="average with the mirrored image")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")


def run_train(args: argparse.Namespace) -> int:
    """Resolve the settings, train, print the mIoU."""
    from lut.segmentation.train import train_segmentation

    summary = train_segmentation(resolve_segment_config(args.recipe, recipe_overrides(args)))
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

    if args.stride is not None and args.stride <= 0:
        raise UsageError(f"--stride must be positive, got {args.stride}")
    if args.val_samples < 0:
        raise UsageError(f"--val-samples must be 0 (all) or positive, got {args.val_samples}")
    output = args.output or str(Path(args.checkpoint).expanduser().parent / "eval")
    results = evaluate_checkpoint(args.checkpoint, args.data, output, args.mode, args.stride, args.flip,
                                  args.device, args.val_samples)
    print(f"{counted(results['images'], 'image')}, {results['mode']} inference{' + flip' if args.flip else ''}: "
          f"mIoU {results['mIoU']:.2f}%  mAcc {results['mAcc']:.2f}%  aAcc {results['aAcc']:.2f}%")
    print(f"results in {output}/results.json and {output}/class_iou.png")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    """Segment the images and say where the files are."""
    from lut.segmentation.predict import predict_images

    if args.stride is not None and args.stride <= 0:
        raise UsageError(f"--stride must be positive, got {args.stride}")
    written = predict_images(args.checkpoint, args.images, args.out, args.mode, args.stride, args.flip, args.device)
    print(f"{counted(len(written) // 3, 'image')} segmented: label maps, colour masks and overlays in {args.out}")
    return 0
