"""`pool_tokens`, the one pooling of encoder tokens (k-NN, probes, Grad-CAM, the spectrum, study scoring)."""

import pytest
import torch

from lut.models.pooling import pool_tokens

# Two images, CLS + 2 patch tokens, D = 2: image 0 holds 0..5, image 1 holds 6..11, token by token.
TOKENS = torch.arange(12, dtype=torch.float32).reshape(2, 3, 2)


def test_cls_and_mean_give_one_feature_per_image():
    assert pool_tokens(TOKENS, "cls").tolist() == [[0.0, 1.0], [6.0, 7.0]]
    assert pool_tokens(TOKENS, "mean").tolist() == [[3.0, 4.0], [9.0, 10.0]]  # CLS left out


def test_tokens_gives_every_patch_token_image_by_image():
    assert pool_tokens(TOKENS, "tokens").tolist() == [[2.0, 3.0], [4.0, 5.0], [8.0, 9.0], [10.0, 11.0]]


@pytest.mark.parametrize("pool", ["max", "avg", "patches"])
def test_another_pool_is_refused(pool):
    # The spectrum's copy once returned every patch token for any name it did not know.
    with pytest.raises(ValueError, match=f"pool must be one of cls, mean, tokens, got '{pool}'"):
        pool_tokens(TOKENS, pool)
