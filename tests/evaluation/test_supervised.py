"""Resuming a supervised run: the same run continues with more epochs; other poolings or data are refused."""

import json

import pytest
import torch

from lut.config import build_config
from lut.errors import UsageError
from lut.evaluation.config import FinetuneConfig, LinprobeConfig
from lut.evaluation.finetune import finetune
from lut.evaluation.linear_probe import linear_probe

PROTOCOLS = {"linprobe": (LinprobeConfig, linear_probe), "finetune": (FinetuneConfig, finetune)}


def run_protocol(kind, checkpoint, data, output_dir, **overrides) -> dict:
    config_class, protocol = PROTOCOLS[kind]
    values = dict(checkpoint=str(checkpoint), data=str(data), output_dir=str(output_dir), img_size=16, crop_pct=1.0,
                  epochs=1, warmup_epochs=0, batch_size=16, accum_iter=1, lr=1e-3, num_workers=0, device="cpu",
                  test_samples=8)
    if kind == "finetune":
        values.update(mixup=0.0, cutmix=0.0, auto_augment="")
    return protocol(build_config({**values, **overrides}, config_class))


@pytest.mark.parametrize("kind", PROTOCOLS)
def test_the_same_run_continues_with_more_epochs(kind, tiny_checkpoint, stripes, tmp_path, capsys):
    # Another encoder's checkpoint is refused for every command in tests/runtime/test_run_guarantees.py.
    output = tmp_path / "run"
    run_protocol(kind, tiny_checkpoint, stripes, output, weights="teacher")
    summary = run_protocol(kind, tiny_checkpoint, stripes, output, weights="teacher", epochs=2)
    assert f"resumed from {output / 'checkpoint-last.pth'} at epoch 1" in capsys.readouterr().out
    assert summary["epochs"] == 2
    assert [json.loads(line)["epoch"] for line in (output / "metrics.jsonl").read_text().splitlines()] == [1, 2]


def test_resume_with_other_poolings_or_data_is_refused(tiny_checkpoint, stripes, tmp_path):
    output = tmp_path / "run"
    run_protocol("linprobe", tiny_checkpoint, stripes, output)
    with pytest.raises(UsageError, match=r"holds a run of other settings \(pools=\['cls', 'mean'\] there, \['cls'\]"):
        run_protocol("linprobe", tiny_checkpoint, stripes, output, pools=["cls"], epochs=2)
    with pytest.raises(UsageError, match=r"holds a run of other settings \(data="):
        run_protocol("linprobe", tiny_checkpoint, stripes / "train", output, epochs=2)


def test_checkpoint_without_encoder_digest_is_matched_on_the_encoder_settings(tiny_checkpoint, stripes, tmp_path):
    output = tmp_path / "run"
    run_protocol("linprobe", tiny_checkpoint, stripes, output, weights="teacher")
    last = output / "checkpoint-last.pth"
    payload = torch.load(last, weights_only=True)
    del payload["encoder_digest"]  # as written before the digest was stored
    torch.save(payload, last)
    with pytest.raises(UsageError, match=r"other settings \(weights='teacher' there, 'student' here\)"):
        run_protocol("linprobe", tiny_checkpoint, stripes, output, weights="student", epochs=2)
    assert run_protocol("linprobe", tiny_checkpoint, stripes, output, weights="teacher", epochs=2)["epochs"] == 2
