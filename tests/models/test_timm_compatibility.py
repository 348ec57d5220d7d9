"""The encoder is timm's ViT: same keys, same outputs, same parameter count."""

import pytest
import timm
import torch

import lut
from lut.models.encoder import ViTEncoder


@pytest.fixture(scope="module")
def small_lut():
    torch.manual_seed(0)
    return lut.create_model("lut_vit_small_patch16").eval()


@pytest.fixture(scope="module")
def timm_small():
    return timm.create_model("vit_small_patch16_224", pretrained=False, num_classes=0, global_pool="token").eval()


def test_encoder_weights_load_strictly_into_timm(small_lut, timm_small):
    result = timm_small.load_state_dict(small_lut.encoder.state_dict(), strict=True)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert torch.equal(timm_small.blocks[5].mlp.fc2.weight, small_lut.encoder.blocks[5].mlp.fc2.weight)


def test_top_level_student_keys_of_the_encoder_are_timms_keys(small_lut, timm_small):
    encoder_part = {k: v for k, v in small_lut.state_dict().items() if k in timm_small.state_dict()}
    assert set(encoder_part) == set(timm_small.state_dict())
    assert len(encoder_part) == 150


def test_timm_forward_features_equals_our_encoder(small_lut, timm_small):
    timm_small.load_state_dict(small_lut.encoder.state_dict(), strict=True)
    images = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours = small_lut.encoder.forward_features(images)
        theirs = timm_small.forward_features(images)
        pooled = timm_small.forward_head(theirs)
    assert ours.shape == theirs.shape == (1, 197, 384)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)
    # global_pool="token" reads the CLS token after the final norm.
    torch.testing.assert_close(pooled, ours[:, 0], rtol=0, atol=1e-5)


def test_vit_base_encoder_has_timms_parameters_minus_its_learned_position_table():
    with torch.device("meta"):
        reference = timm.create_model("vit_base_patch16_224", pretrained=False, num_classes=0)
        encoder = ViTEncoder(224, 16, 3, 768, 12, 12)
    timm_count = sum(p.numel() for p in reference.parameters())
    ours = sum(p.numel() for p in encoder.parameters())
    assert timm_count == 85_798_656
    assert reference.pos_embed.numel() == 197 * 768 == 151_296
    # patch embed 590,592 + CLS 768 + 12 blocks x 7,087,872 + final norm 1,536
    assert ours == 590_592 + 768 + 12 * 7_087_872 + 1_536 == timm_count - 151_296 == 85_647_360
    # The sin-cos table is a fixed buffer, not a parameter.
    assert "pos_embed" not in dict(encoder.named_parameters())
    assert "pos_embed" in encoder.state_dict()


def test_lut_vit_base_student_parameter_count():
    with torch.device("meta"):
        model = lut.create_model("lut_vit_base_patch16")
    count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
    assert count(model.encoder) == 85_647_360
    # decoder: embed 768*512+512, mask token 512, 8 blocks x 3,152,384, norm 1,024, pred 512*768+768
    assert count(model.decoder) == 393_728 + 512 + 8 * 3_152_384 + 1_024 + 393_984 == 26_008_320
    # each head: 768*4096 + BN 2*4096 + 4096*768, no biases
    assert count(model.head) == count(model.predictor) == 6_299_648
