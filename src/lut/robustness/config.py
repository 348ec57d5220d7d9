"""The settings of `lut robustness`, flat as the command line gives them, and the evaluation they describe."""

from dataclasses import dataclass

from lut.config import option
from lut.paths import default_output_dir
from lut.robustness.occlusion import FILLS
from lut.robustness.options import RobustnessOptions
from lut.robustness.scoring import SUBSET_PROTOCOLS
from lut.robustness.suite import RobustnessSettings
from lut.runtime.precision import PRECISION_HELP

PROTOCOL = RobustnessOptions()
RUN = RobustnessSettings(checkpoints=[], benchmarks=[])


@dataclass
class RobustnessConfig:
    """Every setting of a robustness evaluation; the defaults are `RobustnessOptions`' and `RobustnessSettings`'."""

    checkpoint: list[str] = option([], "classifier files: lut finetune checkpoints or timm ViT state dicts with a head")
    labels: list[str] = option([], "a name per checkpoint in the table; empty: their folder names")
    benchmark: list[str] = option([], "benchmarks and their folders, NAME=PATH (e.g. imagenet-a=/data/imagenet-a)")
    output_dir: str = option("", "where results.json, table.md and curves.png go; empty: runs/robustness/ named "
                             "after the checkpoints")
    cache_dir: str = option("", "logits cache; empty: OUTPUT/logits")
    no_cache: bool = option(False, "neither read nor write cached logits")
    subset_protocol: str = option(PROTOCOL.subset_protocol, "ImageNet-A/R, ObjectNet: mask = argmax over the "
                                  "benchmark's classes (Hendrycks), membership = argmax over 1000 then check the class",
                                  SUBSET_PROTOCOLS)
    occlusion_hole: list[int] = option(list(PROTOCOL.occlusion_holes), "centred hole sides in pixels of the model "
                                       "input; the first is the table's")
    occlusion_fill: str = option(PROTOCOL.occlusion_fill, "zero in pixel space (black) or in normalised space (the "
                                 "mean colour)", FILLS)
    objectnet_border: int = option(PROTOCOL.objectnet_border, "pixels cropped off each ObjectNet side", minimum=0)
    max_images: int = option(PROTOCOL.max_images, "a fixed random subset of N images per image set (0: all)",
                             minimum=0)
    seed: int = option(PROTOCOL.seed, "seed of that subset")
    crop_pct: float = option(0.0, "evaluation crop; 0: the checkpoint's, else 0.875 at 224 px and more, 1.0 below",
                             minimum=0.0, maximum=1.0)
    batch_size: int = option(RUN.batch_size, "images per forward", minimum=1)
    num_workers: int = option(RUN.num_workers, "data loader processes", minimum=0)
    device: str = option(RUN.device, "auto, cpu or cuda")
    precision: str = option(RUN.precision, PRECISION_HELP, ("auto", "fp32", "bf16"))

    def settings(self) -> RobustnessSettings:
        """The evaluation these settings describe."""
        options = RobustnessOptions(self.subset_protocol, tuple(self.occlusion_hole), self.occlusion_fill,
                                    self.objectnet_border, self.max_images, self.seed)
        output = self.output_dir or default_output_dir("robustness", self.checkpoint)
        cache_dir = None if self.no_cache else (self.cache_dir or f"{output}/logits")
        return RobustnessSettings(
            checkpoints=self.checkpoint, benchmarks=self.benchmark, labels=self.labels or None, options=options,
            output_dir=output, cache_dir=cache_dir, batch_size=self.batch_size, num_workers=self.num_workers,
            device=self.device, precision=self.precision, crop_pct=self.crop_pct or None,
        )
