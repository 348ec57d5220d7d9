"""Segmentation checkpoints: the network with everything needed to rebuild it, and the backbone it starts from."""

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lut.errors import UsageError
from lut.interchange import EncoderArchitecture, architecture_from_name, load_encoder
from lut.interchange.kinds import checkpoint_kind, kind_name
from lut.models.encoder import ViTEncoder
from lut.runtime.checkpoint import load_checkpoint, load_weights
from lut.segmentation.config import SegmentConfig
from lut.segmentation.model import Segmenter, SegmenterShape, build_segmenter


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
        info.architecture.check_patch_size(config.patch_size)
        mean, std = info.normalisation()
        notes = "".join(f"\n  {note}" for note in info.notes)
        return Backbone(encoder, info.architecture, info.digest, info.describe() + notes,
                        list(config.mean or mean), list(config.std or std))
    if not config.arch:
        raise UsageError("no checkpoint given: pass --checkpoint PATH, or arch=NAME for a randomly initialised "
                         "backbone")
    architecture = architecture_from_name(config.arch, config.crop_size)
    architecture.check_patch_size(config.patch_size)
    return Backbone(None, architecture, f"random-{config.arch}-seed{config.seed}",
                    f"random initialisation (seed {config.seed}): {architecture.describe()}",
                    list(config.mean or [0.485, 0.456, 0.406]), list(config.std or [0.229, 0.224, 0.225]))


def segmenter_shape(config: SegmentConfig, num_classes: int, depth: int) -> SegmenterShape:
    """The heads' settings of a run on an encoder of `depth` blocks (out_indices fitted to it, announced)."""
    out_indices = fit_out_indices(config.out_indices, depth)
    if list(out_indices) != list(config.out_indices):
        logging.getLogger("lut").info("out_indices %s do not fit the encoder's %d blocks: scaled to %s "
                                      "(out_indices= sets them)", list(config.out_indices), depth, list(out_indices))
    return SegmenterShape(num_classes, out_indices, config.channels, config.aux_channels, 2,
                          tuple(config.pool_scales), config.dropout)


def fit_out_indices(out_indices: list[int], depth: int) -> tuple[int, ...]:
    """`out_indices` as they are when they fit `depth` blocks; otherwise at the same fractions of the depth.

    E.g. the 12-block default [3, 5, 7, 11] (a third, half, two thirds and the end) is [1, 2, 3, 5] for 6 blocks.
    An encoder of fewer than 4 blocks keeps them as they are (`build_backbone` refuses them).
    """
    if out_indices[-1] < depth or depth < len(out_indices):
        return tuple(out_indices)
    scaled = [round((index + 1) * depth / (out_indices[-1] + 1)) - 1 for index in out_indices]
    for position in range(1, len(scaled)):  # rounding can give one block twice: keep them increasing
        scaled[position] = max(scaled[position], scaled[position - 1] + 1)
    for position in range(len(scaled) - 2, -1, -1):  # and within the depth
        scaled[position] = min(scaled[position], scaled[position + 1] - 1)
    return tuple(scaled)


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
    try:
        kind = checkpoint_kind(payload)
    except UsageError as error:
        raise UsageError(f"{path}: {error}") from error
    if kind != "lut-segment":
        raise UsageError(f"{path} is {kind_name(kind)}, not {kind_name('lut-segment')}; train one with "
                         "`lut segment train`")
    architecture = EncoderArchitecture(**payload["architecture"])
    shape = payload["shape"]
    shape = SegmenterShape(**{**shape, "out_indices": tuple(shape["out_indices"]),
                              "pool_scales": tuple(shape["pool_scales"])})
    model = build_segmenter(architecture, shape, drop_path=0.0)
    load_weights(model, payload["model"], str(path))
    return LoadedSegmenter(model.eval(), list(payload["classes"]), list(payload["mean"]), list(payload["std"]),
                           payload.get("config") or {}, int(payload.get("iteration", 0)))
