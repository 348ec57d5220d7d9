"""What a short in-process run writes: schedules per step, metrics, figures and the config."""

import json
import logging
import math

import pytest
import yaml

from lut.config import PretrainConfig, build_config
from lut.runtime.checkpoint import LAST_CHECKPOINT, load_checkpoint

# The shared run: batch 4 of 40 images -> 10 steps per epoch, 1 epoch, warm-up 0.2 epoch = 2 steps,
# peak lr 1.5e-4 * sqrt(4) / 4 = 7.5e-5, momentum 0.996 -> 1 over 10 steps, stopped after 3 steps.
PEAK_LR = 7.5e-5


@pytest.fixture
def metrics(tiny_lut_run) -> list[dict]:
    return [json.loads(line) for line in (tiny_lut_run / "metrics.jsonl").read_text().splitlines()]


def test_one_metrics_record_per_step_with_every_key(metrics):
    assert [record["step"] for record in metrics] == [1, 2, 3]
    assert [record["epoch"] for record in metrics] == pytest.approx([0.1, 0.2, 0.3])
    for record in metrics:
        assert set(record) == {"step", "epoch", "loss", "mae_loss", "bc_loss", "lr", "momentum", "grad_norm",
                               "img_per_s"}
        assert record["img_per_s"] > 0
        assert math.isfinite(record["grad_norm"]) and record["grad_norm"] > 0


def test_learning_rate_warms_up_linearly_per_step(metrics):
    # lr of the step that ended at record["step"], set from the step count before it.
    assert [record["lr"] for record in metrics] == pytest.approx([0.0, PEAK_LR / 2, PEAK_LR], rel=1e-12)


def test_teacher_momentum_follows_the_cosine_per_step(metrics):
    # 1 - 0.004 * (cos(pi * t / 10) + 1) / 2 for t = 0, 1, 2
    assert [record["momentum"] for record in metrics] == pytest.approx([0.996, 0.9960978870, 0.9963819660], abs=1e-10)


def test_total_loss_is_mae_plus_quarter_bc(metrics):
    for record in metrics:
        assert record["loss"] == pytest.approx(record["mae_loss"] + 0.25 * record["bc_loss"], rel=1e-5)
        assert 0.0 <= record["bc_loss"] <= 4.0
        # norm-pix targets: a near-zero initial prediction scores close to (n - 1) / n = 47 / 48 per patch
        assert 0.5 < record["mae_loss"] < 2.0


def test_optimizer_holds_the_last_learning_rate(tiny_lut_run):
    payload = load_checkpoint(tiny_lut_run / LAST_CHECKPOINT)
    assert {group["lr"] for group in payload["optimizer"]["param_groups"]} == {PEAK_LR}
    assert {state["step"].item() for state in payload["optimizer"]["state"].values()} == {3.0}


def test_run_folder_holds_config_figure_tensorboard_and_summary(tiny_lut_run):
    names = {path.name for path in tiny_lut_run.iterdir()}
    assert names == {"config.yaml", LAST_CHECKPOINT, "metrics.jsonl", "loss_curve.png", "summary.json", "tensorboard"}
    assert any(path.name.startswith("events.out.tfevents") for path in (tiny_lut_run / "tensorboard").iterdir())
    summary = json.loads((tiny_lut_run / "summary.json").read_text())
    assert summary["steps"] == 3
    assert summary["checkpoint"] == str(tiny_lut_run / LAST_CHECKPOINT)
    # 3 of the schedule's 10 updates, m = 0.996, 0.99609789, 0.99638197 (see the metrics test above):
    # initial share m0 m1 m2; the rest weighted (1 - m0) m1 m2, (1 - m1) m2, 1 - m2 on steps 1, 2, 3
    assert summary["teacher"] == pytest.approx(
        {"momentum": 0.996, "schedule_steps": 10, "initial_share": 0.98852400, "average_step": 1.969332}, rel=1e-6)


def test_saved_config_rebuilds_the_run_config(tiny_lut_run, image_folder):
    saved = build_config(yaml.safe_load((tiny_lut_run / "config.yaml").read_text()))
    assert isinstance(saved, PretrainConfig)
    assert saved.max_steps == 3 and saved.data == str(image_folder) and saved.patch_size == 4
    assert load_checkpoint(tiny_lut_run / LAST_CHECKPOINT)["config"] == yaml.safe_load(
        (tiny_lut_run / "config.yaml").read_text()
    )


@pytest.mark.parametrize(("train_samples", "used", "message"), [
    (12, 12, "training on a fixed random subset of 12 of the 40 images (train_samples=12)"),
    (1000, 40, "train_samples=1000 is not fewer than the 40 training images: training on all of them"),
])
def test_a_training_subset_is_announced(tiny_config, tmp_path, caplog, train_samples, used, message):
    from lut.runtime.distributed import DistributedContext
    from lut.training.pretrain import PretrainRun

    with caplog.at_level(logging.INFO, logger="lut"):
        run = PretrainRun(tiny_config(tmp_path / "run", train_samples=train_samples), DistributedContext())
    assert len(run.sampler) == used
    assert message in caplog.messages


def test_running_a_finished_run_again_keeps_one_final_knn_record(tiny_config, tmp_path):
    from lut.training.pretrain import pretrain

    config = tiny_config(tmp_path / "run", max_steps=2, final_knn=True)
    first = pretrain(config)
    second = pretrain(config)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [record["step"] for record in records if "knn_top1" in record] == [2]
    assert [record["step"] for record in records if "loss" in record] == [1, 2]
    assert second["knn"] == first["knn"]
