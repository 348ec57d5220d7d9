"""The patch projection as one matrix product: the convolution's numbers, on the kept patches only.

The matrix product and timm's Conv2d sum the same products in different orders, so they agree to float32 rounding
of the values' magnitude (the kernels, and so the last bits, depend on the CPU).
"""

import torch
from helpers import assert_equal_up_to_float32_rounding

from lut.masking import gather_tokens, sample_keep_ids
from lut.models.encoder import ViTEncoder


def encoder_and_images() -> tuple[ViTEncoder, torch.Tensor]:
    torch.manual_seed(0)
    encoder = ViTEncoder(img_size=32, patch_size=8, embed_dim=16, depth=1, num_heads=2)
    torch.nn.init.normal_(encoder.patch_embed.proj.bias)  # MAE's init zeroes it; make it count
    return encoder, torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))


def test_patch_projection_equals_the_convolution():
    encoder, images = encoder_and_images()
    convolved = encoder.patch_embed(images) + encoder.pos_embed[:, 1:, :]  # timm's Conv2d, (B, N, D)
    assert_equal_up_to_float32_rounding(encoder.embed_patches(images), convolved)


def test_patch_projection_of_one_patch_by_hand():
    encoder, images = encoder_and_images()
    row, col = 2, 1  # patch index 2 * 4 + 1 = 9 on the 4 x 4 grid
    pixels = images[0, :, row * 8:(row + 1) * 8, col * 8:(col + 1) * 8]  # (C, p, p)
    weight, bias = encoder.patch_embed.proj.weight, encoder.patch_embed.proj.bias  # (D, C, p, p), (D,)
    expected = (weight * pixels).sum(dim=(1, 2, 3)) + bias + encoder.pos_embed[0, 1 + 9]
    assert_equal_up_to_float32_rounding(encoder.embed_patches(images)[0, 9], expected)


def test_kept_patches_alone_equal_the_kept_rows_of_all_patches_and_gradients_match():
    encoder, images = encoder_and_images()
    (keep,) = sample_keep_ids(3, 16, 0.75, 1, torch.Generator().manual_seed(2))  # (B, 4)
    kept = encoder.embed_patches(images, keep)  # (B, K, D)
    reference = gather_tokens(encoder.patch_embed(images) + encoder.pos_embed[:, 1:, :], keep)
    assert kept.shape == (3, 4, 16)
    assert_equal_up_to_float32_rounding(kept, reference)
    weight = encoder.patch_embed.proj.weight
    (kept_gradient,) = torch.autograd.grad(kept.square().sum(), weight)
    (reference_gradient,) = torch.autograd.grad(reference.square().sum(), weight)
    assert_equal_up_to_float32_rounding(kept_gradient, reference_gradient)
