import pytest

from lut.errors import UsageError
from lut.interchange import EncoderArchitecture, architecture_from_name, infer_architecture
from lut.models.encoder import ViTEncoder


def test_infers_width_depth_heads_patch_and_size():
    state = ViTEncoder(img_size=48, patch_size=8, embed_dim=384, depth=3, num_heads=6).state_dict()
    assert infer_architecture(state) == EncoderArchitecture(384, 3, 6, 8, 48)


def test_unknown_width_needs_an_explicit_architecture():
    state = ViTEncoder(img_size=16, patch_size=4, embed_dim=64, depth=1, num_heads=4).state_dict()
    with pytest.raises(UsageError, match="number of heads for width 64"):
        infer_architecture(state)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("vit_base", EncoderArchitecture(768, 12, 12, 16, 224)),
        ("lut_vit_tiny_patch4", EncoderArchitecture(192, 12, 3, 4, 224)),
        ("vit_large_patch16_224", EncoderArchitecture(1024, 24, 16, 16, 224)),
        ("mae_vit_huge_patch14", EncoderArchitecture(1280, 32, 16, 14, 224)),
    ],
)
def test_names(name, expected):
    assert architecture_from_name(name) == expected


def test_bad_name():
    with pytest.raises(UsageError, match="unknown architecture"):
        architecture_from_name("resnet50")


def test_timm_names_and_arguments():
    assert EncoderArchitecture(768, 12, 12, 16, 224).timm_model() == (
        "vit_base_patch16_224", {"img_size": 224, "patch_size": 16, "in_chans": 3}
    )
    name, arguments = EncoderArchitecture(192, 2, 3, 4, 32).timm_model()
    assert name == "vit_tiny_patch16_224"
    assert arguments == {"img_size": 32, "patch_size": 4, "in_chans": 3, "depth": 2}
