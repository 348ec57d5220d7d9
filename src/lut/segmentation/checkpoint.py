"""Segmentation checkpoints: the network with everything needed to rebuild it, and the backbone it starts from."""

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lut.errors import UsageError
from lut.interchange import EncoderArchitecture, architecture_from_name, load_encoder
from lut.models.encoder import ViTEncoder
from lut.segmentation.config import SegmentConfig
from lut.segmentation.model import Segmenter, SegmenterShape, build_segmenter
from lut.training.checkpoint import load_checkpoint, load_weights

SEGMENTATION_KEYS = {"model", "architecture", "shape", "classes", "mean", "std"}


@dataclass
class Backbone:
    """The encoder a segmentation run starts from.

    Attributes:
        encoder: pre-trained weights at crop_size, or None for a random initialisation.
        architecture: its architecture at crop_size.
        digest: weights digest of the encoder ("random" for none).
        description: one line for the user.
        mean: input normalisation mean.
        std: input normalisation std.
    """

    encoder: ViTEncoder | None
    architecture: EncoderArchitecture
    digest: str
    description: str
    mean: list[float]
    std: list[float]


def load_backbone(config: SegmentConfig) -> Backbone:
    """The configured encoder at crop_size; without a checkpoint, a random `arch` (announced by the caller).

    Raises:
        UsageError: neither checkpoint nor arch, or a checkpoint that is not an encoder `lut` can import.
    """
    if config.checkpoint:
        encoder, info = load_encoder(config.checkpoint, config.weights_choice, config.arch or None, config.crop_size)
        mean, std = info.normalisation()
        notes = "".join(f"\n  {note}" for note in info.notes)
        return Backbone(encoder, info.architecture, info.digest, info.describe() + notes,
                        list(config.mean or mean), list(config.std or std))
    if not config.arch:
        raise UsageError("no checkpoint given: pass --checkpoint PATH, or arch=NAME for a randomly initialised "
                         "backbone")
    architecture = architecture_from_name(config.arch, config.crop_size)
    return Backbone(None, architecture, f"random-{config.arch}-seed{config.seed}",
                    f"random initialisation (seed {config.seed}): {architecture.describe()}",
                    list(config.mean or [0.485, 0.456, 0.406]), list(config.std or [0.229, 0.224, 0.225]))


def segmenter_shape(config: SegmentConfig, num_classes: int) -> SegmenterShape:
    """The heads' settings of a run."""
    return SegmenterShape(num_classes, tuple(config.out_indices), config.channels, config.aux_channels, 2,
                          tuple(config.pool_scales), config.dropout)


def checkpoint_payload(model: Segmenter, architecture: EncoderArchitecture, classes: list[str], mean: list[float],
                       std: list[float]) -> dict[str, Any]:
    """What eval and predict need from a checkpoint (plain data, weights_only-loadable)."""
    return {
        "model": model.state_dict(),
        "architecture": dataclasses.asdict(architecture),
        "shape": dataclasses.asdict(model.shape),
        "classes": list(classes),
        "mean": list(mean),
        "std": list(std),
    }


@dataclass
class LoadedSegmenter:
    """A trained segmentation network and what it was trained with."""

    model: Segmenter
    classes: list[str]
    mean: list[float]
    std: list[float]
    config: dict[str, Any]
    iteration: int


def load_segmenter(path: str | Path) -> LoadedSegmenter:
    """Rebuild the network of a `lut segment train` checkpoint (eval mode, CPU).

    Raises:
        UsageError: unreadable files and checkpoints that are not segmentation checkpoints.
    """
    payload = load_checkpoint(path)
    missing = SEGMENTATION_KEYS - set(payload)
    if missing:
        raise UsageError(f"{path} is not a `lut segment train` checkpoint (no {', '.join(sorted(missing))}); "
                         "train one with `lut segment train`")
    architecture = EncoderArchitecture(**payload["architecture"])
    shape = payload["shape"]
    shape = SegmenterShape(**{**shape, "out_indices": tuple(shape["out_indices"]),
                              "pool_scales": tuple(shape["pool_scales"])})
    model = build_segmenter(architecture, shape, drop_path=0.0)
    load_weights(model, payload["model"], str(path))
    return LoadedSegmenter(model.eval(), list(payload["classes"]), list(payload["mean"]), list(payload["std"]),
                           payload.get("config") or {}, int(payload.get("iteration", 0)))
