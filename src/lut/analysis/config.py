"""The settings of each `lut analyze` analysis: which checkpoints, which images, where the figures go."""

from dataclasses import dataclass

from lut.analysis.distance import UNITS
from lut.analysis.images import SKIMAGE, SKIMAGE_PHOTOS
from lut.analysis.reports import ImageSource
from lut.analysis.spectrum import POOLS
from lut.config import data_root_option, option
from lut.paths import default_output_dir

DEFAULT_IMAGES = ImageSource()


@dataclass
class AnalysisImages:
    """Checkpoints, images and output folder: the settings every analysis takes."""

    checkpoint: list[str] = option([], "one or several checkpoints")
    labels: list[str] = option([], "legend name per checkpoint; empty: their folders")
    data: str = option(DEFAULT_IMAGES.data, f"images: '{SKIMAGE}' (scikit-image sample photos "
                       f"{', '.join(SKIMAGE_PHOTOS)}), a data set name (fashion-mnist, ...) or a folder; resized "
                       "(shorter side, bicubic) and centre-cropped to the model input")
    num_images: int = option(DEFAULT_IMAGES.num_images, "first N images (0: the 8 photos, or 16 images of a data set; "
                             "2 for attention-maps)", minimum=0)
    split: str = option(DEFAULT_IMAGES.split, "data set split")
    data_root: str = data_root_option()
    batch_size: int = option(DEFAULT_IMAGES.batch_size, "images per forward", minimum=1)
    output_dir: str = option("", "folder for the PNG and JSON; empty: runs/analysis/ named after the checkpoints")

    @property
    def output_folder(self) -> str:
        """`output_dir`, or the folder named after the checkpoints."""
        return self.output_dir or default_output_dir("analysis", self.checkpoint)


@dataclass
class EncoderAnalysis(AnalysisImages):
    """An analysis of encoders: which network, architecture and input size."""

    weights: str = option("auto", "network of pre-training checkpoints (auto: the student)",
                          ("auto", "student", "teacher"))
    arch: str = option("", "architecture; empty: inferred")
    img_size: int = option(0, "input side; 0: each checkpoint's", minimum=0)


@dataclass
class AttentionDistanceConfig(EncoderAnalysis):
    """`lut analyze attention-distance`."""

    unit: str = option("px", "px, grid (patches) or normalised (image side)", UNITS)
    no_renormalise: bool = option(False, "keep the CLS share (at distance 0) instead of re-normalising patch rows")


@dataclass
class SpectrumConfig(EncoderAnalysis):
    """`lut analyze spectrum`."""

    pool: str = option("mean", "mean of patch tokens, CLS, or every patch token as a sample", POOLS)


@dataclass
class AttentionMapsConfig(EncoderAnalysis):
    """`lut analyze attention-maps`."""

    query: list[int] = option([], "a query patch on the grid, ROW COL (repeat for more: --query 1 2 --query 3 4); "
                              "none: random ones", each=2)
    num_queries: int = option(2, "random queries when no query is given", minimum=1)
    layer: int = option(-1, "block index (-1: the last)")
    seed: int = option(0, "seed of the random queries")


@dataclass
class GradcamConfig(AnalysisImages):
    """`lut analyze gradcam`."""

    pool: str = option("first", "linear-probe head (first: the first the checkpoint holds)", ("first", "cls", "mean"))
    classes: list[str] = option([], "class to explain, by number or name: one for all images or one per image; "
                                "empty: the prediction", aliases=("class",))


@dataclass
class ReconstructConfig(AnalysisImages):
    """`lut analyze reconstruct`."""

    mask_ratio: float = option(-1.0, "fraction of patches hidden, in [0, 1); -1: the run's", minimum=-1.0, below=1.0)
    seed: int = option(0, "seed of the masks")
