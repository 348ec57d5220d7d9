"""`reconstruct`: masking, pasting and the norm-pix rescale, on a stub model with a known prediction."""

import math

import pytest
import torch

from lut.analysis.reconstruction import reconstruct

# One 1-channel 4x4 image of four 2x2 patches, row-major: (0, 2, 4, 6), (10,) * 4, (20,) * 4, (1, 3, 5, 7).
IMAGE = torch.tensor([[0.0, 2.0, 10.0, 10.0],
                      [4.0, 6.0, 10.0, 10.0],
                      [20.0, 20.0, 1.0, 3.0],
                      [20.0, 20.0, 5.0, 7.0]]).view(1, 1, 4, 4)
KEEP_IDS = torch.tensor([[0, 3]])  # patches 1 and 2 hidden


class ConstantPrediction(torch.nn.Module):
    """Predicts 1.0 for every pixel of every patch."""

    patch_size = 2

    def reconstruct(self, images: torch.Tensor, keep_ids: torch.Tensor) -> torch.Tensor:
        return torch.ones(images.shape[0], 4, 4)  # (B, N, p*p*C)


def test_masked_input_zeroes_the_hidden_patches():
    masked = reconstruct(ConstantPrediction(), IMAGE, KEEP_IDS, norm_pix_loss=False)["masked"]
    assert masked[0, 0].tolist() == [[0, 2, 0, 0], [4, 6, 0, 0], [0, 0, 1, 3], [0, 0, 5, 7]]


@pytest.mark.parametrize("norm_pix_loss", [False, True])
def test_prediction_rescaled_with_the_visible_patches_and_pasted_into_the_hidden_ones(norm_pix_loss):
    # Visible patches (0, 2, 4, 6) and (1, 3, 5, 7): means 3 and 4, unbiased variances 20 / 3 each, so a
    # norm-pix prediction of 1 maps to 1 * sqrt(20 / 3 + 1e-6) + 3.5.
    value = math.sqrt(20 / 3 + 1e-6) + 3.5 if norm_pix_loss else 1.0
    results = reconstruct(ConstantPrediction(), IMAGE, KEEP_IDS, norm_pix_loss)
    torch.testing.assert_close(results["reconstruction"], torch.full((1, 1, 4, 4), value), rtol=0, atol=1e-6)
    v = value
    expected = torch.tensor([[0, 2, v, v], [4, 6, v, v], [v, v, 1, 3], [v, v, 5, 7]]).view(1, 1, 4, 4)
    torch.testing.assert_close(results["pasted"], expected, rtol=0, atol=1e-6)
