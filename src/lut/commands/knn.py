"""`lut knn --checkpoint C --data D`: weighted k-NN accuracy of frozen features (DINO protocol)."""

import argparse

from lut.commands.arguments import add_options, configured
from lut.evaluation.knn_benchmark import KnnSettings


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `knn` sub-command."""
    parser = subcommands.add_parser(
        "knn",
        help="k-NN accuracy of frozen features (DINO protocol)",
        description="Weighted k-NN (cosine similarity, votes exp(sim / T)) on L2-normalised CLS and/or mean-pooled "
                    "features; top-1 and top-5 for each k. Features are extracted once and cached.",
    )
    add_options(parser, KnnSettings)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate and print one line per pooling and k."""
    from lut.evaluation.knn_benchmark import knn_benchmark

    settings = configured(args, KnnSettings)
    summary = knn_benchmark(settings)
    print("\n".join([summary["encoder"], *(f"  note: {note}" for note in summary["encoder_notes"])]))
    queries = f" (queries: {settings.test_data})" if settings.test_data else ""
    print(f"k-NN on {settings.data}{queries}: {summary['train_samples']} memory, "
          f"{summary['test_samples']} test images, T = {settings.temperature}")
    for pool, records in summary["results"].items():
        for record in records:
            top5 = f"  top-5 {record['top5']:6.2f}%" if "top5" in record else ""
            print(f"  {pool:<5} k={record['k']:<4} top-1 {record['top1']:6.2f}%{top5}")
    print(f"results in {summary['output_dir']}")
    return 0
