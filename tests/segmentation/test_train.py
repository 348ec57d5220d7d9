"""The segmentation run's own pieces: its data order and its learning-rate schedule (the run's guarantees are
checked for every training command in tests/runtime/test_run_guarantees.py)."""

import json

import pytest
import torch
from segment_settings import tiny_settings

from lut.config import build_config
from lut.runtime.checkpoint import load_checkpoint
from lut.runtime.run_log import read_metrics
from lut.segmentation.config import SegmentConfig
from lut.segmentation.train import MicroBatches, train_segmentation, warmup_poly


def test_a_tiny_run_overfits_four_scenes(four_scenes, tiny_encoder, tmp_path):
    # Constant lr, no regularisation, no auxiliary head: fit the four scenes (chance: mIoU ~ 10, aAcc ~ 10).
    values = tiny_settings(four_scenes, tiny_encoder, tmp_path / "run", max_iters=60, warmup_iters=3, batch_size=4,
                           lr=3e-3, poly_power=0.0, layer_decay=1.0, weight_decay=0.0, drop_path=0.0, dropout=0.0,
                           aux_channels=0, eval_every_iters=60, log_every_iters=20)
    summary = train_segmentation(build_config(values, SegmentConfig))
    assert summary["final"]["mIoU"] > 55, summary["final"]
    assert summary["final"]["aAcc"] > 95
    records = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert [r["step"] for r in records] == [20, 40, 60, 60]
    assert records[2]["loss"] < records[0]["loss"] / 4
    payload = load_checkpoint(tmp_path / "run" / "checkpoint-best.pth")
    assert {"model", "optimizer", "iteration", "classes", "architecture", "shape", "mean", "std", "config",
            "encoder_digest", "best"} <= set(payload)
    assert payload["mean"] == [0.2, 0.2, 0.2]  # the checkpoint's normalisation
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["best"]["step"] == 60
    assert all(torch.isfinite(value).all() for value in payload["model"].values() if value.is_floating_point())


def test_micro_batches_depend_only_on_their_number_and_cover_each_epoch():
    sampler = MicroBatches(size=10, batch_size=3, seed=4, rank=0, world_size=1, start=0)
    later = MicroBatches(size=10, batch_size=3, seed=4, rank=0, world_size=1, start=2)
    stream = iter(sampler)
    batches = [next(stream) for _ in range(4)]
    assert next(iter(later)) == batches[2]
    first_epoch = [index for batch in batches for index, _ in batch][:10]
    assert sorted(first_epoch) == list(range(10))
    other_rank = MicroBatches(size=10, batch_size=3, seed=4, rank=1, world_size=2, start=0)
    rank0 = MicroBatches(size=10, batch_size=3, seed=4, rank=0, world_size=2, start=0)
    assert {i for i, _ in rank0.micro_batch(0)}.isdisjoint({i for i, _ in other_rank.micro_batch(0)})


def test_warmup_then_poly_schedule():
    config = SegmentConfig(lr=1e-4, warmup_iters=1500, warmup_ratio=1e-6, max_iters=160000, poly_power=1.0)
    assert warmup_poly(0, config) == pytest.approx(1e-10)
    assert warmup_poly(750, config) == pytest.approx(1e-4 * (1e-6 + (1 - 1e-6) * 0.5))
    assert warmup_poly(1500, config) == pytest.approx(1e-4 * (1 - 1500 / 160000))
    assert warmup_poly(80000, config) == pytest.approx(0.5e-4)
    assert warmup_poly(160000, config) == 0.0
