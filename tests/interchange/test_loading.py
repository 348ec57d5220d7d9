import argparse
import re

import pytest
import timm
import torch
from safetensors.torch import save_file
from torch.nn import functional as F

from lut.errors import UsageError
from lut.interchange import load_encoder
from lut.models.pos_embed import sincos_2d_position_table


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(a.state_dict()[key], value) for key, value in b.state_dict().items())


def test_our_checkpoint_student_and_teacher(lut_checkpoint, student, teacher, extras):
    encoder, info = load_encoder(lut_checkpoint)
    assert (info.format, info.weights) == ("lut", "student")
    assert same_weights(encoder, student)
    assert list(info.ignored) == sorted(extras())
    assert info.normalisation() == ([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])

    encoder, info = load_encoder(lut_checkpoint, "teacher")
    assert info.weights == "teacher"
    assert same_weights(encoder, teacher)
    assert list(info.ignored) == ["head.0.weight", "head.1.running_mean", "head.3.weight"]
    assert info.digest != load_encoder(lut_checkpoint)[1].digest


def test_mae_run_has_no_teacher_and_says_so(tmp_path, student):
    path = tmp_path / "mae_run.pth"
    torch.save({"model": student.state_dict(), "model_ema": None, "lut_version": "0.1.0",
                "config": {"model": "mae_vit_tiny_patch16"}}, path)
    with pytest.raises(UsageError, match="no teacher"):
        load_encoder(path, "teacher")
    _, info = load_encoder(path)
    assert info.describe() == (f"{path}: student of a lut checkpoint (MAE pre-training), "
                               "ViT-custom/4 at 16 px (D 192, depth 2, 3 heads)")


def test_official_lut_layout(official_lut_checkpoint, student, teacher, extras):
    encoder, info = load_encoder(official_lut_checkpoint)
    assert (info.format, info.weights) == ("lut-official", "student")
    assert same_weights(encoder, student)
    assert list(info.ignored) == sorted(extras())

    encoder, info = load_encoder(official_lut_checkpoint, "teacher")
    assert info.weights == "teacher"
    assert same_weights(encoder, teacher)
    assert list(info.ignored) == sorted(extras())  # the teacher copy's own decoder and heads, `ema.` removed


def test_official_mae_layout_with_pickled_args(tmp_path, student):
    path = tmp_path / "mae_pretrain_vit.pth"
    state = {f"module.{key}": value for key, value in student.state_dict().items()}  # saved from DDP
    torch.save({"model": {**state, "module.decoder_embed.weight": torch.zeros(8, 192)},
                "args": argparse.Namespace(norm_pix_loss=True)}, path)
    encoder, info = load_encoder(path)
    assert (info.format, info.weights, info.ignored) == ("mae", "encoder", ("decoder_embed.weight",))
    assert same_weights(encoder, student)
    with pytest.raises(UsageError, match=rf"^{re.escape(str(path))}: it is an MAE checkpoint, with a single encoder "
                                         "and no teacher"):
        load_encoder(path, "teacher")


def test_timm_state_dict_with_fc_norm_and_classifier(tmp_path):
    model = timm.create_model("vit_tiny_patch16_224", img_size=32, depth=2, global_pool="avg", num_classes=10).eval()
    for suffix, save in ((".pth", torch.save), (".safetensors", save_file)):
        path = tmp_path / f"timm{suffix}"
        save(model.state_dict(), path)
        encoder, info = load_encoder(path)
        assert info.format == "timm"
        assert info.ignored == ("head.bias", "head.weight")
        assert "fc_norm" in info.notes[0]
        assert info.architecture.describe() == "ViT-custom/16 at 32 px (D 192, depth 2, 3 heads)"
        images = torch.randn(2, 3, 32, 32)
        with torch.no_grad():
            expected = model.fc_norm(model.forward_features(images))  # fc_norm applied per token
            torch.testing.assert_close(encoder.forward_features(images), expected, atol=1e-5, rtol=0)


def test_wrong_architecture_names_the_keys(lut_checkpoint):
    with pytest.raises(UsageError) as error:
        load_encoder(lut_checkpoint, arch="vit_small_patch4")
    message = str(error.value)
    assert "ViT-small/4" in message
    assert "missing: blocks.10.attn.proj.bias" in message
    assert "shape mismatch: blocks.0.attn.proj.bias (192,) vs (384,)" in message


def test_unexpected_keys_are_named(tmp_path, student):
    path = tmp_path / "registers.pth"
    torch.save({**student.state_dict(), "reg_token": torch.zeros(1, 4, 192)}, path)
    with pytest.raises(UsageError, match="unexpected: reg_token"):
        load_encoder(path)


def test_new_input_size_resamples_the_position_table(lut_checkpoint, student):
    encoder, info = load_encoder(lut_checkpoint, img_size=32)
    assert encoder.pos_embed.shape == (1, 1 + 8 * 8, 192)
    assert info.architecture.img_size == 32
    assert "resampled from 16 px to 32 px" in info.notes[0]
    torch.testing.assert_close(encoder.pos_embed[:, :1], student.pos_embed[:, :1])  # CLS row kept
    # The 4 x 4 grid of 192-d positions, bicubic with antialiasing (timm's resampling) to 8 x 8.
    grid = student.pos_embed[:, 1:].reshape(1, 4, 4, 192).permute(0, 3, 1, 2)  # (1, D, 4, 4)
    resampled = F.interpolate(grid, size=(8, 8), mode="bicubic", align_corners=False, antialias=True)  # (1, D, 8, 8)
    torch.testing.assert_close(encoder.pos_embed[:, 1:], resampled.permute(0, 2, 3, 1).reshape(1, 64, 192))
    assert not torch.allclose(encoder.pos_embed, sincos_2d_position_table(192, 8), atol=0.1)  # not a fresh table
    with pytest.raises(UsageError, match="not a multiple of the patch size 4"):
        load_encoder(lut_checkpoint, img_size=30)


@pytest.mark.parametrize("img_size", [0, -16])
def test_non_positive_input_size_is_refused(lut_checkpoint, img_size):
    with pytest.raises(UsageError, match=f"img_size must be positive, got {img_size}"):
        load_encoder(lut_checkpoint, img_size=img_size)


@pytest.mark.parametrize("bad_value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused_naming_the_first_bad_tensor(tmp_path, student, bad_value):
    state = student.state_dict()
    for key in ("blocks.0.attn.qkv.weight", "blocks.1.mlp.fc1.bias"):
        state[key] = state[key].clone()
        state[key][0] = bad_value
    path = tmp_path / "diverged.pth"
    torch.save({"model": state, "model_ema": {}, "lut_version": "0.1.0"}, path)
    with pytest.raises(UsageError) as error:
        load_encoder(path)
    assert str(error.value) == (f"the student weights in {path} hold non-finite values in blocks.0.attn.qkv.weight: "
                                "the run that wrote them diverged")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a checkpoint", "cannot read checkpoint .*bad.pth: it is not a PyTorch checkpoint or safetensors file"),
        (b"epoch,top1\n1,50.0\n", "it is not a PyTorch checkpoint or safetensors file"),
        (b"", "it is not a PyTorch checkpoint or safetensors file"),
        (None, "does not exist"),
    ],
)
def test_unreadable_files(tmp_path, content, message):
    path = tmp_path / "bad.pth"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UsageError, match=message):
        load_encoder(path)


def test_damaged_pytorch_file_keeps_the_reader_s_reason(tmp_path):
    path = tmp_path / "truncated.pth"
    path.write_bytes(b"PK\x03\x04 truncated zip")
    reason = r"cannot read checkpoint .*truncated\.pth: PytorchStreamReader failed"
    with pytest.raises(UsageError, match=reason) as error:
        load_encoder(path)
    assert "not a PyTorch checkpoint" not in str(error.value)


def test_safetensors_file_with_another_suffix_is_read_as_such(tmp_path, student):
    path = tmp_path / "weights.pth"
    save_file(student.state_dict(), str(path))
    encoder, info = load_encoder(path)
    assert info.format == "timm" and same_weights(encoder, student)


def test_bad_safetensors_and_unknown_layout(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"garbage")
    with pytest.raises(UsageError, match="cannot read safetensors"):
        load_encoder(path)
    path = tmp_path / "other.pth"
    torch.save({"net": {"w": torch.zeros(1)}, "epoch": 3}, path)
    with pytest.raises(UsageError, match=rf"^{re.escape(str(path))}: its layout is not recognised \(top-level keys: "
                                         r"epoch, net\)"):
        load_encoder(path)


def test_depth_is_read_from_the_keys(tmp_path, make_encoder):
    path = tmp_path / "deep.pth"
    torch.save(make_encoder(0, depth=3).state_dict(), path)
    assert load_encoder(path)[1].architecture.depth == 3
