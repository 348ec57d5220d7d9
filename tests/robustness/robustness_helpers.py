"""Tiny classifiers whose predictions are known, and images for the benchmarks' folder layouts."""

from pathlib import Path

import timm
import torch
from PIL import Image


def constant_classifier(path: Path, bias: dict[int, float], num_classes: int = 1000) -> Path:
    """A timm ViT (16 px, patch 8, D 192, depth 1) whose logits are `bias` for every image (zero elsewhere).

    The head's weights are zero, so the logits do not depend on the image; saved as a bare timm state dict.
    """
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=16, patch_size=8, depth=1,
                              num_classes=num_classes, global_pool="avg")
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
        for index, value in bias.items():
            model.head.bias[index] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path


def write_image(path: Path, size: tuple[int, int] = (20, 18), colour: tuple[int, int, int] = (120, 60, 30)) -> Path:
    """A one-colour RGB image file (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path
