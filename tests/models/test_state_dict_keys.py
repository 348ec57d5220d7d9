"""State-dict key names: the released MAE/LUT layout, written out in full."""

import torch

import lut

BLOCK_PARTS = ("norm1", "attn.qkv", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2")
HEAD_KEYS = ("0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked", "3.weight")


def block_keys(prefix: str, count: int) -> set[str]:
    return {
        f"{prefix}.{index}.{part}.{kind}"
        for index in range(count)
        for part in BLOCK_PARTS
        for kind in ("weight", "bias")
    }


def encoder_keys(depth: int) -> set[str]:
    return {
        "cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias",
        *block_keys("blocks", depth), "norm.weight", "norm.bias",
    }


def decoder_keys(depth: int) -> set[str]:
    return {
        "mask_token", "decoder_pos_embed", "decoder_embed.weight", "decoder_embed.bias",
        *block_keys("decoder_blocks", depth), "decoder_norm.weight", "decoder_norm.bias",
        "decoder_pred.weight", "decoder_pred.bias",
    }


def head_keys(name: str) -> set[str]:
    return {f"{name}.{key}" for key in HEAD_KEYS}


def build_on_meta(name: str, **kwargs) -> lut.models.PretrainModel:
    with torch.device("meta"):
        return lut.create_model(name, **kwargs)


def test_lut_vit_small_has_exactly_the_released_key_set():
    keys = set(build_on_meta("lut_vit_small_patch16").state_dict())
    expected = encoder_keys(12) | decoder_keys(8) | head_keys("head") | head_keys("predictor")
    assert len(expected) == (4 + 12 * 12 + 2) + (4 + 8 * 12 + 2 + 2) + 7 + 7 == 268
    assert keys == expected


def test_lut_vit_small_key_shapes_follow_the_released_model():
    state = build_on_meta("lut_vit_small_patch16").state_dict()
    assert state["cls_token"].shape == (1, 1, 384)
    assert state["pos_embed"].shape == (1, 197, 384)
    assert state["patch_embed.proj.weight"].shape == (384, 3, 16, 16)
    assert state["blocks.11.attn.qkv.weight"].shape == (1152, 384)
    assert state["blocks.0.mlp.fc1.weight"].shape == (1536, 384)
    assert state["mask_token"].shape == (1, 1, 512)
    assert state["decoder_pos_embed"].shape == (1, 197, 512)
    assert state["decoder_embed.weight"].shape == (512, 384)
    assert state["decoder_pred.weight"].shape == (768, 512)
    assert state["head.0.weight"].shape == (4096, 384)
    assert state["head.1.running_var"].shape == (4096,)
    assert state["head.3.weight"].shape == (384, 4096)
    assert state["predictor.0.weight"].shape == (4096, 384)


def test_mae_model_has_no_head_or_predictor_keys():
    keys = set(build_on_meta("mae_vit_small_patch16").state_dict())
    assert keys == encoder_keys(12) | decoder_keys(8)


def test_key_set_follows_depth_and_head_options():
    model = build_on_meta("lut_vit_large_patch16", decoder_depth=2, head_depth=3)
    keys = set(model.state_dict())
    # depth 3: Linear, BN, ReLU, Linear, BN, ReLU, Linear -> indices 0, 1, 3, 4, 6
    three_layer_head = {"0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked",
                        "3.weight", "4.weight", "4.bias", "4.running_mean", "4.running_var", "4.num_batches_tracked",
                        "6.weight"}
    heads = {f"{name}.{key}" for name in ("head", "predictor") for key in three_layer_head}
    assert keys == encoder_keys(24) | decoder_keys(2) | heads
