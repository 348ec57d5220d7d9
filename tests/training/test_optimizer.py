"""The pre-training optimiser: AdamW groups, betas and the learning rate a run derives."""

import pytest
import torch

from lut.errors import UsageError
from lut.runtime.distributed import DistributedContext
from lut.training.pretrain import PretrainRun


@pytest.fixture
def run(tiny_config, tmp_path):
    return PretrainRun(tiny_config(tmp_path / "run"), DistributedContext())


def test_adamw_with_betas_09_095(run):
    assert isinstance(run.optimizer, torch.optim.AdamW)
    assert all(group["betas"] == (0.9, 0.95) for group in run.optimizer.param_groups)


def test_weight_decay_on_matrices_only(run):
    names = {id(p): name for name, p in run.student.named_parameters()}
    groups = {group["weight_decay"]: group["params"] for group in run.optimizer.param_groups}
    assert set(groups) == {0.0, 0.05}
    decayed = {names[id(p)] for p in groups[0.05]}
    not_decayed = {names[id(p)] for p in groups[0.0]}
    assert all(p.ndim > 1 for p in groups[0.05])
    assert all(p.ndim <= 1 for p in groups[0.0])
    assert decayed.isdisjoint(not_decayed)
    assert decayed | not_decayed == set(names.values())
    assert {"encoder.blocks.0.attn.qkv.weight", "encoder.patch_embed.proj.weight", "decoder.decoder_pred.weight",
            "head.0.weight", "predictor.3.weight"} <= decayed
    assert {"encoder.blocks.0.attn.qkv.bias", "encoder.norm.weight", "encoder.norm.bias", "head.1.weight",
            "head.1.bias", "decoder.decoder_norm.weight", "encoder.patch_embed.proj.bias"} <= not_decayed
    # The released code (timm's add_weight_decay without a skip list) decays the 3-D CLS and mask tokens.
    assert {"encoder.cls_token", "decoder.mask_token"} <= decayed
    # ViT-Ti: 12 blocks x (qkv, proj, fc1, fc2) + patch conv + CLS, decoder 1 x 4 + embed + pred + mask token, 4 heads
    assert len(decayed) == 48 + 2 + 4 + 3 + 4
    assert sum(p.numel() for p in groups[0.05]) + sum(p.numel() for p in groups[0.0]) == sum(
        p.numel() for p in run.student.parameters()
    )


def test_fixed_position_tables_are_not_optimised(run):
    optimised = {id(p) for group in run.optimizer.param_groups for p in group["params"]}
    assert id(run.student.encoder.pos_embed) not in optimised
    assert not run.student.encoder.pos_embed.requires_grad


def test_teacher_parameters_are_not_optimised(run):
    optimised = {id(p) for group in run.optimizer.param_groups for p in group["params"]}
    assert all(id(p) not in optimised for p in run.teacher.parameters())


def test_peak_lr_from_blr_and_effective_batch(tiny_config, tmp_path):
    # batch 4, one process: sqrt rule 1.5e-4 * 2 / 4, linear rule 1.5e-4 * 4 / 256
    sqrt_run = PretrainRun(tiny_config(tmp_path / "a", blr=1.5e-4), DistributedContext())
    assert sqrt_run.effective_batch == 4
    assert sqrt_run.peak_lr == pytest.approx(7.5e-5)
    linear_run = PretrainRun(tiny_config(tmp_path / "b", blr=1.5e-4, lr_rule="linear", accum_iter=2),
                             DistributedContext())
    assert linear_run.effective_batch == 8
    assert linear_run.peak_lr == pytest.approx(1.5e-4 * 8 / 256)
    assert linear_run.steps_per_epoch == 5  # 40 images / (4 x 2)
    fixed_run = PretrainRun(tiny_config(tmp_path / "c", lr=3e-3), DistributedContext())
    assert fixed_run.peak_lr == 3e-3


def test_too_few_images_for_one_step_is_a_usage_error(tiny_config, tmp_path):
    with pytest.raises(UsageError, match="too few for one optimiser step"):
        PretrainRun(tiny_config(tmp_path / "run", batch_size=41), DistributedContext())
