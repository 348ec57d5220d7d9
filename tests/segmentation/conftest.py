"""Tiny segmentation data in the generic layout and a tiny encoder checkpoint."""

from pathlib import Path

import pytest
import torch
from helpers import write_generic

from lut.models.encoder import ViTEncoder
from lut.segmentation.scenes import FashionScenes

TINY_DEPTH = 4


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
