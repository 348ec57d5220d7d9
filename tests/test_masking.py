"""Masking: disjoint visible sets of the two student views."""

import pytest
import torch

from lut.masking import keep_ids_to_mask, num_visible_patches, sample_keep_ids


def draw(seed: int, batch: int = 5, patches: int = 196, ratio: float = 0.75, views: int = 2) -> list[torch.Tensor]:
    return sample_keep_ids(batch, patches, ratio, views, torch.Generator().manual_seed(seed))


def test_visible_patch_count_is_floor_of_n_times_one_minus_ratio():
    assert num_visible_patches(196, 0.75) == 49
    assert num_visible_patches(16, 0.75) == 4
    assert num_visible_patches(10, 0.6) == 4
    assert num_visible_patches(10, 0.55) == 4  # int(4.5)
    assert num_visible_patches(49, 0.5) == 24  # int(24.5)


def test_two_views_keep_disjoint_sets_of_the_right_size():
    keep1, keep2 = draw(seed=0)
    assert keep1.shape == keep2.shape == (5, 49)
    assert keep1.dtype == keep2.dtype == torch.int64
    for row1, row2 in zip(keep1.tolist(), keep2.tolist(), strict=True):
        assert len(set(row1)) == 49 and len(set(row2)) == 49  # no repeats within a view
        assert set(row1).isdisjoint(row2)
        assert set(row1) | set(row2) <= set(range(196))


def test_single_view_keeps_a_quarter():
    (keep,) = draw(seed=0, views=1)
    assert keep.shape == (5, 49)
    assert all(set(row) <= set(range(196)) and len(set(row)) == 49 for row in keep.tolist())


def test_mask_ratio_one_half_uses_every_patch_exactly_once():
    keep1, keep2 = draw(seed=3, patches=16, ratio=0.5)
    for row1, row2 in zip(keep1.tolist(), keep2.tolist(), strict=True):
        assert sorted(row1 + row2) == list(range(16))


def test_same_seed_same_masks_other_seed_other_masks():
    first, second = draw(seed=7), draw(seed=7)
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    other = draw(seed=8)
    assert not torch.equal(first[0], other[0])
    assert not torch.equal(first[1], other[1])


def test_masks_differ_between_samples_of_a_batch():
    keep1, _ = draw(seed=0)
    assert len({tuple(sorted(row)) for row in keep1.tolist()}) == 5


def test_two_views_need_mask_ratio_at_least_one_half():
    with pytest.raises(ValueError, match="mask_ratio 0.4"):
        draw(seed=0, patches=16, ratio=0.4)
    # One view is fine at the same ratio: 9 of 16 kept.
    (keep,) = draw(seed=0, patches=16, ratio=0.4, views=1)
    assert keep.shape == (5, 9)


def test_mask_ratio_hiding_everything_is_refused():
    with pytest.raises(ValueError, match="mask_ratio 1.0 leaves 0 of 16 patches per view"):
        draw(seed=0, patches=16, ratio=1.0, views=1)


def test_keep_ids_to_mask_marks_hidden_patches_with_one():
    keep = torch.tensor([[0, 3], [2, 1]])
    mask = keep_ids_to_mask(keep, 5)
    assert mask.dtype == torch.float32
    assert mask.tolist() == [[0.0, 1.0, 1.0, 0.0, 1.0], [1.0, 0.0, 0.0, 1.0, 1.0]]


def test_mask_of_drawn_keep_ids_hides_n_minus_k_patches():
    keep1, _ = draw(seed=1)
    mask = keep_ids_to_mask(keep1, 196)
    assert mask.sum(dim=1).tolist() == [147.0] * 5
    assert torch.equal(mask.gather(1, keep1), torch.zeros(5, 49))
