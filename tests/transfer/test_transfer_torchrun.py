"""A grid under torchrun (two gloo processes on CPU), with the selected point retrained on train + val: every run
trains on both processes in one process group, rank 0 alone writes, and the scores it reports are those of the saved
model evaluated in one process on the same splits."""

import json
from pathlib import Path

from helpers import torchrun
from test_grid_array import POINTS, grid_arguments

from lut.config import build_config
from lut.data.labelled import LabelledSplits
from lut.evaluation.config import FinetuneConfig
from lut.evaluation.features import TransformedDataset
from lut.evaluation.finetune import evaluation_transform, finetune_run
from lut.evaluation.supervised import load_inputs
from lut.runtime.checkpoint import LAST_CHECKPOINT, load_checkpoint, load_weights
from lut.runtime.distributed import DistributedContext
from lut.transfer.grid import point_name
from lut.transfer.point import TransferData
from lut.transfer.splits import TransferSplits


def one_process_scores(folder: Path, splits: TransferSplits) -> tuple[dict, dict]:
    """Validation and test scores of the run's last checkpoint, evaluated here in one process."""
    config = build_config(json.loads((folder / "point.json").read_text())["config"], FinetuneConfig)
    inputs = load_inputs(config, LabelledSplits(splits.train, splits.val, splits.classes))
    run = finetune_run(config, inputs, DistributedContext(), class_mean=True)
    payload = load_checkpoint(folder / LAST_CHECKPOINT)
    assert payload["epoch"] == config.epochs
    load_weights(run.saved, payload["model"], str(folder / LAST_CHECKPOINT))
    test = TransformedDataset(splits.test, evaluation_transform(config, inputs))
    return run.evaluate(), run.evaluate(run.evaluation_loader(test))


def test_points_under_torchrun_report_the_saved_models_scores(random_encoders, bright_dark, tmp_path):
    output = tmp_path / "grid"
    arguments = [*grid_arguments(random_encoders[0], bright_dark, output), "epochs=2", "--retrain-on-train-val"]
    result = torchrun("-m", "lut.cli", *arguments)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Traceback" not in result.stderr
    # Printed by rank 0 only: the plan, each run's set-up (batch 10 on each of 2 processes), the summary.
    assert result.stdout.count("2 grid points x 1 encoder, 0 finished, 2 to run") == 1
    assert result.stdout.count("effective batch 20") == 3
    assert result.stdout.count("| encoder0 |") == 1 and result.stdout.count("results in") == 1
    assert not list(output.rglob("*.partial"))

    splits = TransferData(str(bright_dark), str(tmp_path), str(tmp_path / "unused-holdout.json")).open()
    encoder = json.loads((output / "results.json").read_text())["encoders"][0]
    retrain_folder = output / "encoder0" / "retrain" / point_name(encoder["summary"]["selected"])
    runs = [*zip([output / "encoder0" / name for name in POINTS], encoder["points"]),
            (retrain_folder, encoder["retrained"])]
    for folder, saved in runs:
        assert saved == json.loads((folder / "point.json").read_text())
        # One record per epoch (1 step of 2 x 10 images; 28 images on train + val): a second writer would append.
        assert [json.loads(line)["step"] for line in (folder / "metrics.jsonl").read_text().splitlines()] == [1, 2]
        # Each process evaluated every second image and the counts were summed: exactly the one-process scores.
        assert one_process_scores(folder, splits) == (saved["val"], saved["test"])
    assert encoder["retrained"]["train_images"] == 28
    assert encoder["summary"]["retrained_test"] == encoder["retrained"]["test"]["top1"]
