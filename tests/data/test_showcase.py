"""Figure images are spread over the classes: the first of every class, then the second, ..."""

import numpy as np
import pytest
from helpers import tiny_values

from lut.config import build_config
from lut.data.showcase import showcase, showcase_stream, spread_over_classes
from lut.data.sources import build_dataset
from lut.training.final_report import figure_images


@pytest.mark.parametrize(("labels", "count", "expected"), [
    ([0, 0, 0, 1, 1, 2], 4, [0, 3, 5, 1]),
    ([0, 0, 0, 1, 1, 2], 10, [0, 3, 5, 1, 4, 2]),
    ([1, 0, 1, 0], 3, [1, 0, 3]),  # label order, whatever the sample order
    ([-1, -1, -1], 2, [0, 1]),  # unlabelled: the first images
    ([], 3, []),
])
def test_spread_over_classes(labels, count, expected):
    assert spread_over_classes(labels, count) == expected


def test_a_class_folder_shows_every_class(image_folder):
    folder = build_dataset(str(image_folder))  # 20 images of a, then 20 of b
    chosen = showcase(folder, 4)
    expected = [folder[index][0] for index in (0, 20, 1, 21)]
    assert [np.asarray(image).tolist() for image in chosen] == [np.asarray(image).tolist() for image in expected]


def test_a_stream_shows_the_classes_of_its_first_samples():
    samples = [(f"{index}", f"image {index}", index // 5) for index in range(100)]  # classes of 5 samples each
    assert showcase_stream(iter(samples), 3) == ["image 0", "image 5", "image 10"]


def test_the_pre_training_figure_takes_images_of_both_classes(image_folder, tmp_path):
    config = build_config(tiny_values(image_folder, tmp_path, num_visualize=4))
    folder = build_dataset(str(image_folder))
    chosen = [np.asarray(image).tolist() for image in figure_images(config)]
    assert chosen == [np.asarray(folder[index][0]).tolist() for index in (0, 20, 1, 21)]  # a, b, a, b
