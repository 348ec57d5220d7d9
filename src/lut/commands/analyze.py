"""`lut analyze {attention-distance,spectrum,attention-maps,gradcam,reconstruct} --checkpoint A [B ...]`."""

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from lut.analysis.config import (
    AnalysisImages,
    AttentionDistanceConfig,
    AttentionMapsConfig,
    EncoderAnalysis,
    GradcamConfig,
    ReconstructConfig,
    SpectrumConfig,
)
from lut.analysis.images import SKIMAGE, skimage_data
from lut.commands.arguments import add_options, configured
from lut.errors import UsageError

if TYPE_CHECKING:
    from lut.analysis.models import LabelledEncoder
    from lut.analysis.reports import ImageSource

ANALYSES = {
    "attention-distance": ("mean attention distance per layer and head (eq. 4)", AttentionDistanceConfig),
    "spectrum": ("eigenvalues of the covariance of L2-normalised features", SpectrumConfig),
    "attention-maps": ("attention of query patches, per head (Fig. 1)", AttentionMapsConfig),
    "gradcam": ("Grad-CAM of fine-tuned or linear-probe classifiers (Fig. 3)", GradcamConfig),
    "reconstruct": ("masked input, reconstruction and original (pre-training runs)", ReconstructConfig),
}


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `analyze` command and its sub-commands."""
    parser = subcommands.add_parser("analyze", help="figures of the paper's analyses (PNG + JSON)",
                                    description="Analyses of pre-trained ViTs; several checkpoints share one figure.")
    analyses = parser.add_subparsers(dest="analysis", required=True, metavar="ANALYSIS")
    handlers = {"attention-distance": run_attention_distance, "spectrum": run_spectrum,
                "attention-maps": run_attention_maps, "gradcam": run_gradcam, "reconstruct": run_reconstruct}
    for name, (text, settings) in ANALYSES.items():
        analysis = analyses.add_parser(name, help=text, description=text)
        add_options(analysis, settings)
        analysis.set_defaults(handler=handlers[name])


def settings_of(args: argparse.Namespace) -> AnalysisImages:
    """The checked settings of the analysis `args` asked for.

    Raises:
        UsageError: an unknown key, a bad value, or no checkpoint.
    """
    settings = configured(args, ANALYSES[args.analysis][1])
    if not settings.checkpoint:
        raise UsageError("give one or several checkpoints: --checkpoint PATH [PATH ...]")
    return settings


def image_source(settings: AnalysisImages, num_images: int | None = None) -> "ImageSource":
    """The `ImageSource` of the settings.

    Raises:
        MissingExtraError: `--data skimage` without scikit-image installed.
    """
    from lut.analysis.reports import ImageSource

    if settings.data == SKIMAGE:
        skimage_data()
    count = settings.num_images or (num_images or 0)
    return ImageSource(settings.data, count, settings.split, settings.data_root, settings.batch_size)


def output_folder(settings: AnalysisImages) -> Path:
    """The output folder, created."""
    folder = Path(settings.output_folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def encoders(settings: EncoderAnalysis) -> list["LabelledEncoder"]:
    """The encoders of the checkpoints, printed one per line."""
    from lut.analysis.models import load_encoders

    weights = None if settings.weights == "auto" else settings.weights
    loaded = load_encoders(settings.checkpoint, settings.labels or None, weights,
                           settings.arch or None, settings.img_size or None)
    for model in loaded:
        print(f"{model.label}: {model.info.report()}")
    return loaded


def run_attention_distance(args: argparse.Namespace) -> int:
    """Attention distance: print the per-layer head mean of every model."""
    from lut.analysis.reports import attention_distance_report

    settings = settings_of(args)
    record = attention_distance_report(encoders(settings), image_source(settings), settings.unit,
                                       not settings.no_renormalise, output_folder(settings))
    for model in record["models"]:
        print(f"{model['label']}: " + " ".join(f"{value:.2f}" for value in model["layer_mean"]) + f" {settings.unit}")
    print(f"results in {settings.output_folder}/attention-distance.png and .json")
    return 0


def run_spectrum(args: argparse.Namespace) -> int:
    """Spectrum: print the effective rank per layer of every model."""
    from lut.analysis.reports import spectrum_report

    settings = settings_of(args)
    record = spectrum_report(encoders(settings), image_source(settings), settings.pool, output_folder(settings))
    for model in record["models"]:
        print(f"{model['label']} effective rank: " + " ".join(f"{value:.1f}" for value in model["effective_rank"]))
    print(f"results in {settings.output_folder}/spectrum*.png and spectrum.json")
    return 0


def run_attention_maps(args: argparse.Namespace) -> int:
    """Attention maps of the chosen or random query patches."""
    from lut.analysis.reports import attention_maps_report

    settings = settings_of(args)
    if len(settings.query) % 2:  # query=[1, 2, 3]
        raise UsageError(f"config key query: {settings.query!r} is not ROW COL pairs")
    queries = list(zip(settings.query[::2], settings.query[1::2]))
    attention_maps_report(encoders(settings), image_source(settings, 2), queries, settings.num_queries,
                          settings.layer, settings.seed, output_folder(settings))
    print(f"results in {settings.output_folder}/attention-maps.png and .json")
    return 0


def run_gradcam(args: argparse.Namespace) -> int:
    """Grad-CAM of each classifier."""
    from lut.analysis.gradcam import grad_cam_package
    from lut.analysis.reports import gradcam_report

    settings = settings_of(args)
    grad_cam_package()  # without the extra, stop before any file is read or written
    pool = None if settings.pool == "first" else settings.pool
    record = gradcam_report(settings.checkpoint, settings.labels or None, image_source(settings), pool,
                            settings.classes or None, output_folder(settings))
    for model in record["models"]:
        print(f"{model['label']} ({model['classifier']}): classes {model['class_names']}")
    print(f"results in {settings.output_folder}/gradcam.png and .json")
    return 0


def run_reconstruct(args: argparse.Namespace) -> int:
    """Reconstructions of each pre-training checkpoint."""
    from lut.analysis.reports import reconstruct_report

    settings = settings_of(args)
    mask_ratio = None if settings.mask_ratio == -1 else settings.mask_ratio
    record = reconstruct_report(settings.checkpoint, settings.labels or None, image_source(settings), mask_ratio,
                                settings.seed, output_folder(settings))
    for model in record["models"]:
        print(f"{model['label']}: hidden-patch MSE {model['hidden_patch_mse']:.4f} -> {model['figure']}")
    print(f"results in {settings.output_folder}/reconstruct-*.png and reconstruct.json")
    return 0
