import numpy as np
from PIL import Image
from timm.data.auto_augment import RandAugment
from timm.data.random_erasing import RandomErasing

from lut.evaluation.transforms import eval_transform, finetune_train_transform, probe_train_transform


def test_posterize_at_full_magnitude_works_with_current_pillow():
    transform = finetune_train_transform(16, 0.08, "rand-m9-mstd0.5-inc1", 0.25, [0.5] * 3, [0.5] * 3)
    (rand_augment,) = [step for step in transform.transforms if isinstance(step, RandAugment)]
    (op,) = [op for op in rand_augment.ops if op.name == "PosterizeIncreasing"]
    op.prob, op.magnitude, op.magnitude_std = 1.0, 10, 0.0  # 4 - 4 = 0 bits kept
    image = Image.fromarray(np.full((16, 16, 3), 200, dtype=np.uint8))
    assert np.asarray(op(image)).max() == 0
    assert any(isinstance(step, RandomErasing) and step.probability == 0.25 for step in transform.transforms)


def test_shapes_and_evaluation_crop():
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8))
    assert probe_train_transform(16, 0.08, [0.5] * 3, [0.5] * 3)(image).shape == (3, 16, 16)
    resize_then_crop = eval_transform(224, 0.875, [0.0] * 3, [1.0] * 3)
    assert resize_then_crop.transforms[0].size == 256  # MAE: resize 256, center crop 224
    assert resize_then_crop(image).shape == (3, 224, 224)
    assert eval_transform(16, 1.0, [0.5] * 3, [0.5] * 3)(image).shape == (3, 16, 16)
