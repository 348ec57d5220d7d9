import numpy as np
import pytest
import torch
from PIL import Image
from timm.data import create_transform
from timm.data.auto_augment import RandAugment
from timm.data.random_erasing import RandomErasing

from lut.data.views import EvalTransform
from lut.errors import UsageError
from lut.evaluation.transforms import finetune_train_transform, probe_train_transform


def test_posterize_at_full_magnitude_works_with_current_pillow():
    transform = finetune_train_transform(16, 0.08, "rand-m9-mstd0.5-inc1", 0.25, [0.5] * 3, [0.5] * 3)
    (rand_augment,) = [step for step in transform.transforms if isinstance(step, RandAugment)]
    (op,) = [op for op in rand_augment.ops if op.name == "PosterizeIncreasing"]
    op.prob, op.magnitude, op.magnitude_std = 1.0, 10, 0.0  # 4 - 4 = 0 bits kept
    image = Image.fromarray(np.full((16, 16, 3), 200, dtype=np.uint8))
    assert np.asarray(op(image)).max() == 0
    assert any(isinstance(step, RandomErasing) and step.probability == 0.25 for step in transform.transforms)


def test_shapes_and_evaluation_crop():
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 260, 3), dtype=np.uint8))
    assert probe_train_transform(16, 0.08, [0.5] * 3, [0.5] * 3)(image).shape == (3, 16, 16)
    resize_then_crop = EvalTransform(224, [0.0] * 3, [1.0] * 3, crop_pct=0.875)
    assert resize_then_crop.view.transforms[0].size == 256  # MAE and DINO: resize 256, center crop 224
    timm_view = create_transform(224, is_training=False, interpolation="bicubic", crop_pct=0.875, mean=(0.0,) * 3,
                                 std=(1.0,) * 3)
    assert torch.equal(resize_then_crop(image), timm_view(image))
    assert EvalTransform(16, [0.5] * 3, [0.5] * 3)(image).shape == (3, 16, 16)


@pytest.mark.parametrize("crop_pct", [0.0, 1.5])
def test_crop_share_out_of_range_is_refused(crop_pct):
    with pytest.raises(UsageError, match="crop_pct must be in"):
        EvalTransform(16, crop_pct=crop_pct)
