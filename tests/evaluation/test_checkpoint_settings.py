"""Evaluation settings a checkpoint knows are its defaults; an explicit size overrides them and says so (item 2)."""

import pytest

from lut.evaluation.config import FinetuneConfig, LinprobeConfig, resolve_eval_config
from lut.evaluation.supervised import load_inputs


@pytest.mark.parametrize(("config_class", "kind"), [(LinprobeConfig, "linprobe"), (FinetuneConfig, "finetune")])
def test_the_small_recipe_runs_at_the_checkpoint_s_size(config_class, kind, tiny_lut_run, image_folder):
    values = {"checkpoint": str(tiny_lut_run / "checkpoint-last.pth"), "data": str(image_folder)}
    inputs = load_inputs(resolve_eval_config(config_class, kind, "small", values))
    assert inputs.info.architecture.img_size == 16  # the checkpoint's, not the recipe's 32
    assert inputs.info.notes == ()
    assert inputs.encoder.pos_embed.shape == (1, 1 + 16, 192)
    assert inputs.mean == [0.485, 0.456, 0.406]  # the checkpoint's normalisation (the run's default)


def test_an_explicit_size_resamples_and_says_so(tiny_lut_run, image_folder):
    values = {"checkpoint": str(tiny_lut_run / "checkpoint-last.pth"), "data": str(image_folder), "img_size": 24}
    inputs = load_inputs(resolve_eval_config(LinprobeConfig, "linprobe", "small", values))
    assert inputs.info.architecture.img_size == 24
    assert inputs.encoder.pos_embed.shape == (1, 1 + 36, 192)
    assert inputs.info.notes == ("position table resampled from 16 px to 24 px (bicubic)",)
    assert inputs.info.report().endswith("\n  note: position table resampled from 16 px to 24 px (bicubic)")
