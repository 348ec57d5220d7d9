"""A labelled image folder with an obvious signal and a tiny pre-training checkpoint."""

from pathlib import Path

import pytest
import torch
from helpers import write_stripes

from lut.models.encoder import ViTEncoder


@pytest.fixture(scope="session")
def stripes(tmp_path_factory) -> Path:
    """`train/` (32 images per class) and `val/` (12 per class); shared by the session: do not modify."""
    return write_stripes(tmp_path_factory.mktemp("stripes"), {"train": 32, "val": 12}, seed=0)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """Our pre-training layout with random 2-block ViT-Ti-width encoders (16 px, patch 4) as student and teacher."""
    torch.manual_seed(0)
    student, teacher = ViTEncoder(16, 4, 3, 192, 2, 3), ViTEncoder(16, 4, 3, 192, 2, 3)
    path = tmp_path_factory.mktemp("checkpoint") / "checkpoint-last.pth"
    torch.save({"model": student.state_dict(), "model_ema": teacher.state_dict(), "lut_version": "0.1.0",
                "config": {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}}, path)
    return path


@pytest.fixture
def make_tiny_encoder():
    """Factory of random 2-block ViT-Ti-width encoders (16 px, patch 4) with non-trivial final norms."""

    def make(seed: int = 0) -> ViTEncoder:
        torch.manual_seed(seed)
        encoder = ViTEncoder(16, 4, 3, 192, 2, 3)
        with torch.no_grad():
            encoder.norm.weight.uniform_(0.5, 1.5)
        return encoder.eval()

    return make
