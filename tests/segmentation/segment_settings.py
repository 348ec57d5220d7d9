"""Settings of tiny segmentation runs, shared by the segmentation tests (conftest names clash across folders)."""

from pathlib import Path


def tiny_settings(data: Path, checkpoint: Path, output: Path, **overrides) -> dict:
    """Settings of a tiny CPU run on `data`: whole 24 px scenes, no random resize or colour changes."""
    values = {
        "checkpoint": str(checkpoint), "data": str(data), "output_dir": str(output), "crop_size": 24,
        "scale": [24, 24], "ratio_range": [1.0, 1.0], "cat_max_ratio": 1.0, "photometric": False,
        "out_indices": [0, 1, 2, 3], "channels": 32, "aux_channels": 16, "max_iters": 4, "warmup_iters": 1,
        "batch_size": 2, "lr": 1e-3, "layer_decay": 0.9, "eval_every_iters": 2, "eval_mode": "whole",
        "log_every_iters": 1, "num_workers": 0, "device": "cpu",
    }
    values.update(overrides)
    return values
