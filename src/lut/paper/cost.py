"""GPU-hours of a table's runs, from the arithmetic of `lut.cost` at a calibrated rate.

The rate is what the paper's own timing implies: 400 LUT epochs of ViT-B/16 on ImageNet-1K took 119 hours on
8 V100s (Section 5.1), i.e. 952 GPU-hours for `step_macs` x 2 FLOPs x 1,281,167 images x 400 epochs: about 23
TFLOP/s per GPU. Evaluations count the encoder on all its patches (forward + backward when it is trained, forward
only for the frozen linear probe); heads, decoders of segmentation and data loading are left out.
"""

from typing import Any

import torch

from lut.config import PretrainConfig
from lut.cost import step_macs, transformer_macs
from lut.models.factory import parse_model_name
from lut.training.pretrain_models import build_student

SUSTAINED_FLOPS_PER_GPU = 23.1e12
SECONDS_PER_HOUR = 3600.0


def hours(macs: float) -> float:
    """GPU-hours of `macs` multiply-accumulates at the calibrated rate."""
    return 2.0 * macs / SUSTAINED_FLOPS_PER_GPU / SECONDS_PER_HOUR


def trained_images(epochs: int, images_per_epoch: int, max_steps: int, images_per_step: int) -> int:
    """Images a run processes: `max_steps` steps when it stops early, else the epochs over the images."""
    if max_steps:
        by_steps = max_steps * images_per_step
        return min(by_steps, epochs * images_per_epoch) if images_per_epoch else by_steps
    return epochs * images_per_epoch


def pretrain_hours(config: PretrainConfig, images_per_epoch: int) -> float:
    """GPU-hours of a pre-training (one GPU's batch and accumulation; the count does not depend on the GPUs)."""
    with torch.device("meta"):
        model = build_student(config)
    images = trained_images(config.epochs, config.train_samples or images_per_epoch, config.max_steps,
                            config.batch_size * config.accum_iter)
    return hours(step_macs(model, config.mask_ratio)["total"] * images)


def encoder_macs(config: PretrainConfig, img_size: int) -> int:
    """Forward MACs per image of the pre-trained encoder on all patches of an `img_size` input."""
    _, size = parse_model_name(config.model)
    patch = config.patch_size or size.patch_size
    tokens = (img_size // patch) ** 2
    return tokens * 3 * patch * patch * size.embed_dim + transformer_macs(tokens + 1, size.embed_dim,
                                                                          config.encoder_depth or size.depth)


def evaluation_hours(kind: str, settings: Any, encoder: PretrainConfig, images_per_epoch: int,
                     processes: int = 1) -> float:
    """GPU-hours of an evaluation whose resolved config is `settings`, on an encoder shaped like `encoder`
    (`processes`: how many share a segmentation run's iterations, each with its own batch)."""
    if kind == "segment":
        crops = settings.max_iters * settings.batch_size * settings.accum_iter * processes
        return hours(3 * encoder_macs(encoder, settings.crop_size) * crops)
    images = settings.epochs * (settings.train_samples or images_per_epoch)
    passes = 3 if kind == "finetune" else 1
    return hours(passes * encoder_macs(encoder, encoder.img_size) * images)


def robustness_hours(encoder: PretrainConfig, images: int) -> float:
    """GPU-hours of a classifier shaped like `encoder` predicting `images` images (every pass of a benchmark
    suite), forward only."""
    return hours(encoder_macs(encoder, encoder.img_size) * images)


def transfer_point_hours(settings: Any, encoder: PretrainConfig, images: int) -> float:
    """GPU-hours of one run of a transfer grid: a fine-tuning (resolved config `settings`) over the data set's
    `images` training images (or its `train_samples`); the hold-out it validates on every epoch is left out of
    training, which this ignores, as it ignores the test pass."""
    return evaluation_hours("finetune", settings, encoder, images)
