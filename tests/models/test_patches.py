"""The patch layout: MAE's order, row by row, each patch flattened as (row, column, channel)."""

import torch

from lut.models.patches import patchify, unpatchify

# One 1-channel 4x4 image holding 0..15 row by row; 2x2 patches:
#   patch 0 = [0, 1, 4, 5]     patch 1 = [2, 3, 6, 7]
#   patch 2 = [8, 9, 12, 13]   patch 3 = [10, 11, 14, 15]
IMAGE = torch.arange(16, dtype=torch.float32).reshape(1, 1, 4, 4)


def test_patchify_of_one_channel_image_lists_patches_row_by_row():
    patches = patchify(IMAGE, 2)
    assert patches.shape == (1, 4, 4)
    assert patches[0].tolist() == [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]


def test_patchify_flattens_each_patch_as_row_column_channel():
    # Pixel value 100 * channel + 10 * y + x.
    channel = torch.arange(3).view(3, 1, 1)
    y = torch.arange(4).view(1, 4, 1)
    x = torch.arange(4).view(1, 1, 4)
    image = (100 * channel + 10 * y + x).float().unsqueeze(0)  # (1, 3, 4, 4)
    patches = patchify(image, 2)
    assert patches.shape == (1, 4, 12)
    # Patch 1 = grid row 0, grid column 1: y in {0, 1}, x in {2, 3}.
    assert patches[0, 1].tolist() == [2, 102, 202, 3, 103, 203, 12, 112, 212, 13, 113, 213]
    # Patch 2 = grid row 1, grid column 0: y in {2, 3}, x in {0, 1}.
    assert patches[0, 2].tolist() == [20, 120, 220, 21, 121, 221, 30, 130, 230, 31, 131, 231]


def test_unpatchify_inverts_patchify():
    images = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(unpatchify(patchify(images, 4), 4, 3), images)
    assert torch.equal(unpatchify(patchify(images, 2), 2, 3), images)
