"""A tiny class-folder tree (train/ val/ test/) with an obvious signal and a random 1-block encoder checkpoint."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lut.models.encoder import ViTEncoder


@pytest.fixture(scope="session")
def bright_dark(tmp_path_factory) -> Path:
    """16 px images, class `bright` (grey 150-250) against `dark` (0-100): train 10, val 4, test 4 per class."""
    root = tmp_path_factory.mktemp("bright_dark")
    rng = np.random.default_rng(0)
    for split, count in (("train", 10), ("val", 4), ("test", 4)):
        for name, low in (("bright", 150), ("dark", 0)):
            (root / split / name).mkdir(parents=True)
            for index in range(count):
                pixels = rng.integers(low, low + 100, (16, 16, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / name / f"{index}.png")
    return root


@pytest.fixture(scope="session")
def random_encoders(tmp_path_factory) -> list[Path]:
    """Two checkpoints of random 1-block ViT-Ti-width encoders (16 px, patch 4), seeds 0 and 1."""
    folder = tmp_path_factory.mktemp("encoders")
    paths = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        encoder = ViTEncoder(16, 4, 3, 192, 1, 3)
        paths.append(folder / f"encoder{seed}.pth")
        torch.save({"model": encoder.state_dict(), "model_ema": None, "lut_version": "0.1.0",
                    "config": {"mean": [0.5] * 3, "std": [0.25] * 3}}, paths[-1])
    return paths
