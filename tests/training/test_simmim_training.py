"""`mim=simmim` in the step, the config and a real run: SimMIM's L1, LUT's BC on the visible tokens,
refused combinations, and checkpoints whose encoders load for evaluation."""

import dataclasses
import json
import math

import pytest
import torch
from helpers import TINY_MODEL, random_views

import lut
from lut.analysis.models import load_pretrain_model
from lut.config import PretrainConfig, build_config
from lut.errors import UsageError
from lut.interchange import load_encoder
from lut.losses import bc_loss, simmim_loss
from lut.masking import keep_ids_to_mask, sample_keep_ids
from lut.models import Teacher
from lut.runtime.checkpoint import LAST_CHECKPOINT, check_same_architecture, load_checkpoint
from lut.training.lut_step import LossSettings, _ablation_losses, pretrain_losses
from lut.training.pretrain import pretrain

TINY_KWARGS = {k: v for k, v in TINY_MODEL.items() if k != "model"}
N = 16  # 16 px images, 4 px patches
SEED = 5


def simmim_student(method: str = "lut") -> lut.models.PretrainModel:
    torch.manual_seed(0)
    return lut.create_model(f"{method}_vit_tiny_patch16", mim="simmim", **TINY_KWARGS)


def settings(**switches) -> LossSettings:
    return LossSettings(patch_size=4, num_patches=N, mask_ratio=0.75, norm_pix_loss=True, mae_weight=0.5,
                        bc_weight=2.0, mim="simmim", **switches)


@torch.no_grad()
def test_lut_losses_are_simmims_l1_plus_the_bc_loss_of_the_students_readout():
    student = simmim_student().eval()
    teacher = Teacher.from_student(student)
    view1, view2 = random_views()
    losses = pretrain_losses(student, teacher, [view1, view2], settings(), torch.Generator().manual_seed(SEED))
    keep1, keep2 = sample_keep_ids(4, N, 0.75, 2, torch.Generator().manual_seed(SEED))
    output = student(view1, keep1, view2, keep2)  # its readout: tests/models/test_simmim_model.py
    expected_l1 = simmim_loss(output.reconstruction, view1, keep_ids_to_mask(keep1, N), 4, True)
    expected_bc = bc_loss(output.prediction1, output.prediction2, teacher(view1), teacher(view2))
    assert losses.mae.item() == pytest.approx(expected_l1.item(), rel=1e-5)
    assert losses.bc.item() == pytest.approx(expected_bc.item(), rel=1e-5)
    assert losses.total.item() == pytest.approx(0.5 * expected_l1.item() + 2.0 * expected_bc.item(), rel=1e-5)
    # The ablation path at its default switches computes the same numbers for this student too.
    generator = torch.Generator().manual_seed(SEED)
    keep = sample_keep_ids(4, N, 0.75, 2, generator)
    helper = _ablation_losses(student, teacher, [view1, view2], keep, keep_ids_to_mask(keep[0], N), settings(),
                              generator)
    assert (helper.mae.item(), helper.bc.item()) == pytest.approx((losses.mae.item(), losses.bc.item()), rel=1e-5)


@pytest.mark.parametrize("method", ["lut", "mae"])
def test_every_student_parameter_is_trained(method):
    student = simmim_student(method).train()
    teacher = Teacher.from_student(student) if method == "lut" else None
    batch = random_views() if method == "lut" else random_views()[:1]
    losses = pretrain_losses(student, teacher, batch, settings(), torch.Generator().manual_seed(1))
    losses.total.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in student.parameters())
    assert student.mask_token.grad.abs().sum() > 0
    if method == "mae":  # plain SimMIM: the L1 alone
        keep = sample_keep_ids(4, N, 0.75, 1, torch.Generator().manual_seed(1))[0]
        with torch.no_grad():
            expected = simmim_loss(student.reconstruct(batch[0], keep), batch[0], keep_ids_to_mask(keep, N), 4, True)
        assert losses.bc is None
        assert losses.total.item() == pytest.approx(0.5 * expected.item(), rel=1e-5)


@pytest.mark.parametrize(("build", "message"), [
    (lambda: settings(bc_tokens="all"), "mim=simmim has no decoder"),
    (lambda: LossSettings(patch_size=4, num_patches=N, mim="beit"), "mae, simmim"),
    (lambda: build_config({"mim": "beit"}), "is not one of"),
])
def test_inconsistent_settings_are_usage_errors(build, message):
    with pytest.raises(UsageError, match=message):
        build()


def test_the_run_refuses_bc_tokens_all_with_simmim(tiny_config, tmp_path):
    with pytest.raises(UsageError, match="no decoder"):
        pretrain(tiny_config(tmp_path / "run", mim="simmim", bc_tokens="all", max_steps=1))


def test_mim_is_architecture_and_older_checkpoints_count_as_mae():
    default = dataclasses.asdict(PretrainConfig())
    with pytest.raises(UsageError, match="mim='simmim' there, 'mae' here"):
        check_same_architecture({**default, "mim": "simmim"}, default, "checkpoint")
    check_same_architecture({key: value for key, value in default.items() if key != "mim"}, default, "checkpoint")


@pytest.mark.parametrize("method", ["lut", "mae"])
def test_two_step_simmim_run_trains_and_its_encoders_load_for_evaluation(method, tiny_config, tmp_path):
    output = tmp_path / "run"
    config = tiny_config(output, model=f"{method}_vit_tiny_patch16", mim="simmim", max_steps=2,
                         num_visualize=2 if method == "lut" else 0)
    pretrain(config)
    records = [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]
    assert [record["step"] for record in records] == [1, 2]
    assert all(math.isfinite(record["loss"]) and record["mae_loss"] > 0 for record in records)
    assert all((record["bc_loss"] is None) == (method == "mae") for record in records)
    assert all(method == "mae" or math.isfinite(record["bc_loss"]) for record in records)

    payload = load_checkpoint(output / LAST_CHECKPOINT)
    student = payload["model"]
    assert payload["config"]["mim"] == "simmim"
    assert "simmim_head.weight" in student and not any(key.startswith("decoder_") for key in student)
    encoder, info = load_encoder(output / LAST_CHECKPOINT)
    assert all(torch.equal(value, student[key]) for key, value in encoder.state_dict().items())
    heads = {key for key in student if key.startswith(("head.", "predictor."))}
    assert set(info.ignored) == {"mask_token", "simmim_head.weight", "simmim_head.bias"} | heads
    model, _ = load_pretrain_model(str(output / LAST_CHECKPOINT))  # the analyses' whole student
    assert model.simmim_head is not None and model.decoder is None
    assert all(torch.equal(value, student[key]) for key, value in model.state_dict().items())
    if method == "mae":
        return
    assert (output / "reconstructions.png").is_file()
    teacher, info = load_encoder(output / LAST_CHECKPOINT, "teacher")
    assert all(torch.equal(value, payload["model_ema"][key]) for key, value in teacher.state_dict().items())
    assert set(info.ignored) == {key for key in payload["model_ema"] if key.startswith("head.")}
    with pytest.raises(UsageError, match="mim='simmim' there"):
        pretrain(tiny_config(output, max_steps=3))  # resuming it as an MAE-style run
