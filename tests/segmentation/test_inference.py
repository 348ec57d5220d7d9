import pytest
import torch
from torch import nn

from lut.segmentation.evaluate import same_size_batches
from lut.segmentation.inference import predict_scores, window_starts


def test_windows_cover_the_side_and_the_last_is_flush_with_the_end():
    assert window_starts(50, 16, 10) == [(0, 16), (10, 26), (20, 36), (30, 46), (34, 50)]
    assert window_starts(12, 16, 10) == [(0, 12)]  # shorter than a window: taken whole
    assert window_starts(16, 16, 8) == [(0, 16)]


@pytest.mark.parametrize("size", [(37, 50), (16, 16), (12, 40)])
def test_slide_inference_equals_whole_image_inference_for_a_1x1_conv(size):
    torch.manual_seed(0)
    network = nn.Conv2d(3, 5, 1)
    images = torch.randn(2, 3, *size)
    with torch.no_grad():
        whole = predict_scores(network, images, "whole")
        slide = predict_scores(network, images, "slide", crop=16, stride=10)
    torch.testing.assert_close(slide, whole, rtol=1e-5, atol=1e-5)


def test_flip_averages_the_probabilities_of_the_mirrored_image():
    torch.manual_seed(0)
    network = nn.Conv2d(3, 4, 1)
    images = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        scores = predict_scores(network, images, "whole", flip=True)
        expected = (network(images).softmax(1) + network(images.flip(-1)).flip(-1).softmax(1)) / 2
    torch.testing.assert_close(scores, expected)
    torch.testing.assert_close(scores.sum(1), torch.ones(1, 8, 8))


def test_equal_sized_neighbours_are_batched_in_order():
    samples = [(torch.full((3, 4, 4), float(i)), torch.zeros(4, 4, dtype=torch.long)) for i in range(3)]
    samples.insert(2, (torch.zeros(3, 5, 4), torch.zeros(5, 4, dtype=torch.long)))
    batches = same_size_batches(samples)
    assert [tuple(images.shape) for images, _ in batches] == [(2, 3, 4, 4), (1, 3, 5, 4), (1, 3, 4, 4)]
    assert batches[0][0][:, 0, 0, 0].tolist() == [0.0, 1.0] and batches[2][0][0, 0, 0, 0].item() == 2.0
