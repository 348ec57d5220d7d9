"""Evaluation settings a checkpoint knows are its defaults, recorded as they ran; an explicit size overrides them and
says so; another patch size than the encoder's is refused."""

from pathlib import Path

import pytest
import torch
import yaml

from lut.errors import UsageError
from lut.evaluation.config import FinetuneConfig, LinprobeConfig, resolve_eval_config
from lut.evaluation.linear_probe import linear_probe
from lut.evaluation.supervised import load_inputs
from lut.models.encoder import ViTEncoder


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


@pytest.fixture(scope="module")
def vit_tiny_at_64_px(tmp_path_factory) -> Path:
    """A random encoder of the ViT-Ti preset (12 blocks, patch 16) at 64 px, with its normalisation recorded."""
    torch.manual_seed(0)
    encoder = ViTEncoder(64, 16, 3, 192, 12, 3)
    path = tmp_path_factory.mktemp("vit_tiny") / "encoder.pth"
    torch.save({"model": encoder.state_dict(), "model_ema": encoder.state_dict(), "lut_version": "0.1.0",
                "config": {"mean": [0.5] * 3, "std": [0.25] * 3}}, path)
    return path


def test_a_linear_probe_of_a_64_px_checkpoint_records_what_ran(vit_tiny_at_64_px, image_folder, tmp_path):
    values = {"checkpoint": str(vit_tiny_at_64_px), "data": str(image_folder), "output_dir": str(tmp_path / "probe"),
              "epochs": 1, "warmup_epochs": 0, "batch_size": 8, "num_workers": 0, "device": "cpu",
              "precision": "auto"}
    linear_probe(resolve_eval_config(LinprobeConfig, "linprobe", "small", values))
    saved = yaml.safe_load((tmp_path / "probe" / "config.yaml").read_text())
    recorded = {key: saved[key] for key in ("arch", "img_size", "patch_size", "mean", "std", "recipe", "precision")}
    assert recorded == {"arch": "vit_tiny_patch16", "img_size": 64, "patch_size": 16, "mean": [0.5] * 3,
                        "std": [0.25] * 3, "recipe": "small", "precision": "fp32"}  # no native bf16 in the tests


def test_another_patch_size_than_the_encoder_s_is_refused(tiny_checkpoint, image_folder):
    values = {"checkpoint": str(tiny_checkpoint), "data": str(image_folder), "patch_size": 8}
    with pytest.raises(UsageError, match=r"^patch_size 8: the encoder's patches are 4 px, which its weights fix; "
                                         r"leave patch_size at 0$"):
        load_inputs(resolve_eval_config(LinprobeConfig, "linprobe", "small", values))
