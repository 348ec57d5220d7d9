"""The pyramid's block indices on encoders shallower than the recipe's: scaled to the depth, and announced."""

import logging

import pytest

from lut.segmentation.checkpoint import fit_out_indices, segmenter_shape
from lut.segmentation.config import resolve_segment_config


@pytest.mark.parametrize(("depth", "fitted"), [
    (4, (0, 1, 2, 3)),  # (i + 1) * 4 / 12 - 1 rounds to 0.33 -> 0, 1, 1.67 -> 2, 3
    (5, (1, 2, 3, 4)),  # 0.67 -> 1, 1.5 -> round(2.5) - 1 = 1 taken twice: the second moves up to 2, then 3, 4
    (6, (1, 2, 3, 5)),
    (8, (2, 3, 4, 7)),
    (12, (3, 5, 7, 11)),
    (24, (3, 5, 7, 11)),  # fitting indices stay as they are (mmseg's default on deeper encoders too)
    (3, (3, 5, 7, 11)),  # fewer blocks than levels: left for build_backbone to refuse
])
def test_default_indices_fitted_to_the_depth(depth, fitted):
    assert fit_out_indices([3, 5, 7, 11], depth) == fitted


def test_a_scaled_pyramid_is_announced_and_a_fitting_one_is_not(caplog):
    config = resolve_segment_config("small", {"out_indices": [3, 5, 7, 11]})
    with caplog.at_level(logging.INFO, logger="lut"):
        assert segmenter_shape(config, 5, 6).out_indices == (1, 2, 3, 5)
        assert segmenter_shape(config, 5, 12).out_indices == (3, 5, 7, 11)
    assert caplog.messages == ["out_indices [3, 5, 7, 11] do not fit the encoder's 6 blocks: scaled to [1, 2, 3, 5] "
                               "(out_indices= sets them)"]
