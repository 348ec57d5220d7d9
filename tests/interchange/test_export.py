"""Exports load strictly into timm and give the features the export module documents, to 1e-5."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import timm
import torch
from safetensors import safe_open
from safetensors.torch import load_file

import lut.interchange.export
from lut.errors import UsageError
from lut.interchange import export_encoder, load_encoder
from lut.models.encoder import ViTEncoder

TOLERANCE = dict(atol=1e-5, rtol=0)


@pytest.fixture
def vit_tiny_checkpoint(tmp_path):
    """A ViT-Ti/16 (the timm preset's width, depth and heads) at 32 px, in our pre-training layout."""
    torch.manual_seed(0)
    student, teacher = ViTEncoder(32, 16, 3, 192, 12, 3), ViTEncoder(32, 16, 3, 192, 12, 3)
    with torch.no_grad():
        teacher.norm.weight.uniform_(0.5, 1.5)
        teacher.norm.bias.normal_(0.0, 0.1)
    path = tmp_path / "checkpoint.pth"
    torch.save({"model": student.state_dict(), "model_ema": teacher.state_dict(), "lut_version": "0.1.0"}, path)
    return path


def test_avg_export_loads_strictly_into_timm_and_matches_per_token(vit_tiny_checkpoint, tmp_path):
    encoder, info = load_encoder(vit_tiny_checkpoint, "teacher")
    out = tmp_path / "teacher.safetensors"
    export_encoder(encoder, info, out)
    assert "norm.weight" not in load_file(out) and "fc_norm.weight" in load_file(out)

    by_state_dict = timm.create_model("vit_tiny_patch16_224", img_size=32, global_pool="avg", num_classes=0)
    by_state_dict.load_state_dict(load_file(out))  # strict
    by_overlay = timm.create_model("vit_tiny_patch16_224", img_size=32, global_pool="avg", num_classes=0,
                                   pretrained=True, pretrained_cfg_overlay=dict(file=str(out)))
    images = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        ours = encoder.forward_features(images)  # (B, 1 + N, D) normalised tokens
        for model in (by_state_dict.eval(), by_overlay.eval()):
            tokens = model.fc_norm(model.forward_features(images))
            torch.testing.assert_close(tokens, ours, **TOLERANCE)
            torch.testing.assert_close(tokens[:, 0], ours[:, 0], **TOLERANCE)  # CLS feature
            torch.testing.assert_close(tokens[:, 1:].mean(1), ours[:, 1:].mean(1), **TOLERANCE)  # mean feature
        # timm's pooled output normalises after pooling: a different feature, as documented.
        pooled = by_state_dict(images)
        torch.testing.assert_close(pooled, by_state_dict.fc_norm(by_state_dict.forward_features(images)[:, 1:].mean(1)))
        assert (pooled - ours[:, 1:].mean(1)).abs().max() > 1e-2


def test_token_export_matches_forward_features(vit_tiny_checkpoint, tmp_path):
    encoder, info = load_encoder(vit_tiny_checkpoint)
    out = tmp_path / "student.safetensors"
    export_encoder(encoder, info, out, global_pool="token")
    model = timm.create_model("vit_tiny_patch16_224", img_size=32, global_pool="token", num_classes=0,
                              pretrained=True, pretrained_cfg_overlay=dict(file=str(out))).eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.forward_features(images), encoder.forward_features(images), **TOLERANCE)
        torch.testing.assert_close(model(images), encoder.forward_features(images)[:, 0], **TOLERANCE)


def test_export_round_trip_and_metadata(vit_tiny_checkpoint, tmp_path):
    encoder, info = load_encoder(vit_tiny_checkpoint, "teacher")
    out = tmp_path / "teacher.safetensors"
    export_encoder(encoder, info, out)
    with safe_open(str(out), framework="pt") as handle:
        metadata = handle.metadata()
    assert metadata["lut.weights"] == "teacher"
    assert metadata["lut.timm_model"] == "vit_tiny_patch16_224"
    assert json.loads(metadata["lut.timm_model_args"]) == {"img_size": 32, "patch_size": 16, "in_chans": 3}
    reloaded, reloaded_info = load_encoder(out)
    assert (reloaded_info.format, reloaded_info.weights, reloaded_info.digest) == ("lut-export", "teacher", info.digest)
    with pytest.raises(UsageError, match="teacher.safetensors: it is an export of the teacher encoder, not the "):
        load_encoder(out, "student")


def test_hugging_face_folder(vit_tiny_checkpoint, tmp_path):
    encoder, info = load_encoder(vit_tiny_checkpoint, "teacher")
    folder = tmp_path / "hf"
    export_encoder(encoder, info, tmp_path / "teacher.safetensors", hf_folder=folder)
    config = json.loads((folder / "config.json").read_text())
    assert (config["architecture"], config["global_pool"], config["num_classes"]) == ("vit_tiny_patch16_224", "avg", 0)
    assert config["pretrained_cfg"]["tag"] == "lut_teacher"
    assert "license" not in config["pretrained_cfg"]
    assert config["pretrained_cfg"]["crop_pct"] == 1.0  # a 32 px model's images are seen whole, as in our k-NN
    assert "teacher" in (folder / "README.md").read_text()
    model = timm.create_model(f"local-dir:{folder}", pretrained=True).eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.fc_norm(model.forward_features(images)), encoder.forward_features(images),
                                   **TOLERANCE)


def test_export_command(vit_tiny_checkpoint, tmp_path):
    out = tmp_path / "cli.safetensors"
    result = subprocess.run(
        [sys.executable, "-m", "lut.cli", "export", "--checkpoint", str(vit_tiny_checkpoint), "--weights", "teacher",
         "--out", str(out)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout
    assert load_encoder(out)[1].weights == "teacher"


def test_export_of_a_two_encoder_checkpoint_needs_an_explicit_choice(vit_tiny_checkpoint, tmp_path):
    out = tmp_path / "unchosen.safetensors"
    result = subprocess.run([sys.executable, "-m", "lut.cli", "export", "--checkpoint", str(vit_tiny_checkpoint),
                             "--out", str(out)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "holds a student and a teacher: choose one with --weights" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()
    mae_run = tmp_path / "mae_run.pth"  # our MAE runs store an empty teacher: the student is the only encoder
    payload = torch.load(vit_tiny_checkpoint, weights_only=True)
    torch.save({**payload, "model_ema": {}}, mae_run)
    assert load_encoder(mae_run, default_to_student=False)[1].weights == "student"


def run_export(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lut.cli", "export", *arguments], capture_output=True, text=True)


def test_export_files_get_the_umask_s_permissions(vit_tiny_checkpoint, tmp_path):
    encoder, info = load_encoder(vit_tiny_checkpoint, "teacher")
    previous = os.umask(0o027)
    try:
        export_encoder(encoder, info, tmp_path / "teacher.safetensors", hf_folder=tmp_path / "hf")
    finally:
        os.umask(previous)
    for path in (tmp_path / "teacher.safetensors", tmp_path / "hf" / "model.safetensors"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path


def test_folder_as_out_is_refused_before_anything_is_written(vit_tiny_checkpoint, tmp_path):
    (tmp_path / "ex").mkdir()
    result = run_export("--checkpoint", str(vit_tiny_checkpoint), "--weights", "student", "--out",
                        str(tmp_path / "ex"))
    assert result.returncode == 2
    assert result.stderr == f"lut: error: --out {tmp_path / 'ex'} is a folder; give the file to write\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["checkpoint.pth", "ex"]


@pytest.mark.parametrize("out", [
    "checkpoint.pth/x.safetensors",
    pytest.param("/proc/x.safetensors", marks=pytest.mark.skipif(not Path("/proc").is_dir(), reason="no /proc")),
])
def test_unwritable_out_is_refused(vit_tiny_checkpoint, tmp_path, out):
    target = tmp_path / out
    result = run_export("--checkpoint", str(vit_tiny_checkpoint), "--weights", "student", "--out", str(target))
    assert result.returncode == 2
    assert result.stderr.startswith("lut: error: cannot write ") and str(target) in result.stderr
    assert "Traceback" not in result.stderr


def test_file_as_hf_folder_is_refused(vit_tiny_checkpoint, tmp_path):
    result = run_export("--checkpoint", str(vit_tiny_checkpoint), "--weights", "student", "--out",
                        str(tmp_path / "x.safetensors"), "--hf-folder", str(vit_tiny_checkpoint))
    assert result.returncode == 2
    assert f"--hf-folder {vit_tiny_checkpoint} is a file" in result.stderr
    assert not (tmp_path / "x.safetensors").exists()


def test_failed_write_leaves_no_temporary_file(vit_tiny_checkpoint, tmp_path, monkeypatch):
    encoder, info = load_encoder(vit_tiny_checkpoint, "teacher")

    def write_half_then_fail(state, filename, metadata):
        Path(filename).write_bytes(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(lut.interchange.export, "save_file", write_half_then_fail)
    with pytest.raises(UsageError, match="cannot write .*teacher.safetensors: .*No space left on device"):
        export_encoder(encoder, info, tmp_path / "teacher.safetensors")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["checkpoint.pth"]
