"""MAE's initialisation: xavier-uniform Linears and patch projection, zero biases, LayerNorm 1/0, N(0, 0.02) tokens."""

import math

import pytest
import torch
from torch import nn

import lut


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return lut.create_model("lut_vit_small_patch16", decoder_depth=2, head_hidden_dim=1024)


def test_every_linear_bias_is_zero(model):
    biases = [m.bias for m in model.modules() if isinstance(m, nn.Linear) and m.bias is not None]
    assert len(biases) == 12 * 4 + 2 * 4 + 2  # encoder blocks, decoder blocks, decoder embed + pred
    assert all(torch.count_nonzero(bias) == 0 for bias in biases)


def test_patch_projection_bias_keeps_the_conv_default_like_mae(model):
    # MAE re-initialises only the conv weight; its bias stays uniform(+-1/sqrt(fan_in)), fan_in = 3*16*16.
    bias = model.encoder.patch_embed.proj.bias
    assert bias.abs().max().item() <= 1 / math.sqrt(768)
    assert torch.count_nonzero(bias) == 384


def test_heads_have_no_biases(model):
    linears = [m for m in [*model.head.modules(), *model.predictor.modules()] if isinstance(m, nn.Linear)]
    assert len(linears) == 4
    assert all(m.bias is None for m in linears)


def test_layer_norms_start_at_one_and_zero(model):
    norms = [m for m in model.modules() if isinstance(m, nn.LayerNorm)]
    assert len(norms) == 12 * 2 + 1 + 2 * 2 + 1
    for norm in norms:
        assert torch.equal(norm.weight, torch.ones_like(norm.weight))
        assert torch.equal(norm.bias, torch.zeros_like(norm.bias))
        assert norm.eps == 1e-6


def test_linear_weights_are_xavier_uniform(model):
    qkv = model.encoder.blocks[3].attn.qkv.weight  # (1152, 384)
    bound = math.sqrt(6 / (384 + 1152))
    assert qkv.abs().max().item() <= bound
    assert qkv.abs().max().item() > 0.99 * bound
    # uniform(-b, b) has standard deviation b / sqrt(3)
    assert qkv.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    head = model.head[0].weight  # (1024, 384)
    assert head.abs().max().item() <= math.sqrt(6 / (384 + 1024))


def test_patch_projection_is_xavier_uniform_as_a_matrix(model):
    weight = model.encoder.patch_embed.proj.weight  # (384, 3, 16, 16) viewed as (384, 768)
    bound = math.sqrt(6 / (384 + 3 * 16 * 16))
    assert weight.abs().max().item() <= bound
    assert weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.02)


def test_cls_and_mask_tokens_are_normal_with_std_002(model):
    cls_token = model.encoder.cls_token
    mask_token = model.decoder.mask_token
    assert cls_token.std().item() == pytest.approx(0.02, rel=0.15)
    assert mask_token.std().item() == pytest.approx(0.02, rel=0.15)
    assert abs(cls_token.mean().item()) < 0.004
    assert not torch.equal(cls_token[0, 0, :256], mask_token[0, 0, :256])


def test_head_batchnorm_starts_as_identity_statistics(model):
    norm = model.head[1]
    assert isinstance(norm, nn.BatchNorm1d) and norm.num_features == 1024
    assert torch.equal(norm.running_mean, torch.zeros(1024))
    assert torch.equal(norm.running_var, torch.ones(1024))
    assert norm.num_batches_tracked.item() == 0
