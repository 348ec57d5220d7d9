"""The overlay's legend: the classes the prediction shows, most pixels first, each with its colour and name."""

import numpy as np

from lut.segmentation.legend import MARGIN, ROW_HEIGHT, SWATCH, legend_entries, with_legend
from lut.segmentation.predict import class_palette

CLASSES = ["sky", "sea", "sand"]


def test_entries_are_the_classes_present_most_pixels_first():
    labels = np.array([[2, 2, 2], [0, 0, 2]], dtype=np.uint8)
    assert legend_entries(labels, CLASSES) == [2, 0]
    assert legend_entries(np.array([[1, 0]], dtype=np.uint8), CLASSES) == [0, 1]  # ties by id


def test_the_overlay_is_kept_and_each_class_has_its_swatch_and_name():
    labels = np.array([[2, 2, 2], [0, 0, 2]], dtype=np.uint8)
    overlay = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10  # (H, W, 3)
    palette = class_palette(3)
    picture = np.asarray(with_legend(overlay, labels, CLASSES, palette))
    assert picture.shape[0] == MARGIN + 2 * ROW_HEIGHT and picture.shape[1] > 3 + MARGIN + SWATCH
    assert np.array_equal(picture[:2, :3], overlay)
    left = 3 + MARGIN
    for row, index in enumerate((2, 0)):
        top = MARGIN + row * ROW_HEIGHT
        swatch = picture[top:top + SWATCH, left:left + SWATCH]
        assert (swatch == palette[index]).all(), CLASSES[index]
        text = picture[top:top + ROW_HEIGHT - 2, left + SWATCH + MARGIN:]
        assert (text.sum(axis=2) < 3 * 128).any(), CLASSES[index]  # dark pixels: the name is written
    assert (picture[MARGIN:, left + SWATCH + MARGIN:] < 255).any()
    assert (picture[2:, :3] == 255).all()  # below the overlay: background
