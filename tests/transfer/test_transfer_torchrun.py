"""A grid under torchrun (two gloo processes on CPU): every point trains on both processes, rank 0 alone writes,
and the scores it reports are those of the saved model evaluated in one process on the same splits."""

import json

from helpers import torchrun
from test_grid_array import POINTS, grid_arguments

from lut.config import build_config
from lut.evaluation.config import FinetuneConfig
from lut.evaluation.datasets import LabelledSplits
from lut.evaluation.features import TransformedDataset
from lut.evaluation.finetune import evaluation_transform, finetune_run
from lut.evaluation.supervised import load_inputs
from lut.training.checkpoint import LAST_CHECKPOINT, load_checkpoint, load_weights
from lut.training.distributed import DistributedContext
from lut.transfer.point import TransferData


def test_points_under_torchrun_report_the_saved_models_scores(random_encoders, bright_dark, tmp_path):
    output = tmp_path / "grid"
    arguments = [*grid_arguments(random_encoders[0], bright_dark, output), "epochs=2"]
    result = torchrun("-m", "lut.cli", *arguments)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Traceback" not in result.stderr
    # Printed by rank 0 only: the plan, each point's set-up (batch 10 on each of 2 processes), the summary.
    assert result.stdout.count("2 grid points x 1 encoders, 0 finished, 2 to run") == 1
    assert result.stdout.count("effective batch 20") == 2
    assert result.stdout.count("| encoder0 |") == 1 and result.stdout.count("results in") == 1
    assert not list(output.rglob("*.partial"))

    splits = TransferData(str(bright_dark), str(tmp_path), str(tmp_path / "unused-holdout.json")).open()
    results = json.loads((output / "results.json").read_text())["encoders"][0]["points"]
    for name, point in zip(POINTS, results, strict=True):
        folder = output / "encoder0" / name
        assert point == json.loads((folder / "point.json").read_text())
        # One record per epoch: a second writer would have appended its own.
        assert [json.loads(line)["step"] for line in (folder / "metrics.jsonl").read_text().splitlines()] == [1, 2]
        config = build_config(point["config"], FinetuneConfig)
        inputs = load_inputs(config, LabelledSplits(splits.train, splits.val, splits.classes))
        run = finetune_run(config, inputs, DistributedContext(), class_mean=True)
        payload = load_checkpoint(folder / LAST_CHECKPOINT)
        assert payload["epoch"] == 2
        load_weights(run.saved, payload["model"], str(folder / LAST_CHECKPOINT))
        test = TransformedDataset(splits.test, evaluation_transform(config, inputs))
        # Each process evaluated every second image and the counts were summed: exactly the one-process scores.
        assert run.evaluate() == point["val"]
        assert run.evaluate(run.evaluation_loader(test)) == point["test"]
