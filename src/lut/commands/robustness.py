"""`lut robustness --checkpoint C [C ...] --benchmark NAME=PATH [...]`: the paper's Table 5 for classifiers."""

import argparse

from lut.commands.arguments import add_options, configured
from lut.robustness.benchmarks import BENCHMARKS
from lut.robustness.config import RobustnessConfig


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
    add_options(parser, RobustnessConfig)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate and print one line per checkpoint and benchmark, then the table."""
    from lut.robustness.suite import evaluate_robustness

    settings = configured(args, RobustnessConfig).settings()
    summary = evaluate_robustness(settings)
    if summary.get("files"):
        print("results in " + ", ".join(summary["files"].values()))
    return 0
