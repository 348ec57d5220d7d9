"""Two processes on CPU (gloo, via torchrun): same gradients, same teacher, rank 0 writes, compile (DDP, FSDP)."""

import json
from pathlib import Path

import pytest
import torch
from helpers import as_overrides, tiny_values, torchrun

from lut.config import build_config
from lut.runtime.checkpoint import LAST_CHECKPOINT, load_checkpoint
from lut.runtime.seeding import seed_everything
from lut.training.pretrain_models import build_student

STEPS = 3


@pytest.fixture(scope="module")
def probe(tmp_path_factory, image_folder):
    output = tmp_path_factory.mktemp("ddp_probe")
    result = torchrun(str(Path(__file__).with_name("ddp_probe.py")), str(image_folder), str(output), str(STEPS))
    assert result.returncode == 0, result.stderr[-4000:]
    return [torch.load(output / f"probe-rank{rank}.pt", weights_only=True) for rank in (0, 1)], output


def assert_equal_states(first: dict, second: dict) -> None:
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key


def test_ranks_start_from_different_weights(probe):
    (rank0, rank1), _ = probe
    assert rank0["world_size"] == rank1["world_size"] == 2
    assert not torch.equal(rank0["initial_student"]["cls_token"], rank1["initial_student"]["cls_token"])


def test_every_teacher_starts_as_rank_zeros_student(probe):
    (rank0, rank1), _ = probe
    assert_equal_states(rank0["teacher_at_start"], rank1["teacher_at_start"])
    for key, value in rank1["teacher_at_start"].items():
        assert torch.equal(value, rank0["initial_student"][key]), key


def test_gradients_after_backward_are_identical_on_both_ranks(probe):
    (rank0, rank1), _ = probe
    assert len(rank0["grads"]) == len(rank1["grads"]) == STEPS
    for step, (grads0, grads1) in enumerate(zip(rank0["grads"], rank1["grads"], strict=True)):
        assert grads0.keys() == grads1.keys()
        assert grads0["encoder.blocks.0.attn.qkv.weight"].abs().sum() > 0
        for name in grads0:
            assert torch.equal(grads0[name], grads1[name]), f"step {step}: {name}"


def test_student_and_teacher_are_identical_on_both_ranks_after_training(probe):
    (rank0, rank1), _ = probe
    assert_equal_states(rank0["student"], rank1["student"])
    assert_equal_states(rank0["teacher"], rank1["teacher"])
    # The head BatchNorm statistics moved (averaged over ranks), and the teacher followed them.
    assert not torch.equal(rank0["teacher"]["head.1.running_mean"], rank0["teacher_at_start"]["head.1.running_mean"])
    assert rank0["teacher"]["head.1.num_batches_tracked"].item() == 2 * STEPS


def test_checkpoint_of_the_distributed_run_holds_rank_zeros_state(probe):
    (rank0, _), output = probe
    payload = load_checkpoint(output / LAST_CHECKPOINT)
    assert payload["step"] == STEPS
    assert payload["effective_batch"] == 8
    assert_equal_states(payload["model"], rank0["student"])
    assert_equal_states(payload["model_ema"], rank0["teacher"])


def test_cli_under_torchrun_writes_files_from_rank_zero_only(tmp_path, image_folder):
    output = tmp_path / "run"
    values = tiny_values(image_folder, output, max_steps=2)
    result = torchrun("-m", "lut.cli", "pretrain", *as_overrides(values))
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Traceback" not in result.stderr
    assert result.stdout.count("LUT lut_vit_tiny_patch16: 5 steps/epoch") == 1  # 20 images per rank, batch 4
    assert "effective batch 8" in result.stdout
    assert {path.name for path in output.iterdir()} == {"config.yaml", LAST_CHECKPOINT, "metrics.jsonl",
                                                         "loss_curve.png", "summary.json", "tensorboard"}
    records = [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]
    assert [record["step"] for record in records] == [1, 2]
    assert all(record["img_per_s"] > 0 for record in records)
    assert len(list((output / "tensorboard").iterdir())) == 1
    assert load_checkpoint(output / LAST_CHECKPOINT)["step"] == 2


def test_symmetric_heads_train_under_ddp_with_the_predictor_frozen(tmp_path, image_folder):
    values = tiny_values(image_folder, tmp_path / "run", max_steps=2, symmetric_heads=True)
    result = torchrun("-m", "lut.cli", "pretrain", *as_overrides(values))
    assert result.returncode == 0, result.stderr[-4000:]
    payload = load_checkpoint(tmp_path / "run" / LAST_CHECKPOINT)
    seed_everything(0)  # the run's seed: the student it started from
    model = build_student(build_config(values))
    initial = model.state_dict()
    predictor_keys = [key for key in initial if key.startswith("predictor.")]
    assert predictor_keys and all(torch.equal(payload["model"][key], initial[key]) for key in predictor_keys)
    assert not torch.equal(payload["model"]["head.0.weight"], initial["head.0.weight"])
    trained = [name for name, _ in model.named_parameters() if not name.startswith("predictor.")]
    assert len(payload["optimizer"]["state"]) == len(trained)
