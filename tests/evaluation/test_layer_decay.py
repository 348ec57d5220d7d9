import pytest
import torch
from timm.optim import param_groups_layer_decay

from lut.evaluation.config import FinetuneConfig
from lut.evaluation.finetune import build_classifier, finetune_lr
from lut.interchange import EncoderArchitecture, EncoderInfo, create_timm_model


def info_for(architecture: EncoderArchitecture) -> EncoderInfo:
    return EncoderInfo("memory", "lut", "student", architecture, (), (), "0" * 16)


def test_vit_base_layer_scales_are_075_to_the_power_13_minus_layer():
    model = create_timm_model(info_for(EncoderArchitecture(768, 12, 12, 16, 224)), "avg", num_classes=10)
    groups = param_groups_layer_decay(model, 0.05, model.no_weight_decay(), layer_decay=0.75)
    scale = {id(p): group["lr_scale"] for group in groups for p in group["params"]}
    decay = {id(p): group["weight_decay"] for group in groups for p in group["params"]}

    def layer_of(name: str) -> int:
        if name.startswith(("cls_token", "pos_embed", "patch_embed")):
            return 0
        if name.startswith("blocks."):
            return int(name.split(".")[1]) + 1
        assert name.startswith(("fc_norm", "head"))
        return 13

    for name, parameter in model.named_parameters():
        assert scale[id(parameter)] == pytest.approx(0.75 ** (13 - layer_of(name))), name
        expected_decay = 0.0 if parameter.ndim <= 1 or name in ("cls_token", "pos_embed") else 0.05
        assert decay[id(parameter)] == expected_decay, name


@pytest.mark.parametrize("fc_norm_init", ["fresh", "pretrained"])
def test_classifier_starts_from_the_encoder(fc_norm_init, make_tiny_encoder):
    encoder = make_tiny_encoder()
    info = info_for(EncoderArchitecture(192, 2, 3, 4, 16))
    model = build_classifier(encoder, info, num_classes=5, drop_path=0.1, fc_norm_init=fc_norm_init)
    torch.testing.assert_close(model.blocks[1].mlp.fc2.weight, encoder.blocks[1].mlp.fc2.weight)
    torch.testing.assert_close(model.pos_embed, encoder.pos_embed)
    if fc_norm_init == "fresh":
        assert torch.equal(model.fc_norm.weight, torch.ones(192)) and torch.equal(model.fc_norm.bias, torch.zeros(192))
    else:
        torch.testing.assert_close(model.fc_norm.weight, encoder.norm.weight)
    assert model.head.weight.std().item() == pytest.approx(2e-5, rel=0.2)
    assert torch.equal(model.head.bias, torch.zeros(5))
    assert model.blocks[1].drop_path1.drop_prob == pytest.approx(0.1)


def test_learning_rate_rules():
    assert finetune_lr(FinetuneConfig(blr=1e-3), 1024) == pytest.approx(4e-3)
    assert finetune_lr(FinetuneConfig(blr=1e-3, lr_rule="sqrt"), 1024) == pytest.approx(4e-3)
    assert finetune_lr(FinetuneConfig(blr=1e-3, lr_rule="sqrt"), 256) == pytest.approx(2e-3)
    assert finetune_lr(FinetuneConfig(lr=0.5), 256) == 0.5
