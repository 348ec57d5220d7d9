import json

import pytest
import torch

from lut.config import build_config
from lut.evaluation.config import FinetuneConfig
from lut.evaluation.finetune import finetune


def finetune_config(checkpoint, data, output_dir, **overrides) -> FinetuneConfig:
    values = dict(checkpoint=str(checkpoint), data=str(data), output_dir=str(output_dir), img_size=16, crop_pct=1.0,
                  crop_scale_min=0.5, epochs=4, warmup_epochs=1, batch_size=16, lr=1e-3, num_workers=0,
                  device="cpu")
    return build_config({**values, **overrides}, FinetuneConfig)


def test_full_recipe_learns_an_obvious_task(tiny_checkpoint, stripes, tmp_path):
    # RandAugment, mixup 0.8 / cutmix 1.0 with label smoothing, random erasing, drop path, layer decay.
    summary = finetune(finetune_config(tiny_checkpoint, stripes, tmp_path / "run"))
    assert summary["best"]["top1"]["value"] >= 80.0  # chance: 50
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    assert records[0]["lr"] == pytest.approx(1e-3 * 3 / 4)  # last step of the 4-step warm-up
    best = torch.load(tmp_path / "run" / "checkpoint-best.pth", weights_only=True)
    assert best["epoch"] == summary["best"]["top1"]["epoch"]
    assert {"head.weight", "fc_norm.weight", "pos_embed"} <= set(best["model"])
    assert (tmp_path / "run" / "accuracy.png").is_file()
