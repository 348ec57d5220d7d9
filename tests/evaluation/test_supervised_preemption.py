"""A stop signal in the middle of a fine-tuning or linear-probing epoch: a checkpoint at that step, exit code
128 + signal, and a resumed run equal to a straight one bit for bit (augmentation, mixup and drop path included)."""

import json
import os
import signal

import pytest
import torch

import lut.evaluation.supervised as supervised_module
from lut.config import build_config
from lut.errors import PreemptedError
from lut.evaluation.config import FinetuneConfig, LinprobeConfig
from lut.evaluation.finetune import finetune
from lut.evaluation.linear_probe import linear_probe
from lut.runtime.checkpoint import LAST_CHECKPOINT, load_checkpoint

PROTOCOLS = {"linprobe": (LinprobeConfig, linear_probe), "finetune": (FinetuneConfig, finetune)}
# 64 training images, batch 16: 4 steps per epoch; the signal comes during the 2nd step of epoch 2.
SIGNAL_AT_STEP = 5


def run_protocol(kind, checkpoint, data, output_dir):
    config_class, protocol = PROTOCOLS[kind]
    values = dict(checkpoint=str(checkpoint), data=str(data), output_dir=str(output_dir), img_size=16, crop_pct=1.0,
                  epochs=2, warmup_epochs=1, batch_size=16, accum_iter=1, lr=1e-3, num_workers=0, device="cpu",
                  test_samples=8)
    return protocol(build_config(values, config_class))


@pytest.mark.parametrize("kind", PROTOCOLS)
def test_signal_mid_epoch_checkpoints_that_step_and_resumes_bit_exactly(kind, tiny_checkpoint, stripes, tmp_path,
                                                                       monkeypatch, capsys):
    straight = run_protocol(kind, tiny_checkpoint, stripes, tmp_path / "straight")
    schedule = supervised_module.warmup_cosine

    def signal_during_a_step(step, *args):  # the learning rate is looked up once at the start of every step
        if step == SIGNAL_AT_STEP:
            os.kill(os.getpid(), signal.SIGUSR1)
        return schedule(step, *args)

    monkeypatch.setattr(supervised_module, "warmup_cosine", signal_during_a_step)
    output = tmp_path / "split"
    with pytest.raises(PreemptedError, match=r"^stopped by SIGUSR1 after step 2 of epoch 2; checkpoint ") as error:
        run_protocol(kind, tiny_checkpoint, stripes, output)
    assert error.value.exit_code == 138
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL  # the handlers are put back
    stopped = load_checkpoint(output / LAST_CHECKPOINT)
    assert stopped["epoch"] == 1 and stopped["mid_epoch"]["step_in_epoch"] == 2
    assert stopped["mid_epoch"]["micro_batches"] == 2 and len(stopped["mid_epoch"]["rng"]) == 1

    monkeypatch.setattr(supervised_module, "warmup_cosine", schedule)
    resumed = run_protocol(kind, tiny_checkpoint, stripes, output)
    assert "at step 2 of epoch 2" in capsys.readouterr().out
    assert resumed["final"] == straight["final"]
    expected = load_checkpoint(tmp_path / "straight" / LAST_CHECKPOINT)
    actual = load_checkpoint(output / LAST_CHECKPOINT)
    assert actual["mid_epoch"] is None and actual["epoch"] == 2
    assert expected["model"].keys() == actual["model"].keys()
    assert all(torch.equal(actual["model"][key], value) for key, value in expected["model"].items())
    straight_records = (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()
    resumed_records = (output / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in resumed_records] == [json.loads(line) for line in straight_records]


def test_signal_during_the_evaluation_stops_once_the_epoch_is_saved(tiny_checkpoint, stripes, tmp_path, monkeypatch):
    evaluate = supervised_module.SupervisedRun.evaluate

    def evaluate_after_a_signal(self):
        os.kill(os.getpid(), signal.SIGTERM)
        return evaluate(self)

    monkeypatch.setattr(supervised_module.SupervisedRun, "evaluate", evaluate_after_a_signal)
    output = tmp_path / "run"
    with pytest.raises(PreemptedError, match=rf"^stopped by SIGTERM after epoch 1; checkpoint {output}/") as error:
        run_protocol("linprobe", tiny_checkpoint, stripes, output)
    assert error.value.exit_code == 143
    stopped = load_checkpoint(output / LAST_CHECKPOINT)
    assert stopped["epoch"] == 1 and stopped["mid_epoch"] is None
    assert [json.loads(line)["epoch"] for line in (output / "metrics.jsonl").read_text().splitlines()] == [1]
