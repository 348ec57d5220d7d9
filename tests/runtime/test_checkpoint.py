"""Checkpoint files: atomic writes, safe loading, readable mismatch messages."""

import math
import zipfile

import pytest
import torch
from helpers import TINY_MODEL

import lut
from lut.errors import UsageError
from lut.runtime import checkpoint as checkpoint_module
from lut.runtime.checkpoint import (
    LAST_CHECKPOINT,
    atomic_save,
    describe_mismatch,
    first_non_finite,
    load_checkpoint,
    load_weights,
)

TINY_KWARGS = {k: v for k, v in TINY_MODEL.items() if k != "model"}
CHECKPOINT_KEYS = {"model", "model_ema", "optimizer", "scaler", "step", "epoch", "step_in_epoch", "effective_batch",
                   "epochs_done", "train_seconds", "rng", "config", "lut_version", "finished_schedule"}


@pytest.fixture
def trained_checkpoint(tiny_lut_run):
    """checkpoint-last.pth of a 3-step LUT run (10 steps per epoch, so written mid-epoch)."""
    return tiny_lut_run / LAST_CHECKPOINT


def test_atomic_save_writes_the_file_and_no_temporary(tmp_path):
    path = tmp_path / "sub" / "state.pth"
    atomic_save({"weights": torch.arange(3.0)}, path)
    assert [p.name for p in path.parent.iterdir()] == ["state.pth"]
    assert torch.equal(torch.load(path, weights_only=True)["weights"], torch.tensor([0.0, 1.0, 2.0]))


def test_failed_save_keeps_the_previous_file_and_removes_the_temporary(tmp_path, monkeypatch):
    path = tmp_path / LAST_CHECKPOINT
    atomic_save({"step": 1}, path)
    real_save = torch.save

    def save_then_fail(payload, handle):
        real_save({"step": 2, "partial": torch.zeros(1000)}, handle)
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", save_then_fail)
    with pytest.raises(OSError, match="disk full"):
        atomic_save({"step": 2}, path)
    monkeypatch.undo()
    assert load_checkpoint(path) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == [LAST_CHECKPOINT]


def test_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    def fail(payload, handle):
        handle.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint_module.torch, "save", fail)
    with pytest.raises(KeyboardInterrupt):
        atomic_save({"step": 1}, tmp_path / LAST_CHECKPOINT)
    assert list(tmp_path.iterdir()) == []


def test_real_checkpoint_loads_with_weights_only_and_has_exactly_the_documented_keys(trained_checkpoint):
    payload = torch.load(trained_checkpoint, map_location="cpu", weights_only=True)
    assert set(payload) == CHECKPOINT_KEYS
    assert payload["step"] == 3
    assert payload["epoch"] == 0
    assert payload["step_in_epoch"] == 3
    assert payload["effective_batch"] == 4
    assert payload["epochs_done"] == 0.3  # 3 of 10 steps
    assert payload["finished_schedule"] == {"epochs": 1, "max_steps": 3}  # written when the run finished
    assert payload["lut_version"] == lut.__version__
    assert payload["config"]["model"] == "lut_vit_tiny_patch16"
    assert payload["config"]["max_steps"] == 3
    assert set(payload["rng"]) >= {"python", "numpy", "torch"}
    assert payload["scaler"] == {}  # fp32 on CPU: the loss scaler is disabled
    assert set(payload["optimizer"]) == {"state", "param_groups"}
    assert load_checkpoint(trained_checkpoint).keys() == payload.keys()


def test_real_checkpoint_weights_load_into_fresh_student_and_teacher(trained_checkpoint):
    payload = load_checkpoint(trained_checkpoint)
    student = lut.create_model("lut_vit_tiny_patch16", **TINY_KWARGS)
    load_weights(student, payload["model"], "student")
    assert torch.equal(student.encoder.cls_token, payload["model"]["cls_token"])
    teacher = lut.models.Teacher.from_student(student)
    load_weights(teacher, payload["model_ema"], "teacher")
    assert set(payload["model_ema"]) == set(student.encoder.state_dict()) | {
        f"head.{k}" for k in student.head.state_dict()
    }
    # With momentum near 1 the teacher lags behind the student; the BatchNorm counter is copied (2 views x 3 steps).
    teacher, student = payload["model_ema"], payload["model"]
    assert not torch.equal(teacher["blocks.0.attn.qkv.weight"], student["blocks.0.attn.qkv.weight"])
    assert teacher["head.1.num_batches_tracked"].item() == student["head.1.num_batches_tracked"].item() == 6


def test_missing_checkpoint_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pth")


def test_garbage_file_is_a_usage_error(tmp_path):
    path = tmp_path / "garbage.pth"
    path.write_bytes(b"this is not a checkpoint at all" * 10)
    with pytest.raises(UsageError, match=f"cannot read checkpoint {path}"):
        load_checkpoint(path)


def test_truncated_checkpoint_is_a_usage_error(tmp_path, trained_checkpoint):
    path = tmp_path / "truncated.pth"
    path.write_bytes(trained_checkpoint.read_bytes()[:100_000])
    with pytest.raises(UsageError, match="cannot read checkpoint"):
        load_checkpoint(path)


def test_checkpoint_needing_pickled_code_is_refused(tmp_path):
    path = tmp_path / "code.pth"
    torch.save({"model": {}, "args": zipfile.ZipInfo("x")}, path)
    with pytest.raises(UsageError, match="cannot read checkpoint"):
        load_checkpoint(path)


def test_non_dict_checkpoint_is_a_usage_error(tmp_path):
    path = tmp_path / "tensor.pth"
    torch.save(torch.zeros(2), path)
    with pytest.raises(UsageError, match="holds a Tensor, not a dict"):
        load_checkpoint(path)


def test_describe_mismatch_names_missing_unexpected_and_reshaped_keys():
    model = lut.create_model("mae_vit_tiny_patch16", **TINY_KWARGS)
    state = model.state_dict()
    assert describe_mismatch(model, state) is None
    del state["norm.bias"]
    state["head.0.weight"] = torch.zeros(1)
    state["decoder_pred.weight"] = torch.zeros(12, 32)
    message = describe_mismatch(model, state)
    assert message == (
        "missing: norm.bias; unexpected: head.0.weight; shape mismatch: decoder_pred.weight (12, 32) vs (48, 32)"
    )


def test_describe_mismatch_shortens_long_lists():
    lut_state = lut.create_model("lut_vit_tiny_patch16", **TINY_KWARGS).state_dict()
    message = describe_mismatch(lut.create_model("mae_vit_tiny_patch16", **TINY_KWARGS), lut_state)
    assert message.startswith("unexpected: head.0.weight, head.1.bias, head.1.num_batches_tracked")
    assert message.endswith("and 8 more")  # 14 head and predictor keys, 6 shown


def test_load_weights_raises_a_usage_error_naming_the_source():
    model = lut.create_model("mae_vit_tiny_patch16", **TINY_KWARGS)
    with pytest.raises(UsageError, match="weights in x.pth does not fit this model .missing: cls_token"):
        load_weights(model, {k: v for k, v in model.state_dict().items() if k != "cls_token"}, "weights in x.pth")


def test_first_non_finite_names_the_first_bad_key():
    finite = {"w": torch.ones(2), "step": torch.tensor(3), "note": "text"}
    assert first_non_finite(finite) is None
    assert first_non_finite({**finite, "b": torch.tensor([0.0, -math.inf]), "c": torch.tensor([math.nan])}) == "b"
