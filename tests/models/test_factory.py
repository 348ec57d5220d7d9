"""Model presets, state-dict round trips and the student forward."""

import pytest
import torch
from helpers import TINY_MODEL

import lut
from lut.errors import UsageError
from lut.masking import sample_keep_ids
from lut.models import MODEL_NAMES, parse_model_name

TINY_KWARGS = {k: v for k, v in TINY_MODEL.items() if k != "model"}


def tiny(name: str = "lut_vit_tiny_patch16", seed: int = 0) -> lut.models.PretrainModel:
    torch.manual_seed(seed)
    return lut.create_model(name, **TINY_KWARGS)


def test_preset_names():
    assert MODEL_NAMES == (
        "lut_vit_tiny_patch16", "lut_vit_small_patch16", "lut_vit_base_patch16", "lut_vit_large_patch16",
        "lut_vit_huge_patch14", "mae_vit_tiny_patch16", "mae_vit_small_patch16", "mae_vit_base_patch16",
        "mae_vit_large_patch16", "mae_vit_huge_patch14",
    )
    method, size = parse_model_name("lut_vit_base_patch16")
    assert (method, size.embed_dim, size.depth, size.num_heads, size.patch_size) == ("lut", 768, 12, 12, 16)
    method, size = parse_model_name("mae_vit_tiny_patch4")
    assert (method, size.embed_dim, size.depth, size.num_heads, size.patch_size) == ("mae", 192, 12, 3, 4)


@pytest.mark.parametrize("name", ["vit_small", "lut_vit_giant_patch16", "byol_vit_base_patch16", "lut_vit_base"])
def test_unknown_model_name_is_a_usage_error(name):
    with pytest.raises(UsageError, match=f"unknown model '{name}'.*lut_vit_base_patch16"):
        lut.create_model(name)


def test_image_size_must_be_a_multiple_of_the_patch():
    with pytest.raises(UsageError, match="img_size 30 is not a multiple of patch_size 4"):
        lut.create_model("lut_vit_tiny_patch16", img_size=30, patch_size=4)


def test_patch_size_override_sets_the_grid():
    model = tiny()
    assert model.patch_size == 4 and model.num_patches == 16
    assert model.encoder.patch_embed.proj.weight.shape == (192, 3, 4, 4)
    assert model.decoder.decoder_pred.weight.shape == (4 * 4 * 3, 32)


def test_state_dict_round_trip_restores_every_tensor():
    source, target = tiny(seed=0), tiny(seed=1)
    assert not torch.equal(source.encoder.blocks[0].attn.qkv.weight, target.encoder.blocks[0].attn.qkv.weight)
    state = source.state_dict()
    assert not any(key.startswith(("encoder.", "decoder.")) for key in state)
    result = target.load_state_dict(state, strict=True)
    assert result.missing_keys == [] and result.unexpected_keys == []
    for key, value in target.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert torch.equal(target.encoder.blocks[0].attn.qkv.weight, source.encoder.blocks[0].attn.qkv.weight)
    assert torch.equal(target.decoder.mask_token, source.decoder.mask_token)


def test_state_dict_round_trip_through_a_file(tmp_path):
    source, target = tiny(seed=0), tiny(seed=1)
    torch.save(source.state_dict(), tmp_path / "weights.pth")
    target.load_state_dict(torch.load(tmp_path / "weights.pth", weights_only=True))
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key


def test_mae_weights_do_not_load_into_a_lut_model():
    with pytest.raises(RuntimeError, match="head.0.weight"):
        tiny().load_state_dict(tiny("mae_vit_tiny_patch16").state_dict())


def views_and_masks(batch: int = 3):
    generator = torch.Generator().manual_seed(0)
    view1 = torch.randn(batch, 3, 16, 16, generator=generator)
    view2 = torch.randn(batch, 3, 16, 16, generator=generator)
    keep1, keep2 = sample_keep_ids(batch, 16, 0.75, 2, generator)
    return view1, view2, keep1, keep2


def test_lut_student_output_shapes():
    view1, view2, keep1, keep2 = views_and_masks()
    output = tiny()(view1, keep1, view2, keep2)
    assert output.reconstruction.shape == (3, 16, 4 * 4 * 3)
    assert output.prediction1.shape == output.prediction2.shape == (3, 192)


def test_mae_student_reconstructs_one_view_without_predictions():
    view1, _, keep1, _ = views_and_masks()
    output = tiny("mae_vit_tiny_patch16")(view1, keep1)
    assert output.reconstruction.shape == (3, 16, 48)
    assert output.prediction1 is None and output.prediction2 is None


def test_heads_normalise_each_view_with_its_own_batch_statistics():
    model = tiny().train()
    view1, view2, keep1, keep2 = views_and_masks()
    output = model(view1, keep1, view2, keep2)
    with torch.no_grad():
        alone1 = model.predictor(model.head(model.encoder(view1, keep1)))
        alone2 = model.predictor(model.head(model.encoder(view2, keep2)))
        # One BatchNorm over both views together gives different outputs.
        pooled = torch.cat([model.encoder(view1, keep1), model.encoder(view2, keep2)])
        joint1 = model.predictor(model.head(pooled))[:3]
    torch.testing.assert_close(output.prediction1, alone1, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(output.prediction2, alone2, rtol=1e-4, atol=1e-5)
    assert (joint1 - alone1).abs().max().item() > 1e-3


def test_pooled_feature_is_the_mean_of_visible_patch_tokens_without_cls():
    model = tiny().eval()
    view1, _, keep1, _ = views_and_masks()
    with torch.no_grad():
        tokens = model.encoder.forward_encoder(view1, keep1)
        pooled = model.encoder(view1, keep1)
    assert tokens.shape == (3, 1 + 4, 192)
    torch.testing.assert_close(pooled, tokens[:, 1:].mean(dim=1), rtol=0, atol=0)
