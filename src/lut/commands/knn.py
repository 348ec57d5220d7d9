"""`lut knn --checkpoint C --data D`: weighted k-NN accuracy of frozen features (DINO protocol)."""

import argparse
import os

from lut.commands.options import add_encoder_options
from lut.evaluation.features import POOLS
from lut.evaluation.knn_benchmark import DEFAULT_CACHE_DIR, KnnSettings, knn_benchmark


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `knn` sub-command."""
    parser = subcommands.add_parser(
        "knn",
        help="k-NN accuracy of frozen features (DINO protocol)",
        description="Weighted k-NN (cosine similarity, votes exp(sim / T)) on L2-normalised CLS and/or mean-pooled "
                    "features; top-1 and top-5 for each k. Features are extracted once and cached.",
    )
    add_encoder_options(parser)
    parser.add_argument("--data", required=True, help="labelled data: built-in name, folder with class sub-folders, "
                                                      "tar shards (with --test-data) or Hugging Face data")
    parser.add_argument("--test-data", default="", metavar="DATA",
                        help="the queries, when not --data's test split (tar shards have none): any data --data takes")
    parser.add_argument("--image-column", default="", metavar="NAME",
                        help="Hugging Face data: the column of images (default: the first Image column)")
    parser.add_argument("--label-column", default="", metavar="NAME",
                        help="Hugging Face data: the column of labels (default: the first ClassLabel column)")
    parser.add_argument("--pool", choices=(*POOLS, "both"), default="both",
                        help="features to evaluate (default: %(default)s)")
    parser.add_argument("--k", type=int, nargs="+", default=[10, 20, 100, 200],
                        help="neighbour counts (default: 10 20 100 200)")
    parser.add_argument("--temperature", type=float, default=0.07, help="T of the vote weights (default: %(default)s)")
    parser.add_argument("--img-size", type=int, default=None, help="input side (default: the checkpoint's)")
    parser.add_argument("--crop-pct", type=float, default=None,
                        help="center crop's share of the resized side (default: 0.875 = DINO's resize 256 / crop 224 "
                             "at 224 px and more, 1.0 = the whole image below)")
    parser.add_argument("--batch-size", type=int, default=256, help="images per forward (default: %(default)s)")
    parser.add_argument("--train-samples", type=int, default=0, help="random memory-bank subset (0: all)")
    parser.add_argument("--test-samples", type=int, default=0, help="random test subset (0: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the subsets")
    parser.add_argument("--data-root", default="~/.cache/lut/data", help="where downloadable data sets live")
    parser.add_argument("--download", action="store_true", help="download torchvision data sets when missing")
    parser.add_argument("--num-workers", type=int, default=min(4, os.cpu_count() or 1),
                        help="data loader processes (default: 4, or this machine's cores if fewer: %(default)s)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--output", default="runs/knn", metavar="DIR",
                        help="where results.json and knn.png go (default: %(default)s)")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR, help="feature cache folder")
    parser.add_argument("--no-cache", action="store_true", help="extract features without reading or writing the cache")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate and print one line per pooling and k."""
    settings = KnnSettings(
        checkpoint=args.checkpoint, data=args.data, test_data=args.test_data, image_column=args.image_column,
        label_column=args.label_column, weights=args.weights, arch=args.arch,
        pools=POOLS if args.pool == "both" else (args.pool,), ks=tuple(args.k), temperature=args.temperature,
        img_size=args.img_size, crop_pct=args.crop_pct, batch_size=args.batch_size, train_samples=args.train_samples,
        test_samples=args.test_samples, seed=args.seed, data_root=args.data_root, download=args.download,
        num_workers=args.num_workers, device=args.device, output_dir=args.output,
        cache_dir=None if args.no_cache else args.cache_dir,
    )
    summary = knn_benchmark(settings)
    print("\n".join([summary["encoder"], *(f"  note: {note}" for note in summary["encoder_notes"])]))
    queries = f" (queries: {args.test_data})" if args.test_data else ""
    print(f"k-NN on {args.data}{queries}: {summary['train_samples']} memory, "
          f"{summary['test_samples']} test images, T = {args.temperature}")
    for pool, records in summary["results"].items():
        for record in records:
            top5 = f"  top-5 {record['top5']:6.2f}%" if "top5" in record else ""
            print(f"  {pool:<5} k={record['k']:<4} top-1 {record['top1']:6.2f}%{top5}")
    print(f"results in {summary['output_dir']}")
    return 0
