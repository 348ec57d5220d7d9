"""Grad-CAM of a ViT classifier (Fig. 3) with the `grad-cam` package.

The target layer is the last block's `norm1`: its output (B, 1 + N, D) is the input of the last
attention, the deepest place where every patch still has its own token. The reshape transform
drops CLS and lays the N patch tokens out on the grid as channels-first feature maps.
"""

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from torch import nn

from lut.errors import UsageError
from lut.evaluation.features import POOLS, pool_tokens
from lut.evaluation.linear_probe import probe_head
from lut.extras import require
from lut.interchange import load_encoder
from lut.interchange.classifier import load_classifier as load_vit_classifier
from lut.interchange.classifier import source_normalisation
from lut.interchange.loading import read_checkpoint_file
from lut.models.encoder import ViTEncoder


def grad_cam_package() -> tuple[ModuleType, ModuleType]:
    """The `grad-cam` package and its `utils.model_targets` module (the "analysis" extra installs them).

    Raises:
        MissingExtraError: grad-cam is not installed.
    """
    purpose = "Grad-CAM (lut analyze gradcam)"
    return require("pytorch_grad_cam", "analysis", purpose), require("pytorch_grad_cam.utils.model_targets",
                                                                     "analysis", purpose)


def vit_reshape_transform(tokens: torch.Tensor, grid: int) -> torch.Tensor:
    """(B, 1 + N, D) tokens -> (B, D, grid, grid) maps of the patch tokens (CLS dropped)."""
    patches = tokens[:, 1:, :]  # (B, N, D)
    return patches.reshape(patches.shape[0], grid, grid, patches.shape[-1]).permute(0, 3, 1, 2)


class ProbeClassifier(nn.Module):
    """A frozen encoder and one linear-probe head, differentiable end to end for Grad-CAM.

    Args:
        encoder: the pre-trained encoder.
        head: the probe head (`BatchNorm1d -> Linear`).
        pool: "cls" or "mean", the features the head was trained on.
    """

    def __init__(self, encoder: ViTEncoder, head: nn.Module, pool: str) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.pool = pool

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, num_classes) logits."""
        return self.head(pool_tokens(self.encoder.forward_features(images), self.pool))


@dataclass
class Classifier:
    """A classifier ready for Grad-CAM.

    Attributes:
        model: images -> logits (eval mode).
        target_layer: the last block's `norm1`.
        grid: patches per side.
        img_size: input side in pixels.
        mean: input normalisation mean.
        std: input normalisation std.
        kind: "finetune" or "linprobe (POOL)".
        num_classes: logits per image.
        class_names: name of each class (the training data's class folders; "class N" when not recorded).
    """

    model: nn.Module
    target_layer: nn.Module
    grid: int
    img_size: int
    mean: list[float]
    std: list[float]
    kind: str
    num_classes: int
    class_names: list[str]


def load_classifier(path: str, pool: str | None = None) -> Classifier:
    """A `lut finetune` checkpoint (timm ViT) or a `lut linprobe` checkpoint (heads over its source encoder).

    Args:
        path: `checkpoint-last.pth` or `checkpoint-best.pth` of either command.
        pool: head of a linear probe ("cls" or "mean"; default: the first one saved).

    Raises:
        UsageError: other files (pre-training checkpoints included), or a probe whose source encoder cannot be
            loaded.
    """
    payload, _ = read_checkpoint_file(path)
    state, config = payload.get("model"), payload.get("config")
    if not isinstance(state, dict) or not isinstance(config, dict):
        raise UsageError(f"{path} is not a lut finetune or linprobe checkpoint (no `model` weights and `config`)")
    recorded = list(payload.get("classes") or [])
    if "head.weight" in state and "blocks.0.norm1.weight" in state:
        model, info = load_vit_classifier(path)
        architecture = info.architecture
        return Classifier(model, model.blocks[-1].norm1, architecture.img_size // architecture.patch_size,
                          architecture.img_size, info.mean, info.std, "finetune", info.num_classes,
                          class_names(recorded, info.num_classes))
    mean, std, _ = source_normalisation(config)
    pools = [name for name in POOLS if f"{name}.1.weight" in state]
    if not pools or not config.get("checkpoint"):
        what = "a pre-training checkpoint" if "mask_ratio" in config else "not a classifier checkpoint"
        raise UsageError(f"{path} is {what}: Grad-CAM needs a classifier, a `lut finetune` or `lut linprobe` "
                         "checkpoint")
    pool = pool or pools[0]
    if pool not in pools:
        raise UsageError(f"{path} has probe heads for {', '.join(pools)}, not {pool!r}")
    weights = None if config.get("weights") in (None, "auto") else config["weights"]
    if not Path(config["checkpoint"]).expanduser().exists():
        raise UsageError(f"{path} probes the encoder in {config['checkpoint']}, which does not exist (anymore)")
    encoder, _ = load_encoder(config["checkpoint"], weights, config.get("arch") or None,
                              config.get("img_size") or None)
    num_classes = state[f"{pool}.1.weight"].shape[0]
    head = probe_head(encoder.embed_dim, num_classes)
    head.load_state_dict({key[len(pool) + 1:]: value for key, value in state.items() if key.startswith(f"{pool}.")})
    model = ProbeClassifier(encoder, head, pool).eval()
    return Classifier(model, encoder.blocks[-1].norm1, encoder.grid_size, encoder.grid_size * encoder.patch_size,
                      mean, std, f"linprobe ({pool})", num_classes, class_names(recorded, num_classes))


def class_names(recorded: list[str], num_classes: int) -> list[str]:
    """The recorded class names when there is one per logit, else "class 0", "class 1", ..."""
    return recorded if len(recorded) == num_classes else [f"class {index}" for index in range(num_classes)]


def grad_cam(
    model: nn.Module, target_layer: nn.Module, grid: int, images: torch.Tensor, classes: list[int] | None = None
) -> tuple[np.ndarray, list[int]]:
    """Grad-CAM heat maps for the given classes (default: each image's predicted class).

    Args:
        model: images -> (B, num_classes) logits.
        target_layer: module whose (B, 1 + N, D) output is explained.
        grid: patches per side.
        images: (B, C, H, W) normalised images.
        classes: one class per image, or None for the argmax.

    Returns:
        (B, H, W) maps scaled to [0, 1] per image, and the explained class of each image.
    """
    cam_package, model_targets = grad_cam_package()
    with torch.no_grad():
        logits = model(images)  # (B, num_classes)
    explained = classes if classes is not None else logits.argmax(dim=-1).tolist()
    targets = [model_targets.ClassifierOutputTarget(index) for index in explained]
    reshape = partial(vit_reshape_transform, grid=grid)
    with cam_package.GradCAM(model=model, target_layers=[target_layer], reshape_transform=reshape) as cam:
        maps = cam(input_tensor=images, targets=targets)  # (B, H, W)
    return maps, explained
