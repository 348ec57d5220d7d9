"""`lut robustness --checkpoint C [C ...] --benchmark NAME=PATH [...]`: the paper's Table 5 for classifiers."""

import argparse
import os

from lut.robustness.benchmarks import BENCHMARKS
from lut.robustness.occlusion import DEFAULT_HOLE, FILLS
from lut.robustness.scoring import SUBSET_PROTOCOLS


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `robustness` sub-command."""
    parser = subcommands.add_parser(
        "robustness",
        help="robustness benchmarks of classifiers (ImageNet-V2/ReaL/A/O/R/Sketch, ObjectNet, SI-Score, occlusion)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Evaluates lut finetune checkpoints or timm ViT state dicts with their classifier on each "
                    "benchmark as its authors score it (docs/ROBUSTNESS.md). Logits are cached per checkpoint, "
                    "benchmark and view; runs under torchrun to shard each benchmark over processes.",
        epilog="benchmarks (NAME=PATH): " + ", ".join(BENCHMARKS) + "\n(fashion-mnist is built in: no PATH needed)",
    )
    parser.add_argument("--checkpoint", nargs="+", required=True, metavar="PATH",
                        help="classifier files: lut finetune checkpoints or timm ViT state dicts with a head")
    parser.add_argument("--labels", nargs="+", default=None, metavar="NAME",
                        help="a name per checkpoint in the table (default: their folder names)")
    parser.add_argument("--benchmark", nargs="+", required=True, metavar="NAME=PATH",
                        help="benchmarks and their folders, e.g. imagenet-a=/data/imagenet-a")
    parser.add_argument("--output", default="runs/robustness", metavar="DIR",
                        help="where results.json, table.md and curves.png go (default: %(default)s)")
    parser.add_argument("--cache-dir", default=None, metavar="DIR",
                        help="logits cache (default: OUTPUT/logits)")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write cached logits")
    parser.add_argument("--subset-protocol", choices=SUBSET_PROTOCOLS, default="mask",
                        help="ImageNet-A/R, ObjectNet: mask = argmax over the benchmark's classes (Hendrycks; "
                             "default), membership = argmax over 1000 then check the class")
    parser.add_argument("--occlusion-hole", type=int, nargs="+", default=[DEFAULT_HOLE], metavar="PX",
                        help="centred hole sides in pixels of the model input; the first is the table's "
                             "(default: %(default)s)")
    parser.add_argument("--occlusion-fill", choices=FILLS, default="pixel",
                        help="zero in pixel space (black) or in normalised space (the mean colour) "
                             "(default: %(default)s)")
    parser.add_argument("--objectnet-border", type=int, default=2, metavar="PX",
                        help="pixels cropped off each ObjectNet side (default: %(default)s)")
    parser.add_argument("--max-images", type=int, default=0, metavar="N",
                        help="a fixed random subset of N images per image set (default: 0 = all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of that subset (default: %(default)s)")
    parser.add_argument("--crop-pct", type=float, default=None,
                        help="evaluation crop (default: the checkpoint's; else 0.875 at 224 px and more, 1.0 below)")
    parser.add_argument("--batch-size", type=int, default=128, help="images per forward (default: %(default)s)")
    parser.add_argument("--num-workers", type=int, default=min(4, os.cpu_count() or 1),
                        help="data loader processes (default: %(default)s)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                        help="auto: bf16 on GPU, fp32 on CPU")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate and print one line per checkpoint and benchmark, then the table."""
    from lut.robustness.options import RobustnessOptions
    from lut.robustness.suite import RobustnessSettings, evaluate_robustness

    options = RobustnessOptions(args.subset_protocol, tuple(args.occlusion_hole), args.occlusion_fill,
                                args.objectnet_border, args.max_images, args.seed)
    cache_dir = None if args.no_cache else (args.cache_dir or os.path.join(args.output, "logits"))
    settings = RobustnessSettings(
        checkpoints=args.checkpoint, benchmarks=args.benchmark, labels=args.labels, options=options,
        output_dir=args.output, cache_dir=cache_dir, batch_size=args.batch_size, num_workers=args.num_workers,
        device=args.device, precision=args.precision, crop_pct=args.crop_pct,
    )
    summary = evaluate_robustness(settings)
    if summary.get("files"):
        print("results in " + ", ".join(summary["files"].values()))
    return 0
