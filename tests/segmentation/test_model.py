import pytest
import torch

from lut.errors import UsageError
from lut.interchange import EncoderArchitecture
from lut.models.encoder import ViTEncoder
from lut.segmentation.layer_decay import layer_decay_groups
from lut.segmentation.model import Feature2Pyramid, SegmenterShape, UperHead, build_segmenter


def test_feature2pyramid_gives_4x_2x_1x_half_of_the_patch_grid():
    torch.manual_seed(0)
    neck = Feature2Pyramid(8)
    features = [torch.randn(2, 8, 6, 5) for _ in range(4)]
    shapes = [tuple(level.shape) for level in neck(features)]
    assert shapes == [(2, 8, 24, 20), (2, 8, 12, 10), (2, 8, 6, 5), (2, 8, 3, 2)]
    assert torch.equal(neck(features)[2], features[2])  # the 1x level is the block output itself


def test_uperhead_returns_logits_at_the_finest_level():
    head = UperHead([8] * 4, 16, 5, (1, 2, 3, 6)).eval()
    levels = [torch.randn(1, 8, 16 // 2**i, 16 // 2**i) for i in range(4)]
    assert tuple(head(levels).shape) == (1, 5, 16, 16)


def test_segmenter_starts_from_the_encoder_and_predicts_at_input_size():
    torch.manual_seed(0)
    encoder = ViTEncoder(32, 4, 3, 192, 4, 3)
    architecture = EncoderArchitecture(192, 4, 3, 4, 32)
    model = build_segmenter(architecture, SegmenterShape(7, (0, 1, 2, 3), 16, 8), encoder=encoder)
    torch.testing.assert_close(model.backbone.blocks[3].mlp.fc2.weight, encoder.blocks[3].mlp.fc2.weight)
    torch.testing.assert_close(model.backbone.pos_embed, encoder.pos_embed)
    model.train()
    main, auxiliary = model(torch.randn(2, 3, 32, 32))
    assert tuple(main.shape) == (2, 7, 32, 32) and tuple(auxiliary.shape) == (2, 7, 32, 32)
    model.eval()
    main, auxiliary = model(torch.randn(1, 3, 30, 41))  # padded to 32 x 44 inside, cropped back
    assert tuple(main.shape) == (1, 7, 30, 41) and auxiliary is None


def test_out_indices_outside_the_encoder_are_refused():
    with pytest.raises(UsageError, match="outside the encoder's 4 blocks"):
        build_segmenter(EncoderArchitecture(192, 4, 3, 4, 32), SegmenterShape(3, (3, 5, 7, 11), 8, 8))


def test_layer_decay_scales_for_vit_base_at_065():
    with torch.device("meta"):  # names and shapes only: no memory, no initialisation work
        shape = SegmenterShape(150, channels=16, aux_channels=8)
        model = build_segmenter(EncoderArchitecture(768, 12, 12, 16, 64), shape)
    groups = layer_decay_groups(model, 12, 0.65, 0.05)
    scale = {name: group["lr_scale"] for group in groups for name in group["names"]}
    decay = {name: group["weight_decay"] for group in groups for name in group["names"]}
    assert scale["backbone.patch_embed.proj.weight"] == pytest.approx(0.65**13)
    assert scale["backbone.cls_token"] == pytest.approx(0.65**13)
    assert scale["backbone.pos_embed"] == pytest.approx(0.65**13)
    assert scale["backbone.blocks.0.attn.qkv.weight"] == pytest.approx(0.65**12)
    assert scale["backbone.blocks.11.mlp.fc2.weight"] == pytest.approx(0.65**1)
    for name in ("neck.levels.0.0.weight", "decode_head.classifier.weight", "auxiliary_head.conv.0.weight"):
        assert scale[name] == 1.0
    assert decay["backbone.blocks.11.mlp.fc2.weight"] == 0.05 and decay["decode_head.classifier.weight"] == 0.05
    for name in ("backbone.blocks.11.mlp.fc2.bias", "backbone.blocks.0.norm1.weight", "backbone.cls_token",
                 "backbone.pos_embed", "decode_head.bottleneck.1.weight"):
        assert decay[name] == 0.0, name
    assert {name for name, _ in model.named_parameters()} == set(scale)  # every parameter in exactly one group
    assert sum(len(group["params"]) for group in groups) == len(list(model.parameters()))
