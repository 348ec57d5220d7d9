"""`lut pretrain` end to end in a fresh process: LUT and MAE runs, their outputs, and `--help`."""

import dataclasses
import json

import pytest
import torch
from helpers import as_overrides, run_lut, tiny_values

from lut.config import PretrainConfig
from lut.runtime.checkpoint import LAST_CHECKPOINT

METRIC_KEYS = {"step", "epoch", "loss", "mae_loss", "bc_loss", "lr", "momentum", "grad_norm", "img_per_s"}


def pretrain_in_subprocess(image_folder, output, **overrides):
    values = tiny_values(image_folder, output, max_steps=3, num_visualize=2, **overrides)
    return run_lut("pretrain", *as_overrides(values))


@pytest.fixture(scope="module")
def lut_run(tmp_path_factory, image_folder):
    output = tmp_path_factory.mktemp("cli_lut") / "run"
    return pretrain_in_subprocess(image_folder, output), output


@pytest.fixture(scope="module")
def mae_run(tmp_path_factory, image_folder):
    output = tmp_path_factory.mktemp("cli_mae") / "run"
    return pretrain_in_subprocess(image_folder, output, model="mae_vit_tiny_patch16"), output


def read_metrics(output) -> list[dict]:
    return [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]


def test_lut_pretrain_exits_0_and_reports_its_outputs(lut_run):
    result, output = lut_run
    assert result.returncode == 0, result.stderr
    assert "LUT lut_vit_tiny_patch16: 10 steps/epoch" in result.stdout
    assert "lr = 7.5e-05 (sqrt rule blr * sqrt(batch) / 4" in result.stdout
    assert "done: 3 steps" in result.stdout
    assert str(output / LAST_CHECKPOINT) in result.stdout
    assert "Traceback" not in result.stderr


def test_lut_pretrain_writes_every_output(lut_run):
    _, output = lut_run
    names = {path.name for path in output.iterdir()}
    assert {"config.yaml", LAST_CHECKPOINT, "metrics.jsonl", "loss_curve.png", "reconstructions.png",
            "tensorboard", "summary.json"} == names
    assert any(path.name.startswith("events.out.tfevents") for path in (output / "tensorboard").iterdir())
    assert (output / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (output / "reconstructions.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_lut_pretrain_metrics_have_every_key_once_per_step(lut_run):
    _, output = lut_run
    records = read_metrics(output)
    assert [record["step"] for record in records] == [1, 2, 3]
    assert all(set(record) == METRIC_KEYS for record in records)
    assert all(record["bc_loss"] is not None and record["momentum"] is not None for record in records)
    assert records[0]["momentum"] == pytest.approx(0.996)


def test_lut_checkpoint_has_student_and_teacher(lut_run):
    _, output = lut_run
    payload = torch.load(output / LAST_CHECKPOINT, weights_only=True)
    assert payload["step"] == 3
    assert "head.0.weight" in payload["model_ema"] and "predictor.0.weight" not in payload["model_ema"]


def test_mae_pretrain_runs_without_teacher(mae_run):
    result, output = mae_run
    assert result.returncode == 0, result.stderr
    assert "MAE mae_vit_tiny_patch16" in result.stdout
    assert {"config.yaml", LAST_CHECKPOINT, "metrics.jsonl", "loss_curve.png", "reconstructions.png"} <= {
        path.name for path in output.iterdir()
    }
    records = read_metrics(output)
    assert [record["step"] for record in records] == [1, 2, 3]
    assert all(record["bc_loss"] is None and record["momentum"] is None for record in records)
    assert all(record["loss"] == pytest.approx(record["mae_loss"]) for record in records)
    payload = torch.load(output / LAST_CHECKPOINT, weights_only=True)
    assert payload["model_ema"] is None
    assert not any(key.startswith(("head.", "predictor.")) for key in payload["model"])


def test_pretrain_help_lists_every_config_key():
    result = run_lut("pretrain", "--help")
    assert result.returncode == 0
    for name in [f.name for f in dataclasses.fields(PretrainConfig)]:
        assert f"  --{name.replace('_', '-')} " in result.stdout, name
    assert "bundled recipe (default, demo, lut_vit_base," in result.stdout
