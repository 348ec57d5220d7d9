"""MAE reconstruction loss and norm-pix targets, on hand-computed examples."""

import pytest
import torch

from lut.losses import mae_loss
from lut.losses.mae import normalize_patches

# One 1-channel 4x4 image holding 0..15 row by row; 2x2 patches:
#   patch 0 = [0, 1, 4, 5]     patch 1 = [2, 3, 6, 7]
#   patch 2 = [8, 9, 12, 13]   patch 3 = [10, 11, 14, 15]
IMAGE = torch.arange(16, dtype=torch.float32).reshape(1, 1, 4, 4)


def test_mae_loss_averages_squared_error_over_masked_patches_only():
    mask = torch.tensor([[1.0, 0.0, 0.0, 1.0]])
    reconstruction = torch.zeros(1, 4, 4)
    reconstruction[0, 1] = 1000.0  # visible patches do not count
    reconstruction[0, 2] = -1000.0
    # patch 0: (0 + 1 + 16 + 25) / 4 = 10.5; patch 3: (100 + 121 + 196 + 225) / 4 = 160.5
    loss = mae_loss(reconstruction, IMAGE, mask, patch_size=2, norm_pix_loss=False)
    assert loss.item() == pytest.approx(85.5)


def test_mae_loss_with_a_nonzero_prediction():
    mask = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    reconstruction = torch.ones(1, 4, 4)
    # patch 0 minus 1: (-1, 0, 3, 4) -> (1 + 0 + 9 + 16) / 4 = 6.5
    assert mae_loss(reconstruction, IMAGE, mask, 2, False).item() == pytest.approx(6.5)


def test_mae_loss_weights_every_masked_patch_of_the_batch_equally():
    images = torch.cat([IMAGE, torch.zeros_like(IMAGE)])
    mask = torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0]])
    # (10.5 + 160.5 + 0) / 3 masked patches, not the mean of per-image means (42.75).
    loss = mae_loss(torch.zeros(2, 4, 4), images, mask, 2, False)
    assert loss.item() == pytest.approx(57.0)


def test_norm_pix_target_uses_unbiased_variance_and_eps():
    patch = torch.tensor([[[0.0, 1.0, 4.0, 5.0]]])
    # mean 2.5; unbiased variance (6.25 + 2.25 + 2.25 + 6.25) / 3 = 17 / 3
    std = (17 / 3 + 1e-6) ** 0.5
    expected = torch.tensor([-2.5, -1.5, 1.5, 2.5]) / std
    torch.testing.assert_close(normalize_patches(patch)[0, 0], expected, rtol=1e-6, atol=0)
    assert std == pytest.approx(2.3804761428)


def test_norm_pix_target_of_a_constant_patch_is_zero_not_nan():
    assert normalize_patches(torch.full((1, 1, 4), 3.0)).tolist() == [[[0.0, 0.0, 0.0, 0.0]]]


def test_mae_loss_with_norm_pix_target():
    mask = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    # Zero prediction against (-2.5, -1.5, 1.5, 2.5) / std: mean square 4.25 / (17/3 + 1e-6) = 0.74999987;
    # a biased variance would give 1.0.
    loss = mae_loss(torch.zeros(1, 4, 4), IMAGE, mask, 2, norm_pix_loss=True)
    assert loss.item() == pytest.approx(0.74999987, abs=1e-7)


def test_mae_loss_is_computed_in_float32_for_half_precision_inputs():
    mask = torch.tensor([[1.0, 0.0, 0.0, 1.0]])
    loss = mae_loss(torch.zeros(1, 4, 4, dtype=torch.bfloat16), IMAGE, mask, 2, False)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(85.5)


def test_mae_loss_squares_bfloat16_pixels_in_float32():
    # bf16 holds 255, 253, 251, 249 exactly but not their squares: (65025 + 64009 + 63001 + 62001) / 4 = 63509
    # in float32, 63488 with the squares taken in bf16.
    image = torch.tensor([[[[255.0, 253.0], [251.0, 249.0]]]], dtype=torch.bfloat16)  # (1, 1, 2, 2): one patch
    loss = mae_loss(torch.zeros(1, 1, 4, dtype=torch.bfloat16), image, torch.ones(1, 1), 2, False)
    assert loss.item() == 63509.0
