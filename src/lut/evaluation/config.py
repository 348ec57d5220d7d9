"""Typed settings of fine-tuning and linear probing: defaults, YAML recipes, `key=value` overrides.

Recipes live in `lut/evaluation/recipes/` as `finetune_<name>.yaml` and `linprobe_<name>.yaml`.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from lut.config import (
    EncoderSettings,
    RecipeShelf,
    build_config,
    check_config_ranges,
    checkpoint_every_minutes_option,
    data_root_option,
    download_option,
    encoder_patch_option,
    option,
    recipe_option,
    recipe_values,
    save_every_steps_option,
)
from lut.runtime.precision import PRECISION_HELP

RECIPES_PACKAGE = "lut.evaluation.recipes"
FINETUNE_RECIPES = RecipeShelf(RECIPES_PACKAGE, "finetune")
LINPROBE_RECIPES = RecipeShelf(RECIPES_PACKAGE, "linprobe")
DEFAULT_RECIPE = "small"
Config = TypeVar("Config", bound="SupervisedConfig")


@dataclass
class SupervisedConfig(EncoderSettings):
    """Settings shared by fine-tuning and linear probing."""

    # data
    data: str = option("fashion-mnist", "labelled data: built-in name, folder of class sub-folders (+ train/, val/), "
                                        "tar shards (with test_data) or Hugging Face data")
    test_data: str = option("", "the test set when not data's test split (tar shards have none): any data data= takes")
    image_column: str = option("", "Hugging Face data: the column of images; empty: the first Image column")
    label_column: str = option("", "Hugging Face data: the column of labels (a ClassLabel); empty: the first "
                                   "ClassLabel column")
    data_root: str = data_root_option()
    download: bool = download_option()
    img_size: int = option(0, "input side in pixels; 0: the checkpoint's (another size resamples the position "
                              "table, and says so)", minimum=0)
    patch_size: int = encoder_patch_option()
    train_samples: int = option(0, "random training subset (0: all)", minimum=0)
    test_samples: int = option(0, "random test subset (0: all)", minimum=0)
    mean: list = option([], "input normalisation mean; empty: the checkpoint's (ImageNet's if not recorded)")
    std: list = option([], "input normalisation std; empty: as for mean")
    crop_scale_min: float = option(0.08, "smallest area fraction of the training RandomResizedCrop",
                                   above=0.0, maximum=1.0)
    crop_pct: float = option(0.875, "evaluation: resize to img_size / crop_pct, center crop (0.875: 256 -> 224)",
                             above=0.0, maximum=1.0)
    num_workers: int = option(8, "data loader processes per training process", minimum=0)
    # optimisation
    epochs: int = option(100, "epochs", minimum=1)
    warmup_epochs: float = option(5, "linear lr warm-up from 0, then half-cosine to min_lr", minimum=0.0)
    batch_size: int = option(32, "images per process per micro-batch", minimum=1)
    accum_iter: int = option(1, "micro-batches per optimiser step", minimum=1)
    blr: float = option(1e-3, "base learning rate: lr = blr * effective batch / 256", minimum=0.0)
    lr: float = option(0.0, "absolute learning rate; 0 derives it from blr", minimum=0.0)
    min_lr: float = option(0.0, "learning rate at the end of the cosine", minimum=0.0)
    weight_decay: float = option(0.0, "weight decay", minimum=0.0)
    precision: str = option("auto", PRECISION_HELP, ("auto", "fp32", "bf16"))
    device: str = option("auto", "auto, cpu, cuda")
    seed: int = option(0, "seed of data order, augmentation and head init")
    # output
    output_dir: str = option("runs/eval", "where checkpoints, metrics and plots go")
    log_to: str = option(
        "tensorboard", "trackers besides metrics.jsonl, comma-separated: tensorboard, wandb, mlflow, or none"
    )
    resume: str = option("auto", "auto: continue from output_dir/checkpoint-last.pth; none; or a checkpoint path")
    recipe: str = recipe_option()
    save_every_steps: int = save_every_steps_option()
    checkpoint_every_minutes: float = checkpoint_every_minutes_option()


@dataclass
class FinetuneConfig(SupervisedConfig):
    """End-to-end fine-tuning (MAE/LUT protocol); defaults are LUT's ViT-B recipe per process."""

    lr_rule: str = option("linear", "linear: blr*batch/256 (MAE); sqrt: blr*sqrt(batch)/8 (released LUT code)",
                          ("linear", "sqrt"))
    blr: float = option(1e-3, "base learning rate", minimum=0.0)
    min_lr: float = option(1e-6, "learning rate at the end of the cosine", minimum=0.0)
    weight_decay: float = option(0.05, "AdamW weight decay (not on biases, norms, CLS and position table)", minimum=0.0)
    adam_beta1: float = option(0.9, "AdamW beta1", minimum=0.0, below=1.0)
    adam_beta2: float = option(0.999, "AdamW beta2", minimum=0.0, below=1.0)
    layer_decay: float = option(0.75, "layer-wise lr decay: block i gets decay^(depth + 1 - i)", above=0.0, maximum=1.0)
    drop_path: float = option(0.1, "stochastic depth rate", minimum=0.0, below=1.0)
    head_init_std: float = option(2e-5, "std of the classifier's truncated-normal init", minimum=0.0)
    fc_norm_init: str = option("fresh", "fresh: fc_norm from 1/0 (MAE/LUT code); pretrained: copy the final norm",
                               ("fresh", "pretrained"))
    auto_augment: str = option("rand-m9-mstd0.5-inc1", "timm RandAugment policy; empty disables it")
    reprob: float = option(0.25, "random erasing probability", minimum=0.0, maximum=1.0)
    mixup: float = option(0.8, "mixup alpha (0 disables)", minimum=0.0)
    cutmix: float = option(1.0, "cutmix alpha (0 disables)", minimum=0.0)
    label_smoothing: float = option(0.1, "label smoothing", minimum=0.0, below=1.0)
    output_dir: str = option("runs/finetune", "where checkpoints, metrics and plots go")


@dataclass
class LinprobeConfig(SupervisedConfig):
    """Linear probing (MAE protocol), or logistic regression on cached features with mode=features."""

    mode: str = option("protocol", "protocol: MAE's (BN + linear, LARS, augmentation); features: logistic "
                       "regression on cached features (cheap, not the MAE protocol)", ("protocol", "features"))
    pools: list[str] = option(["cls", "mean"], "features probed: cls and/or mean (mean of the patch tokens)")
    epochs: int = option(90, "epochs", minimum=1)
    warmup_epochs: float = option(10, "linear lr warm-up from 0, then half-cosine to 0", minimum=0.0)
    batch_size: int = option(512, "images per process per micro-batch", minimum=1)
    accum_iter: int = option(4, "micro-batches per optimiser step", minimum=1)
    blr: float = option(0.1, "base learning rate: lr = blr * effective batch / 256", minimum=0.0)
    momentum: float = option(0.9, "LARS momentum", minimum=0.0, below=1.0)
    trust_coefficient: float = option(0.001, "LARS trust coefficient", minimum=0.0)
    logistic_l2: float = option(1e-4, "mode=features: L2 penalty on the weights", minimum=0.0)
    logistic_iterations: int = option(300, "mode=features: L-BFGS iterations", minimum=1)
    cache_dir: str = option("~/.cache/lut/features", "mode=features: feature cache folder (empty: no cache)")
    output_dir: str = option("runs/linprobe", "where checkpoints, metrics and plots go")


def check_eval_config(config: SupervisedConfig) -> None:
    """Refuse settings outside their range and a RandAugment policy timm does not know.

    Configs built in Python, not by `resolve_eval_config`, skip `build_config`'s range check: this covers them.

    Raises:
        UsageError: naming the first bad key, its value and what it must be.
    """
    check_config_ranges(config)
    if getattr(config, "auto_augment", ""):
        from lut.evaluation.transforms import check_auto_augment  # timm: imported only when needed

        check_auto_augment(config.auto_augment)


def eval_recipe_names(kind: str, package: str = RECIPES_PACKAGE) -> list[str]:
    """Bundled recipes of one kind ("finetune", "linprobe", ...) in `package`, without the prefix."""
    return RecipeShelf(package, kind).names()


def resolve_eval_config(
    cls: type[Config], kind: str, recipe: str, values: dict[str, Any], package: str = RECIPES_PACKAGE
) -> Config:
    """Defaults <- recipe (bundled name in `package`, or YAML path) <- `values`.

    Raises:
        UsageError: unknown recipe, bad YAML, unknown key or bad or out-of-range value.
    """
    settings = {**recipe_values(recipe, RecipeShelf(package, kind)), **values}
    if isinstance(settings.get("checkpoint"), str) and settings["checkpoint"]:
        # Stored in the run's checkpoints and config.yaml, which are read again from other folders (Grad-CAM).
        settings["checkpoint"] = str(Path(settings["checkpoint"]).expanduser().absolute())
    config = build_config(settings, cls)
    check_eval_config(config)
    return config
