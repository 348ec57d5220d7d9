"""`encoder_depth`: fewer encoder blocks than the preset's, kept through checkpoints and weight inference."""

import dataclasses

import pytest

from lut.config import build_config
from lut.errors import UsageError
from lut.interchange import infer_architecture
from lut.models import create_model
from lut.runtime.checkpoint import check_same_architecture


def test_encoder_depth_sets_the_number_of_blocks_and_keeps_width_and_heads():
    model = create_model("lut_vit_tiny_patch16", img_size=16, patch_size=4, encoder_depth=2, decoder_embed_dim=32,
                         decoder_depth=1, decoder_num_heads=2, head_hidden_dim=64)
    assert len(model.encoder.blocks) == 2
    assert model.encoder.blocks[0].attn.num_heads == 3
    architecture = infer_architecture(model.encoder.state_dict())
    assert (architecture.embed_dim, architecture.depth, architecture.num_heads) == (192, 2, 3)
    name, arguments = architecture.timm_model()
    assert name == "vit_tiny_patch16_224"
    assert arguments == {"img_size": 16, "patch_size": 4, "in_chans": 3, "depth": 2}


def test_encoder_depth_zero_keeps_the_preset():
    model = create_model("mae_vit_tiny_patch16", img_size=16, patch_size=4, encoder_depth=None, decoder_embed_dim=32,
                         decoder_depth=1, decoder_num_heads=2)
    assert len(model.encoder.blocks) == 12
    assert build_config({}).encoder_depth == 0


def test_negative_encoder_depth_is_refused():
    with pytest.raises(UsageError, match="encoder_depth"):
        build_config({"encoder_depth": -1})


def test_resume_refuses_another_encoder_depth_and_reads_old_checkpoints_as_the_preset():
    preset = dataclasses.asdict(build_config({}))
    old = {key: value for key, value in preset.items() if key != "encoder_depth"}  # written before the key
    check_same_architecture(old, preset, "old.pth")
    shallow = {**preset, "encoder_depth": 4}
    with pytest.raises(UsageError, match=r"old.pth holds a run of another model \(encoder_depth=0 there, 4 here\)"):
        check_same_architecture(old, shallow, "old.pth")
    check_same_architecture(shallow, shallow, "new.pth")
