"""A labelled image folder with an obvious signal and a tiny pre-training checkpoint."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lut.models.encoder import ViTEncoder


def write_stripes(folder: Path, per_class: dict[str, int], seed: int) -> Path:
    """Noisy 16 px images: class `horizontal` has horizontal stripes, class `vertical` vertical ones."""
    rng = np.random.default_rng(seed)
    stripes = (np.arange(16) // 2 % 2 * 160).astype(np.uint8)  # (16,) 2 px bands
    for split, count in per_class.items():
        for name, pattern in (("horizontal", stripes[:, None]), ("vertical", stripes[None, :])):
            (folder / split / name).mkdir(parents=True, exist_ok=True)
            for index in range(count):
                pixels = rng.integers(0, 90, (16, 16), dtype=np.uint8) + pattern  # (16, 16)
                Image.fromarray(pixels).convert("RGB").save(folder / split / name / f"{index:02d}.png")
    return folder


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
