"""The tiny experiment scale the study tests share."""

import pytest
import yaml
from helpers import tiny_values


@pytest.fixture
def tiny_scale(tmp_path, image_folder):
    """A scale of 10-step tiny runs on the random image folder, two seeds, two runs at once."""
    recipe = tiny_values(image_folder, tmp_path / "unused")
    del recipe["output_dir"]
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(recipe))
    scale = {
        "description": "tiny",
        "recipe": str(tmp_path / "tiny.yaml"),
        "pretrain": {"log_every_steps": 5},
        "evaluation": {"data": str(image_folder), "k": 3, "batch_size": 16, "device": "cpu"},
        "seeds": [0, 1],
        "jobs": 2,
    }
    (tmp_path / "scale.yaml").write_text(yaml.safe_dump(scale))
    return tmp_path / "scale.yaml"
