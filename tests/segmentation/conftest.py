"""Tiny segmentation data in the generic layout and a tiny encoder checkpoint."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lut.models.encoder import ViTEncoder
from lut.segmentation.scenes import FashionScenes

TINY_DEPTH = 4


def write_generic(folder: Path, scenes: FashionScenes, splits: dict[str, range], side: int = 24) -> Path:
    """`images/SPLIT/*.png`, `masks/SPLIT/*.png` and `classes.txt` from built-in scenes resized to `side`."""
    for split, indices in splits.items():
        (folder / "images" / split).mkdir(parents=True)
        (folder / "masks" / split).mkdir(parents=True)
        for index in indices:
            image, labels = scenes[index]
            image.resize((side, side), Image.BILINEAR).save(folder / "images" / split / f"scene{index}.png")
            mask = Image.fromarray(labels).resize((side, side), Image.NEAREST)
            mask.save(folder / "masks" / split / f"scene{index}.png")
    (folder / "classes.txt").write_text("\n".join(scenes.classes) + "\n")
    return folder


@pytest.fixture(scope="session")
def four_scenes(tmp_path_factory) -> Path:
    """The first four built-in training scenes as both training and validation split (do not modify)."""
    return write_generic(tmp_path_factory.mktemp("four_scenes"), FashionScenes("train", count=4),
                         {"train": range(4), "val": range(4)})


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> Path:
    """A pre-training checkpoint of a random 4-block ViT-Ti-width encoder (32 px, patch 4)."""
    torch.manual_seed(0)
    student, teacher = ViTEncoder(32, 4, 3, 192, TINY_DEPTH, 3), ViTEncoder(32, 4, 3, 192, TINY_DEPTH, 3)
    path = tmp_path_factory.mktemp("encoder") / "checkpoint-last.pth"
    torch.save({"model": student.state_dict(), "model_ema": teacher.state_dict(), "lut_version": "0.1.0",
                "config": {"mean": [0.2, 0.2, 0.2], "std": [0.3, 0.3, 0.3]}}, path)
    return path


def tiny_settings(data: Path, checkpoint: Path, output: Path, **overrides) -> dict:
    """Settings of a tiny CPU run on `data`: whole 24 px scenes, no random resize or colour changes."""
    values = {
        "checkpoint": str(checkpoint), "data": str(data), "output_dir": str(output), "crop_size": 24,
        "scale": [24, 24], "ratio_range": [1.0, 1.0], "cat_max_ratio": 1.0, "photometric": False,
        "out_indices": [0, 1, 2, 3], "channels": 32, "aux_channels": 16, "max_iters": 4, "warmup_iters": 1,
        "batch_size": 2, "lr": 1e-3, "layer_decay": 0.9, "eval_every_iters": 2, "eval_mode": "whole",
        "log_every_iters": 1, "num_workers": 0, "device": "cpu",
    }
    values.update(overrides)
    return values


def random_labels(shape: tuple[int, ...], classes: int, seed: int) -> np.ndarray:
    """Uniform random class ids."""
    return np.random.default_rng(seed).integers(0, classes, shape).astype(np.uint8)
