"""Center occlusion: exact hole area and position for odd and even sides, both fills."""

from types import SimpleNamespace

import pytest
import torch
from PIL import Image

from lut.data.views import EvalTransform
from lut.robustness.benchmarks.base import Pass
from lut.robustness.inference import PassImages
from lut.robustness.occlusion import CenterOcclusion, hole_bounds
from lut.robustness.suite import occlusion_transform

MEAN, STD = [0.5, 0.25, 0.0], [0.5, 0.25, 1.0]


@pytest.mark.parametrize(("side", "hole", "start"), [(224, 112, 56), (9, 3, 3), (10, 3, 3), (9, 4, 2), (10, 4, 3),
                                                     (7, 7, 0)])
def test_hole_bounds_are_centred(side, hole, start):
    assert hole_bounds(side, hole) == (start, start + hole)


@pytest.mark.parametrize(("side", "hole"), [(9, 3), (10, 3), (9, 4), (10, 4)])
def test_pixel_zero_fills_exactly_the_hole_with_black(side, hole):
    image = torch.full((3, side, side), 7.0)
    occluded = CenterOcclusion(hole, "pixel", MEAN, STD)(image)
    changed = (occluded != image).any(dim=0)  # (H, W)
    assert changed.sum().item() == hole * hole
    start = (side - hole) // 2
    assert changed[start:start + hole, start:start + hole].all()
    black = torch.tensor([-1.0, -1.0, 0.0])  # (0 - mean) / std
    assert torch.equal(occluded[:, start, start], black)
    assert torch.equal(image, torch.full((3, side, side), 7.0))  # the input is left alone


def test_normalised_zero_fills_the_hole_with_zeros():
    occluded = CenterOcclusion(2, "normalised", MEAN, STD)(torch.ones(3, 4, 4))
    assert occluded[:, 1:3, 1:3].abs().sum() == 0
    assert occluded.sum().item() == 3 * 16 - 3 * 4


def test_a_pass_occludes_at_the_classifiers_input_size_and_normalisation():
    classifier = SimpleNamespace(view_settings={"img_size": 16}, info=SimpleNamespace(mean=MEAN, std=STD))
    white = [Image.new("RGB", (16, 16), (255, 255, 255))]
    view = EvalTransform(16, MEAN, STD, 1.0)
    for hole, side in ((6, 6), (0.5, 8)):  # pixels, or a fraction of the input side
        step = Pass("hole", white, "white", occlusion=(hole, "pixel"))
        image = PassImages(step.images, None, view, occlusion_transform(step, classifier))[0]  # (3, 16, 16)
        black = (image == torch.tensor([-1.0, -1.0, 0.0])[:, None, None]).all(dim=0)
        start = (16 - side) // 2
        assert black.sum().item() == side * side and black[start:start + side, start:start + side].all()
