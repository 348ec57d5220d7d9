"""The README's demo paragraph states what the demo recipe does (model, patch, steps, images, k-NN protocol)."""

import math
import re
from pathlib import Path

import pytest

from lut.config import resolve_config

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def demo_section() -> str:
    text = README.read_text()
    start = text.index("## Two commands on a fresh machine")
    return " ".join(text[start:text.index("\n## ", start + 1)].split())  # one line: sentences wrap anywhere


def stated(pattern: str, section: str) -> tuple[str, ...]:
    match = re.search(pattern, section)
    assert match, f"the README's demo section no longer says {pattern!r}"
    return match.groups()


def test_readme_states_the_demo_model(demo_section):
    config = resolve_config("demo", [])
    depth, patch, size = stated(r"a (\d+)-block ViT-Ti \(patch (\d+), (\d+) px\)", demo_section)
    assert config.model == "lut_vit_tiny_patch16"
    assert (int(depth), int(patch), int(size)) == (config.encoder_depth, config.patch_size, config.img_size)


def test_readme_states_the_demo_steps_batch_images_and_epochs(demo_section):
    config = resolve_config("demo", [])
    steps, batch, images, epochs = stated(
        r"(\d+) steps of batch (\d+) over a fixed ([\d,]+)-image subset \((\d+) epochs\)", demo_section)
    assert int(batch) == config.batch_size
    assert int(images.replace(",", "")) == config.train_samples
    assert int(epochs) == config.epochs
    assert int(steps) == config.epochs * math.floor(config.train_samples / config.batch_size)  # drop_last


def test_readme_states_the_teacher_momentum_and_the_knn_protocol(demo_section):
    config = resolve_config("demo", [])
    (momentum,) = stated(r"teacher momentum ([\d.]+)", demo_section)
    assert float(momentum) == config.teacher_momentum
    k, memory, test = stated(r"k-NN \(k = (\d+), (\d+) training images as memory, (\d+) test images\)", demo_section)
    assert (int(k), int(memory), int(test)) == (config.knn_k, config.knn_train_samples, config.knn_test_samples)
