"""SimMIM's L1 reconstruction loss: hand-computed values and SimMIM's own pixel-space formula."""

import pytest
import torch

from lut.losses import simmim_loss
from lut.models.patches import patchify


def constant_patch_image() -> torch.Tensor:
    """One 3x4x4 image of four 2x2 patches; patch n holds the value n + 1 in every pixel and channel."""
    values = torch.tensor([[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0], [3.0, 3.0, 4.0, 4.0], [3.0, 3.0, 4.0, 4.0]])
    return values.expand(1, 3, 4, 4)


def test_only_masked_patches_count():
    image = constant_patch_image()
    prediction = torch.zeros(1, 4, 12)
    prediction[0, 1] = 100.0  # a visible patch: any error there is ignored
    mask = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    assert simmim_loss(prediction, image, mask, 2, norm_pix_loss=False).item() == pytest.approx((1 + 3) / 2)
    prediction[0, 2] = 2.5  # |3 - 2.5| on patch 2
    assert simmim_loss(prediction, image, mask, 2, norm_pix_loss=False).item() == pytest.approx((1 + 0.5) / 2)


def test_norm_pix_targets_are_standardised_patches():
    # Patch 0 alternates 0 and 2 over its 12 values: mean 1, unbiased variance 12 / 11, so every
    # standardised value is +-1 / sqrt(12 / 11 + 1e-6); a zero prediction is off by that much.
    image = torch.zeros(1, 3, 4, 4)
    image[0, :, 0, 0] = image[0, :, 1, 1] = 2.0
    assert patchify(image, 2)[0, 0].tolist() == [2.0] * 3 + [0.0] * 6 + [2.0] * 3
    mask = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    expected = 1 / (12 / 11 + 1e-6) ** 0.5
    assert simmim_loss(torch.zeros(1, 4, 12), image, mask, 2, norm_pix_loss=True).item() == pytest.approx(expected)


def test_equals_simmims_pixel_space_formula():
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(2, 3, 8, 8, generator=generator)
    prediction = torch.randn(2, 16, 12, generator=generator)
    mask = (torch.rand(2, 16, generator=generator) < 0.6).float()  # (B, N) on a 4x4 grid of 2 px patches
    # SimMIM: L1 in image layout, the patch mask upsampled to pixels, divided by mask pixels and channels.
    reconstructed = prediction.reshape(2, 4, 4, 2, 2, 3).permute(0, 5, 1, 3, 2, 4).reshape(2, 3, 8, 8)
    pixel_mask = mask.reshape(2, 4, 4).repeat_interleave(2, 1).repeat_interleave(2, 2).unsqueeze(1)  # (B, 1, H, W)
    expected = ((images - reconstructed).abs() * pixel_mask).sum() / pixel_mask.sum() / 3
    assert simmim_loss(prediction, images, mask, 2, norm_pix_loss=False).item() == pytest.approx(expected.item())


def test_takes_the_mean_of_bfloat16_pixels_in_float32():
    # |255| + |254| + |253| + |1| = 763, / 4 = 190.75 in float32; bf16 steps by 1 between 128 and 256 (191).
    image = torch.tensor([[[[255.0, 254.0], [253.0, 1.0]]]], dtype=torch.bfloat16)  # (1, 1, 2, 2): one patch
    loss = simmim_loss(torch.zeros(1, 1, 4, dtype=torch.bfloat16), image, torch.ones(1, 1), 2, False)
    assert loss.dtype == torch.float32
    assert loss.item() == 190.75
