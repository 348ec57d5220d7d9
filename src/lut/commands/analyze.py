"""`lut analyze {attention-distance,spectrum,attention-maps,gradcam,reconstruct} --checkpoint A [B ...]`."""

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from lut.analysis.distance import UNITS
from lut.analysis.images import SKIMAGE, SKIMAGE_PHOTOS, skimage_data
from lut.analysis.spectrum import POOLS
from lut.errors import UsageError

if TYPE_CHECKING:
    from lut.analysis.models import LabelledEncoder
    from lut.analysis.reports import ImageSource

DATA_HELP = (f"images: '{SKIMAGE}' (scikit-image sample photos {', '.join(SKIMAGE_PHOTOS)}), a data set name "
             "(fashion-mnist, ...) or a folder; resized (shorter side, bicubic) and centre-cropped to the model input")


def add_common_options(parser: argparse.ArgumentParser, encoders: bool, default_images: str) -> None:
    """Checkpoints, labels, images and output folder; `--weights/--arch/--img-size` for encoder analyses."""
    parser.add_argument("--checkpoint", nargs="+", required=True, metavar="PATH", help="one or several checkpoints")
    parser.add_argument("--labels", nargs="+", default=None, help="legend name per checkpoint (default: folders)")
    if encoders:
        parser.add_argument("--weights", choices=("student", "teacher"), default=None,
                            help="network of pre-training checkpoints (default: the student)")
        parser.add_argument("--arch", default=None, metavar="NAME", help="architecture (default: inferred)")
        parser.add_argument("--img-size", type=int, default=None, help="input side (default: each checkpoint's)")
    parser.add_argument("--data", default=SKIMAGE, help=DATA_HELP)
    parser.add_argument("--num-images", type=int, default=0, help=f"first N images (0: {default_images})")
    parser.add_argument("--split", default="test", help="data set split")
    parser.add_argument("--data-root", default="~/.cache/lut/data", help="where downloadable data sets live")
    parser.add_argument("--batch-size", type=int, default=64, help="images per forward")
    parser.add_argument("--output", default="runs/analysis", metavar="DIR", help="folder for the PNG and JSON")


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `analyze` command and its sub-commands."""
    parser = subcommands.add_parser("analyze", help="figures of the paper's analyses (PNG + JSON)",
                                    description="Analyses of pre-trained ViTs; several checkpoints share one figure.")
    analyses = parser.add_subparsers(dest="analysis", required=True, metavar="ANALYSIS")
    default_images = "the 8 photos, or 16 images of a data set"

    distance = analyses.add_parser("attention-distance", help="mean attention distance per layer and head (eq. 4)")
    add_common_options(distance, True, default_images)
    distance.add_argument("--unit", choices=UNITS, default="px", help="px, grid (patches) or normalised (image side)")
    distance.add_argument("--no-renormalise", action="store_true",
                          help="keep the CLS share (at distance 0) instead of re-normalising patch rows")
    distance.set_defaults(handler=run_attention_distance)

    spectrum = analyses.add_parser("spectrum", help="eigenvalues of the covariance of L2-normalised features")
    add_common_options(spectrum, True, default_images)
    spectrum.add_argument("--pool", choices=POOLS, default="mean",
                          help="mean of patch tokens, CLS, or every patch token as a sample")
    spectrum.set_defaults(handler=run_spectrum)

    maps = analyses.add_parser("attention-maps", help="attention of query patches, per head (Fig. 1)")
    add_common_options(maps, True, "2 images")
    maps.add_argument("--query", nargs=2, type=int, action="append", metavar=("ROW", "COL"),
                      help="query patch on the grid (repeatable); default: random ones")
    maps.add_argument("--num-queries", type=int, default=2, help="random queries when --query is not given")
    maps.add_argument("--layer", type=int, default=-1, help="block index (default: -1, the last)")
    maps.add_argument("--seed", type=int, default=0, help="seed of the random queries")
    maps.set_defaults(handler=run_attention_maps)

    gradcam = analyses.add_parser("gradcam", help="Grad-CAM of fine-tuned or linear-probe classifiers (Fig. 3)")
    add_common_options(gradcam, False, default_images)
    gradcam.add_argument("--pool", choices=("cls", "mean"), default=None, help="linear-probe head (default: first)")
    gradcam.add_argument("--class", dest="classes", nargs="+", default=None, metavar="CLASS",
                         help="class to explain, by number or name: one for all images or one per image (default: "
                              "the prediction)")
    gradcam.set_defaults(handler=run_gradcam)

    rebuild = analyses.add_parser("reconstruct", help="masked input, reconstruction and original (pre-training runs)")
    add_common_options(rebuild, False, default_images)
    rebuild.add_argument("--mask-ratio", type=float, default=None, help="default: the run's")
    rebuild.add_argument("--seed", type=int, default=0, help="seed of the masks")
    rebuild.set_defaults(handler=run_reconstruct)


def image_source(args: argparse.Namespace, num_images: int | None = None) -> "ImageSource":
    """The `ImageSource` of the parsed options.

    Raises:
        UsageError: a negative `--num-images` or a `--batch-size` below 1.
        MissingExtraError: `--data skimage` without scikit-image installed.
    """
    from lut.analysis.reports import ImageSource

    if args.num_images < 0:
        raise UsageError(f"--num-images must be 0 (the default set) or more, got {args.num_images}")
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.data == SKIMAGE:
        skimage_data()
    count = args.num_images or (num_images or 0)
    return ImageSource(args.data, count, args.split, args.data_root, args.batch_size)


def output_folder(args: argparse.Namespace) -> Path:
    """The output folder, created."""
    folder = Path(args.output).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def encoders(args: argparse.Namespace) -> list["LabelledEncoder"]:
    """The encoders of the checkpoints, printed one per line."""
    from lut.analysis.models import load_encoders

    loaded = load_encoders(args.checkpoint, args.labels, args.weights, args.arch, args.img_size)
    for model in loaded:
        print(f"{model.label}: {model.info.report()}")
    return loaded


def run_attention_distance(args: argparse.Namespace) -> int:
    """Attention distance: print the per-layer head mean of every model."""
    from lut.analysis.reports import attention_distance_report

    record = attention_distance_report(encoders(args), image_source(args), args.unit, not args.no_renormalise,
                                       output_folder(args))
    for model in record["models"]:
        print(f"{model['label']}: " + " ".join(f"{value:.2f}" for value in model["layer_mean"]) + f" {args.unit}")
    print(f"results in {args.output}/attention-distance.png and .json")
    return 0


def run_spectrum(args: argparse.Namespace) -> int:
    """Spectrum: print the effective rank per layer of every model."""
    from lut.analysis.reports import spectrum_report

    record = spectrum_report(encoders(args), image_source(args), args.pool, output_folder(args))
    for model in record["models"]:
        print(f"{model['label']} effective rank: " + " ".join(f"{value:.1f}" for value in model["effective_rank"]))
    print(f"results in {args.output}/spectrum*.png and spectrum.json")
    return 0


def run_attention_maps(args: argparse.Namespace) -> int:
    """Attention maps of the chosen or random query patches."""
    from lut.analysis.reports import attention_maps_report

    if not args.query and args.num_queries < 1:
        raise UsageError(f"--num-queries must be at least 1, got {args.num_queries}")
    queries = [tuple(query) for query in args.query or []]
    attention_maps_report(encoders(args), image_source(args, 2), queries, args.num_queries, args.layer, args.seed,
                          output_folder(args))
    print(f"results in {args.output}/attention-maps.png and .json")
    return 0


def run_gradcam(args: argparse.Namespace) -> int:
    """Grad-CAM of each classifier."""
    from lut.analysis.gradcam import grad_cam_package
    from lut.analysis.reports import gradcam_report

    grad_cam_package()  # without the extra, stop before any file is read or written

    record = gradcam_report(args.checkpoint, args.labels, image_source(args), args.pool, args.classes,
                            output_folder(args))
    for model in record["models"]:
        print(f"{model['label']} ({model['classifier']}): classes {model['class_names']}")
    print(f"results in {args.output}/gradcam.png and .json")
    return 0


def run_reconstruct(args: argparse.Namespace) -> int:
    """Reconstructions of each pre-training checkpoint."""
    from lut.analysis.reports import reconstruct_report

    record = reconstruct_report(args.checkpoint, args.labels, image_source(args), args.mask_ratio, args.seed,
                                output_folder(args))
    for model in record["models"]:
        print(f"{model['label']}: hidden-patch MSE {model['hidden_patch_mse']:.4f} -> {model['figure']}")
    print(f"results in {args.output}/reconstruct-*.png and reconstruct.json")
    return 0
