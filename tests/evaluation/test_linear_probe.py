import json

import pytest
import torch

from lut.config import build_config
from lut.evaluation.config import LinprobeConfig
from lut.evaluation.linear_probe import LinearProbe, linear_probe
from lut.evaluation.logistic_regression import MODE_LABEL, fit_logistic_regression, top_k_accuracy


def probe_config(checkpoint, data, output_dir, **overrides) -> LinprobeConfig:
    values = dict(checkpoint=str(checkpoint), data=str(data), output_dir=str(output_dir), img_size=16, crop_pct=1.0,
                  crop_scale_min=0.5, epochs=8, warmup_epochs=1, batch_size=16, accum_iter=1, lr=6.4, num_workers=0,
                  device="cpu")
    return build_config({**values, **overrides}, LinprobeConfig)


def test_probe_keeps_the_encoder_frozen_and_in_eval_mode(make_tiny_encoder):
    encoder = make_tiny_encoder()
    probe = LinearProbe(encoder, num_classes=3).train()
    assert not encoder.training and probe.heads.training
    assert not any(p.requires_grad for p in encoder.parameters())
    batch_norm, linear = probe.heads["cls"]
    assert not batch_norm.affine and batch_norm.eps == 1e-6
    assert linear.weight.std().item() == pytest.approx(0.01, rel=0.2) and torch.equal(linear.bias, torch.zeros(3))
    logits = probe(torch.randn(4, 3, 16, 16))
    assert {name: tuple(value.shape) for name, value in logits.items()} == {"cls": (4, 3), "mean": (4, 3)}


def test_mae_protocol_learns_an_obvious_task(tiny_checkpoint, stripes, tmp_path):
    before = torch.load(tiny_checkpoint, weights_only=True)["model"]["blocks.0.attn.qkv.weight"]
    summary = linear_probe(probe_config(tiny_checkpoint, stripes, tmp_path / "probe"))
    assert summary["final"]["cls_top1"] >= 80.0 and summary["final"]["mean_top1"] >= 80.0  # chance: 50
    records = [json.loads(line) for line in (tmp_path / "probe" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == list(range(1, 9))
    saved = torch.load(tmp_path / "probe" / "checkpoint-last.pth", weights_only=True)
    assert sorted(saved["model"]) == sorted(f"{pool}.{key}" for pool in ("cls", "mean") for key in (
        "0.running_mean", "0.running_var", "0.num_batches_tracked", "1.weight", "1.bias"))  # heads only
    assert torch.equal(torch.load(tiny_checkpoint, weights_only=True)["model"]["blocks.0.attn.qkv.weight"], before)
    assert (tmp_path / "probe" / "accuracy.png").is_file()


def test_logistic_regression_separates_separable_features():
    torch.manual_seed(0)
    centres = torch.randn(3, 10) * 3
    labels = torch.randint(0, 3, (300,))
    features = centres[labels] + torch.randn(300, 10) * 0.5
    model = fit_logistic_regression(features, labels, num_classes=3, iterations=50)
    with torch.no_grad():
        assert top_k_accuracy(model(features), labels) == {"top1": 100.0}  # no top-5 of 3 classes


def test_features_mode_is_labelled_and_cached(tiny_checkpoint, stripes, tmp_path):
    config = probe_config(tiny_checkpoint, stripes, tmp_path / "features", mode="features",
                          cache_dir=str(tmp_path / "cache"), pools=["mean"])
    summary = linear_probe(config)
    assert summary["mode"] == MODE_LABEL and "not the MAE" in MODE_LABEL
    assert summary["final"]["mean_top1"] >= 90.0
    assert set(summary["final"]) == {"mean_top1"}  # two classes: no top-5
    assert len(list((tmp_path / "cache").glob("features-*.pt"))) == 2  # train and test
