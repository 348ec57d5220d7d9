"""Bit-exact resume on CPU: stopping and continuing gives the very same weights as running straight through.

40 images, batch 8: 5 optimiser steps per epoch, 2 epochs. The interrupted runs stop after 3 steps (mid-epoch)
or crash after 3 steps with a periodic checkpoint at step 2, and continue to step 6 (into the second epoch).
"""

import json
import logging
import re
import shutil

import pytest
import torch

from lut.errors import NonFiniteLossError
from lut.runtime.checkpoint import LAST_CHECKPOINT, load_checkpoint
from lut.runtime.distributed import DistributedContext
from lut.training.pretrain import PretrainRun, pretrain

TOTAL_STEPS = 6
SETTINGS = {"batch_size": 8, "epochs": 2}
COMPARED_METRICS = ("step", "epoch", "loss", "mae_loss", "bc_loss", "lr", "momentum", "grad_norm")


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory, image_folder):
    """A run straight through to step 6 (checkpoint, metrics)."""
    from helpers import tiny_values

    from lut.config import build_config

    output = tmp_path_factory.mktemp("straight")
    summary = pretrain(build_config(tiny_values(image_folder, output, max_steps=TOTAL_STEPS, **SETTINGS)))
    assert summary["steps"] == TOTAL_STEPS
    return load_checkpoint(output / LAST_CHECKPOINT), read_metrics(output)


def read_metrics(output) -> list[dict]:
    return [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]


def assert_identical_tensors(first: dict, second: dict, label: str) -> None:
    assert first.keys() == second.keys(), label
    for key in first:
        assert torch.equal(first[key], second[key]), f"{label}: {key}"


def assert_same_training_state(resumed: dict, straight: dict) -> None:
    assert resumed["step"] == straight["step"] == TOTAL_STEPS
    assert resumed["epoch"] == straight["epoch"] == 1
    assert resumed["step_in_epoch"] == straight["step_in_epoch"] == 1
    assert_identical_tensors(resumed["model"], straight["model"], "student")
    assert_identical_tensors(resumed["model_ema"], straight["model_ema"], "teacher")
    resumed_optimizer, straight_optimizer = resumed["optimizer"], straight["optimizer"]
    assert resumed_optimizer["param_groups"] == straight_optimizer["param_groups"]
    assert resumed_optimizer["state"].keys() == straight_optimizer["state"].keys()
    assert len(straight_optimizer["state"]) > 100
    for index, state in straight_optimizer["state"].items():
        assert_identical_tensors(resumed_optimizer["state"][index], state, f"optimizer state {index}")


def assert_each_step_logged_once(resumed_metrics: list[dict], straight_metrics: list[dict]) -> None:
    assert [record["step"] for record in resumed_metrics] == list(range(1, TOTAL_STEPS + 1))
    for resumed, straight in zip(resumed_metrics, straight_metrics, strict=True):
        assert {k: resumed[k] for k in COMPARED_METRICS} == {k: straight[k] for k in COMPARED_METRICS}


def test_stop_mid_epoch_and_resume_matches_the_straight_run(tiny_config, tmp_path, straight_run):
    output = tmp_path / "split"
    first = pretrain(tiny_config(output, max_steps=3, **SETTINGS))
    assert first["steps"] == 3
    halfway = load_checkpoint(output / LAST_CHECKPOINT)
    assert (halfway["step"], halfway["epoch"], halfway["step_in_epoch"]) == (3, 0, 3)

    second = pretrain(tiny_config(output, max_steps=TOTAL_STEPS, **SETTINGS))
    assert second["steps"] == TOTAL_STEPS
    straight_checkpoint, straight_metrics = straight_run
    assert_same_training_state(load_checkpoint(output / LAST_CHECKPOINT), straight_checkpoint)
    assert_each_step_logged_once(read_metrics(output), straight_metrics)


def test_crash_after_periodic_checkpoint_and_resume_matches_the_straight_run(
    tiny_config, tmp_path, straight_run, monkeypatch
):
    output = tmp_path / "crashed"
    original_step = PretrainRun.optimiser_step

    def crash_before_step_four(self, batches, interval):
        if self.step == 3:
            raise RuntimeError("simulated crash")
        return original_step(self, batches, interval)

    monkeypatch.setattr(PretrainRun, "optimiser_step", crash_before_step_four)
    with pytest.raises(RuntimeError, match="simulated crash"):
        pretrain(tiny_config(output, max_steps=TOTAL_STEPS, save_every_steps=2, **SETTINGS))
    monkeypatch.undo()
    # Steps 1-3 were logged, but the last checkpoint is the periodic one of step 2.
    assert [record["step"] for record in read_metrics(output)] == [1, 2, 3]
    assert load_checkpoint(output / LAST_CHECKPOINT)["step"] == 2

    pretrain(tiny_config(output, max_steps=TOTAL_STEPS, save_every_steps=2, **SETTINGS))
    straight_checkpoint, straight_metrics = straight_run
    assert_same_training_state(load_checkpoint(output / LAST_CHECKPOINT), straight_checkpoint)
    assert_each_step_logged_once(read_metrics(output), straight_metrics)


def test_resume_none_starts_again_from_scratch_with_fresh_metrics(tiny_config, tmp_path):
    output = tmp_path / "again"
    pretrain(tiny_config(output, max_steps=2, **SETTINGS))
    first_loss = read_metrics(output)[0]["loss"]
    summary = pretrain(tiny_config(output, max_steps=1, resume="none", **SETTINGS))
    assert summary["steps"] == 1
    assert load_checkpoint(output / LAST_CHECKPOINT)["step"] == 1
    # The old run's records are gone; step 1 is drawn exactly as before (same seed).
    assert [record["step"] for record in read_metrics(output)] == [1]
    assert read_metrics(output)[0]["loss"] == first_loss


def test_non_finite_weights_after_a_finite_loss_are_never_saved(tiny_config, tmp_path, tiny_lut_run, monkeypatch):
    output = tmp_path / "run"
    shutil.copytree(tiny_lut_run, output)
    checkpoint = output / LAST_CHECKPOINT
    saved_before = checkpoint.read_bytes()
    original_step = PretrainRun.optimiser_step

    def overflowing_update(self, batches, interval):  # the loss was finite; the update was not
        values = original_step(self, batches, interval)
        with torch.no_grad():
            next(self.student.parameters()).view(-1)[0] = float("inf")
        return values

    monkeypatch.setattr(PretrainRun, "optimiser_step", overflowing_update)
    with pytest.raises(NonFiniteLossError) as error:
        pretrain(tiny_config(output, max_steps=4))  # resumes at step 3 and saves after step 4
    expected = (rf"model: \S+ became non-finite by step 4 \(not saved\); stopped, the last good checkpoint is "
                rf"{re.escape(str(checkpoint))}\. Lower the learning rate, set clip_grad, or use precision=fp32\.")
    assert re.fullmatch(expected, str(error.value)), str(error.value)
    assert checkpoint.read_bytes() == saved_before
    assert not (output / f".{LAST_CHECKPOINT}.tmp").exists()


def test_resuming_on_other_data_or_settings_is_reported(tmp_path, tiny_lut_run, image_folder, caplog):
    from helpers import tiny_values

    from lut.config import build_config

    output = tmp_path / "run"
    shutil.copytree(tiny_lut_run, output)
    other = tmp_path / "other"
    shutil.copytree(image_folder, other)
    with caplog.at_level(logging.WARNING, logger="lut"):
        run = PretrainRun(build_config(tiny_values(other, output, max_steps=3, mask_ratio=0.5)), DistributedContext())
        run.restore(output / LAST_CHECKPOINT)
    assert [record.getMessage() for record in caplog.records] == [
        f"resuming {output / LAST_CHECKPOINT} with other training settings (data: '{image_folder}' -> '{other}'; "
        "mask_ratio: 0.75 -> 0.5); the schedules continue from step 3"]


def test_a_metrics_record_averages_every_step_since_the_previous_one_across_epoch_ends(tiny_config, tmp_path):
    # 5 steps per epoch, a record every 3 steps: the step-6 record covers steps 4 and 5 (epoch 1) and 6 (epoch 2).
    every = tmp_path / "every"
    pretrain(tiny_config(every, max_steps=6, **SETTINGS))
    losses = {record["step"]: record for record in read_metrics(every) if "loss" in record}
    grouped = tmp_path / "grouped"
    pretrain(tiny_config(grouped, max_steps=6, log_every_steps=3, **SETTINGS))
    records = [record for record in read_metrics(grouped) if "loss" in record]
    assert [record["step"] for record in records] == [3, 6]
    for record, steps in zip(records, ((1, 2, 3), (4, 5, 6)), strict=True):
        for key in ("loss", "mae_loss", "bc_loss"):
            assert record[key] == pytest.approx(sum(losses[step][key] for step in steps) / 3, rel=1e-6), key


def test_another_batch_size_on_resume_keeps_the_epochs_going_forwards(tiny_config, tmp_path):
    # Batch 8: 5 steps per epoch, 3 steps are 0.6 epochs. Batch 4 then: 10 steps per epoch, 0.1 epoch per step.
    output = tmp_path / "run"
    pretrain(tiny_config(output, max_steps=3, **SETTINGS))
    pretrain(tiny_config(output, max_steps=5, **{**SETTINGS, "batch_size": 4}))
    epochs = [record["epoch"] for record in read_metrics(output)]
    assert epochs == pytest.approx([0.2, 0.4, 0.6, 0.7, 0.8])
    assert load_checkpoint(output / LAST_CHECKPOINT)["epochs_done"] == pytest.approx(0.8)
