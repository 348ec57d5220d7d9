"""A checkpoint past the schedule is refused; init= starts a new schedule from any weights (item 1)."""

from pathlib import Path

import pytest
import torch
from helpers import as_overrides, tiny_values

from lut.cli import main
from lut.config import build_config
from lut.interchange import export_encoder, load_encoder
from lut.runtime.distributed import distributed_session
from lut.training.pretrain import PretrainRun


def test_resuming_past_the_schedule_reports_nothing_unwritten(tmp_path, image_folder, tiny_lut_run, capsys):
    checkpoint = tiny_lut_run / "checkpoint-last.pth"  # at step 3
    values = tiny_values(image_folder, tmp_path / "run", max_steps=2, resume=checkpoint)
    assert main(["pretrain", *as_overrides(values)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (f"lut: error: {checkpoint} is at step 3, past the last step of this schedule (2: epochs=1 "
                            f"of 10 steps, max_steps=2); nothing to train. To train its weights on a new schedule: "
                            f"init={checkpoint} with resume=none or another output_dir\n")
    assert "done:" not in captured.out and not (tmp_path / "run").exists()


def initialised(config_values: dict) -> PretrainRun:
    with distributed_session("cpu") as context:
        run = PretrainRun(build_config(config_values), context)
        run.initialise(Path(run.config.init))
    return run


def test_init_takes_student_and_teacher_of_a_checkpoint_of_the_same_model(tmp_path, image_folder, tiny_lut_run):
    checkpoint = tiny_lut_run / "checkpoint-last.pth"
    run = initialised(tiny_values(image_folder, tmp_path / "run", init=str(checkpoint)))
    saved = torch.load(checkpoint, weights_only=True)
    for name, value in run.student.state_dict().items():
        torch.testing.assert_close(value, saved["model"][name], rtol=0, atol=0)
    for name, value in run.teacher.state_dict().items():
        torch.testing.assert_close(value, saved["model_ema"][name], rtol=0, atol=0)
    assert run.step == 0 and run.optimizer.state_dict()["state"] == {}


@pytest.mark.parametrize("size", [16, 24])
def test_init_from_an_exported_encoder_starts_both_encoders(tmp_path, image_folder, tiny_lut_run, size, capsys):
    encoder, info = load_encoder(tiny_lut_run / "checkpoint-last.pth", "teacher")
    exported = tmp_path / "teacher.safetensors"
    export_encoder(encoder, info, exported)
    run = initialised(tiny_values(image_folder, tmp_path / "run", init=str(exported), img_size=size,
                                  decoder_embed_dim=48))  # another decoder: only the encoder can carry over
    expected, _ = load_encoder(exported, img_size=size)
    for model in (run.student, run.teacher):
        for name, value in model.encoder.state_dict().items():
            torch.testing.assert_close(value, expected.state_dict()[name], rtol=0, atol=0)
    out = capsys.readouterr().out
    assert f"initialised from {exported} (teacher of a lut-export checkpoint, ViT-" in out
    assert ("position table resampled from 16 px to 24 px" in out) == (size == 24)
