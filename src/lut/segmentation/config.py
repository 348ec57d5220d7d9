"""Typed settings of `lut segment train`; recipes live in `lut/segmentation/recipes/segment_<name>.yaml`."""

from dataclasses import dataclass

from lut.config import (
    RecipeShelf,
    check_config_ranges,
    checkpoint_every_minutes_option,
    encoder_patch_option,
    option,
    recipe_option,
    save_every_steps_option,
)
from lut.errors import UsageError
from lut.evaluation.config import EncoderSettings, resolve_eval_config
from lut.runtime.precision import PRECISION_HELP
from lut.segmentation.scenes import SCENES_NAME

RECIPES_PACKAGE = "lut.segmentation.recipes"
RECIPE_KIND = "segment"
SEGMENT_RECIPES = RecipeShelf(RECIPES_PACKAGE, RECIPE_KIND)


@dataclass
class SegmentConfig(EncoderSettings):
    """UperNet fine-tuning of a pre-trained ViT; the defaults are mmseg's MAE ViT-B ADE20K recipe per process.

    Without a checkpoint, `arch` names a randomly initialised backbone.
    """

    # data
    data: str = option(SCENES_NAME, f"{SCENES_NAME}, an ADE20K release folder, or a folder with images/{{train,val}}, "
                       "masks/{train,val} and classes.txt")
    ignore_index: int = option(255, "generic folders: mask value of unlabelled pixels", minimum=0)
    crop_size: int = option(512, "training crop and sliding-window side in pixels", minimum=1)
    scale: list[int] = option([2048, 512], "keep-ratio resize target (long, short) before the random ratio; test scale")
    ratio_range: list = option([0.5, 2.0], "training: random resize ratio range")
    cat_max_ratio: float = option(0.75, "training: re-draw crops (10 tries) where one class covers more than this",
                                  above=0.0, maximum=1.0)
    photometric: bool = option(True, "training: mmseg's photometric distortion (brightness, contrast, saturation, hue)")
    mean: list = option([], "input normalisation mean; empty: the checkpoint's (ImageNet's if not recorded)")
    std: list = option([], "input normalisation std; empty: as for mean")
    num_workers: int = option(4, "data loader processes per training process", minimum=0)
    # model
    patch_size: int = encoder_patch_option()
    out_indices: list[int] = option([3, 5, 7, 11], "0-based blocks whose outputs feed the 4x, 2x, 1x, 0.5x levels")
    channels: int = option(768, "UperHead width", minimum=1)
    aux_channels: int = option(256, "FCN auxiliary head width (0: no auxiliary head)", minimum=0)
    aux_weight: float = option(0.4, "weight of the auxiliary head's loss", minimum=0.0)
    pool_scales: list[int] = option([1, 2, 3, 6], "pyramid pooling output sizes")
    dropout: float = option(0.1, "Dropout2d before both classifiers", minimum=0.0, below=1.0)
    drop_path: float = option(0.1, "stochastic depth rate of the backbone", minimum=0.0, below=1.0)
    # optimisation
    max_iters: int = option(160000, "optimiser steps", minimum=1)
    warmup_iters: int = option(1500, "linear warm-up from warmup_ratio x lr", minimum=0)
    warmup_ratio: float = option(1e-6, "learning-rate factor at step 0", minimum=0.0, maximum=1.0)
    poly_power: float = option(1.0, "polynomial decay power after warm-up (to min_lr at max_iters)", minimum=0.0)
    batch_size: int = option(2, "crops per process per micro-batch", minimum=1)
    accum_iter: int = option(1, "micro-batches per optimiser step", minimum=1)
    lr: float = option(1e-4, "peak AdamW learning rate (of the heads; the backbone's is scaled by layer decay)",
                       above=0.0)
    min_lr: float = option(0.0, "learning rate at max_iters", minimum=0.0)
    weight_decay: float = option(0.05, "AdamW weight decay (not on biases, norms, CLS and position table)", minimum=0.0)
    adam_beta1: float = option(0.9, "AdamW beta1", minimum=0.0, below=1.0)
    adam_beta2: float = option(0.999, "AdamW beta2", minimum=0.0, below=1.0)
    layer_decay: float = option(0.65, "layer-wise lr decay: layer id i gets decay^(depth + 1 - i)", above=0.0,
                                maximum=1.0)
    precision: str = option("auto", PRECISION_HELP, ("auto", "fp32", "bf16"))
    device: str = option("auto", "auto, cpu, cuda")
    seed: int = option(0, "seed of the data order, augmentation and head init")
    # evaluation and output
    eval_every_iters: int = option(16000, "validation mIoU every N optimiser steps (and at the end)", minimum=1)
    eval_mode: str = option("slide", "validation inference: sliding windows of crop_size, or the whole image",
                            ("slide", "whole"))
    eval_stride: int = option(341, "sliding-window step in pixels", minimum=1)
    val_samples: int = option(0, "validate on the first N validation images (0: all)", minimum=0)
    log_every_iters: int = option(50, "metrics line every N optimiser steps", minimum=1)
    output_dir: str = option("runs/segment", "where checkpoints, metrics and plots go")
    resume: str = option("auto", "auto: continue from output_dir/checkpoint-last.pth; none; or a checkpoint path")
    recipe: str = recipe_option()
    save_every_steps: int = save_every_steps_option()
    checkpoint_every_minutes: float = checkpoint_every_minutes_option()
    log_to: str = option(
        "tensorboard", "trackers besides metrics.jsonl, comma-separated: tensorboard, wandb, mlflow, or none"
    )


def check_segment_config(config: SegmentConfig) -> None:
    """Refuse lists of the wrong length or type, which the generic config check does not look into.

    Raises:
        UsageError: naming the key and what it must be.
    """
    check_config_ranges(config)
    rules = (
        ("out_indices", config.out_indices, 4, 0, "4 increasing block indices, e.g. [3, 5, 7, 11]"),
        ("pool_scales", config.pool_scales, 0, 1, "positive integers, e.g. [1, 2, 3, 6]"),
        ("scale", config.scale, 2, 1, "two positive integers (long side, short side), e.g. [2048, 512]"),
    )
    for key, values, length, smallest, meaning in rules:
        integers = all(isinstance(value, int) and not isinstance(value, bool) and value >= smallest
                       for value in values)
        if not values or not integers or (length and len(values) != length):
            raise UsageError(f"config key {key}: {values!r} is not {meaning}")
    if sorted(set(config.out_indices)) != list(config.out_indices):
        raise UsageError(f"config key out_indices: {config.out_indices!r} is not 4 increasing block indices")
    low, high = (config.ratio_range + [0, 0])[:2]
    if len(config.ratio_range) != 2 or not 0 < low <= high:
        raise UsageError(f"config key ratio_range: {config.ratio_range!r} is not [low, high] with 0 < low <= high")
    for key in ("mean", "std"):
        if getattr(config, key) and len(getattr(config, key)) != 3:
            raise UsageError(f"config key {key}: give 3 values (R, G, B) or none")


def segment_recipe_names() -> list[str]:
    """The bundled recipes."""
    return SEGMENT_RECIPES.names()


def resolve_segment_config(recipe: str, values: dict) -> SegmentConfig:
    """Defaults <- recipe (bundled name or YAML path) <- `values`.

    Raises:
        UsageError: unknown recipe, bad YAML, unknown key or bad or out-of-range value.
    """
    config = resolve_eval_config(SegmentConfig, RECIPE_KIND, recipe, values, RECIPES_PACKAGE)
    check_segment_config(config)
    return config


@dataclass
class SegmentInference:
    """How `lut segment eval` and `lut segment predict` run a trained segmenter."""

    checkpoint: str = option("", "a `lut segment train` checkpoint")
    mode: str = option("run", "sliding windows of the crop size, the whole image, or the run's eval_mode",
                       ("run", "slide", "whole"))
    stride: int = option(0, "sliding-window step in pixels; 0: the run's eval_stride", minimum=0)
    flip: bool = option(False, "average with the mirrored image")
    device: str = option("auto", "auto, cpu or cuda")

    def require_checkpoint(self) -> None:
        """Refuse a run without a checkpoint.

        Raises:
            UsageError: no `--checkpoint`.
        """
        if not self.checkpoint:
            raise UsageError("give the trained segmenter: --checkpoint PATH (a lut segment train checkpoint)")


@dataclass
class SegmentEvalConfig(SegmentInference):
    """`lut segment eval`: metrics of a trained checkpoint."""

    data: str = option("", "validation data, laid out as segment train's data=; empty: the training run's")
    val_samples: int = option(0, "the first N validation images (0: all)", minimum=0)
    output_dir: str = option("", "folder for results.json and class_iou.png; empty: eval/ next to the checkpoint")


@dataclass
class SegmentPredictConfig(SegmentInference):
    """`lut segment predict`: colour masks and overlays of image files."""

    out: str = option("", "folder for NAME_{labels,mask,overlay}.png")
