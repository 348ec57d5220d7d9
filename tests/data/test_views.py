"""Augmentations: shapes, reproducibility under torch seeding, and the exact effect of each operation."""

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from lut.data import views
from lut.data.views import (
    EvalTransform,
    SingleViewTransform,
    ThreeAugment,
    TwoViewTransform,
    random_resized_crop,
    simple_resized_crop,
)
from lut.errors import UsageError

SIZE = 32


def noise_image(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def expected_normalised(colour: tuple[int, int, int]) -> torch.Tensor:
    """(3,) tensor of (c / 255 - mean) / std, written out per channel."""
    mean, std = IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
    return torch.tensor([(c / 255 - m) / s for c, m, s in zip(colour, mean, std)])


@pytest.mark.parametrize("size", [(20, 13), (13, 20), (64, 48), (32, 32)])
def test_crops_give_square_images_of_any_input_size(size):
    img = noise_image(*size)
    assert simple_resized_crop(SIZE)(img).size == (SIZE, SIZE)
    assert random_resized_crop(SIZE)(img).size == (SIZE, SIZE)


@pytest.mark.parametrize("crop", ["src", "rrc"])
def test_two_views_shapes_and_dtype(crop):
    views_ = TwoViewTransform(SIZE, crop=crop)(noise_image(20, 13))
    assert len(views_) == 2
    for view in views_:
        assert view.shape == (3, SIZE, SIZE)
        assert view.dtype == torch.float32


def test_single_view_is_one_tuple_and_eval_is_tensor():
    img = noise_image(40, 25)
    (view,) = SingleViewTransform(SIZE)(img)
    assert view.shape == (3, SIZE, SIZE) and view.dtype == torch.float32
    (view,) = SingleViewTransform(SIZE, crop="src")(img)
    assert view.shape == (3, SIZE, SIZE)
    evaluated = EvalTransform(SIZE)(img)
    assert isinstance(evaluated, torch.Tensor) and evaluated.shape == (3, SIZE, SIZE)


def test_eval_transform_is_deterministic():
    img = noise_image(40, 25)
    torch.manual_seed(0)
    first = EvalTransform(SIZE)(img)
    torch.manual_seed(1)
    assert torch.equal(first, EvalTransform(SIZE)(img))


@pytest.mark.parametrize("crop", ["src", "rrc"])
def test_two_views_reproducible_with_torch_seed(crop):
    transform = TwoViewTransform(SIZE, crop=crop)
    img = noise_image(48, 40)
    torch.manual_seed(123)
    a1, a2 = transform(img)
    torch.manual_seed(123)
    b1, b2 = transform(img)
    torch.manual_seed(124)
    c1, c2 = transform(img)
    assert torch.equal(a1, b1) and torch.equal(a2, b2)
    assert not torch.equal(a1, c1)
    assert not torch.equal(a2, c2)


@pytest.mark.parametrize("crop", ["src", "rrc"])
def test_first_view_of_constant_image_is_the_normalised_colour(crop):
    colour = (200, 120, 40)
    view1, _ = TwoViewTransform(SIZE, crop=crop)(Image.new("RGB", (20, 13), colour))
    expected = expected_normalised(colour).view(3, 1, 1).expand(3, SIZE, SIZE)
    torch.testing.assert_close(view1, expected, rtol=0, atol=1e-6)


def test_second_view_of_constant_image_changes_colour_unless_neither_jitter_nor_three_augment_did():
    # A plain colour stays plain under every operation; it keeps its colour only without the colour jitter
    # (p 0.2) and with ThreeAugment's blur (1/3): 1/15 of the views, so about 28 of 30 change.
    colour = (200, 120, 40)
    expected = expected_normalised(colour).view(3, 1, 1)
    changed = 0
    for seed in range(30):
        torch.manual_seed(seed)
        _, view2 = TwoViewTransform(SIZE)(Image.new("RGB", (20, 13), colour))
        assert torch.all(view2.amax(dim=(1, 2)) - view2.amin(dim=(1, 2)) < 1e-6)
        changed += bool((view2 - expected).abs().amax() > 0.1)
    assert changed >= 20


def test_custom_mean_and_std():
    transform = SingleViewTransform(SIZE, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    (view,) = transform(Image.new("RGB", (8, 8), (255, 0, 255)))
    assert torch.equal(view[:, 0, 0], torch.tensor([1.0, -1.0, 1.0]))


@pytest.mark.parametrize("cls", [TwoViewTransform, SingleViewTransform])
def test_unknown_crop_is_a_usage_error(cls):
    with pytest.raises(UsageError, match="src, rrc"):
        cls(SIZE, crop="center")


def classify_three_augment(out: Image.Image) -> str:
    """Names the operation ThreeAugment applied to a constant (200, 50, 100) image."""
    pixel = out.getpixel((0, 0))
    if pixel[0] == pixel[1] == pixel[2]:
        return "grayscale"
    if pixel == (55, 50, 100):
        return "solarize"
    # Blurring a constant image leaves it unchanged.
    assert pixel == (200, 50, 100)
    return "blur"


def test_three_augment_picks_each_operation_about_a_third_of_the_time():
    img = Image.new("RGB", (4, 4), (200, 50, 100))
    augment = ThreeAugment()
    torch.manual_seed(0)
    outputs = [augment(img) for _ in range(300)]
    counts = {name: 0 for name in ("grayscale", "solarize", "blur")}
    for out in outputs:
        assert out.mode == "RGB" and out.size == (4, 4)
        counts[classify_three_augment(out)] += 1
    assert all(60 <= count <= 140 for count in counts.values()), counts


def test_solarize_inverts_only_bright_pixels():
    original = (200, 100, 128)
    img = Image.new("RGB", (1, 1), original)
    augment = ThreeAugment()
    torch.manual_seed(0)
    pixels = {augment(img).getpixel((0, 0)) for _ in range(30)}
    # Grayscale makes the channels equal and blurring leaves a one-pixel image unchanged,
    # so any other output is the solarized one.
    solarized = {p for p in pixels if len(set(p)) > 1 and p != original}
    assert solarized == {(55, 100, 127)}


def test_blur_radius_drawn_in_range(monkeypatch):
    radii = []
    gaussian_blur = ImageFilter.GaussianBlur

    def recording_blur(radius):
        radii.append(radius)
        return gaussian_blur(radius)

    monkeypatch.setattr(views.ImageFilter, "GaussianBlur", recording_blur)
    augment = ThreeAugment()
    torch.manual_seed(0)
    img = noise_image(6, 6)
    for _ in range(200):
        augment(img)
    assert len(radii) > 30
    assert all(0.1 <= r <= 2.0 for r in radii)
    assert max(radii) - min(radii) > 1.0  # actually random, not a constant
