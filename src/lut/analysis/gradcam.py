"""Grad-CAM of a ViT classifier (Fig. 3) with the `grad-cam` package.

The target layer is the last block's `norm1`: its output (B, 1 + N, D) is the input of the last
attention, the deepest place where every patch still has its own token. The reshape transform
drops CLS and lays the N patch tokens out on the grid as channels-first feature maps.
"""

from functools import partial
from types import ModuleType

import numpy as np
import torch
from torch import nn

from lut.extras import require
from lut.models.probe import ProbeClassifier


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


def cam_layer(model: nn.Module) -> nn.Module:
    """The last block's `norm1` of a classifier `lut.interchange.load_classifier` built (timm ViT or probe)."""
    vit = model.encoder if isinstance(model, ProbeClassifier) else model
    return vit.blocks[-1].norm1


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
