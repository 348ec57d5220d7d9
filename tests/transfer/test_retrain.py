"""`--retrain-on-train-val`: the point selected on validation is fine-tuned again on train + val images and its test
score becomes the headline; the selection still reads validation scores only."""

import json

from test_grid_array import POINTS, grid_arguments

from lut.cli import main
from lut.transfer.report import summary_table

# bright_dark: 2 x 10 training and 2 x 4 validation images; batch 4 gives 5 steps per epoch on train, 7 on train + val.
STEPS = {"train": 5, "train+val": 7}


def steps(folder) -> list[int]:
    return [json.loads(line)["step"] for line in (folder / "metrics.jsonl").read_text().splitlines()]


def test_selected_point_is_retrained_on_train_and_val(random_encoders, bright_dark, tmp_path, capsys):
    output = tmp_path / "grid"
    arguments = [*grid_arguments(random_encoders[0], bright_dark, output), "batch_size=4"]
    assert main(arguments) == 0
    folders = [output / "encoder0" / name for name in POINTS]
    assert [steps(folder) for folder in folders] == [[STEPS["train"]]] * 2
    # Scores that make the test-best point (lr 0.001) differ from the validation-best one (lr 0.03).
    for folder, (val, test) in zip(folders, ((40.0, 90.0), (60.0, 10.0)), strict=True):
        point = json.loads((folder / "point.json").read_text())
        assert point["train_images"] == 20
        point["val"]["top1"], point["test"]["top1"] = val, test
        (folder / "point.json").write_text(json.dumps(point))
    capsys.readouterr()

    assert main([*arguments, "--retrain-on-train-val"]) == 0
    assert "2 finished, 0 to run" in capsys.readouterr().out
    retrain = output / "encoder0" / "retrain" / POINTS[1]
    assert sorted(path.name for path in (output / "encoder0" / "retrain").iterdir()) == [POINTS[1]]
    assert steps(retrain) == [STEPS["train+val"]]
    retrained = json.loads((retrain / "point.json").read_text())
    assert retrained["train_images"] == 28 and retrained["point"] == {"lr": 0.03, "weight_decay": 0.05}
    results = json.loads((output / "results.json").read_text())
    encoder = results["encoders"][0]
    assert encoder["retrained"] == retrained
    summary = encoder["summary"]
    assert summary["selected"] == {"lr": 0.03, "weight_decay": 0.05}
    assert (summary["selected_val"], summary["selected_test"]) == (60.0, 10.0)
    assert summary["retrained_test"] == retrained["test"]["top1"]
    # 8 test images: the retrained model's score is a multiple of 12.5 %.
    assert retrained["test"]["top1"] * 8 / 100 == round(retrained["test"]["top1"] * 8 / 100)
    row = summary_table(results).splitlines()[-1]
    assert row == (f"| encoder0 | {retrained['test']['top1']:.2f} | {POINTS[1]} | 60.00 | 10.00 | 50.00 +- 40.00 | "
                   "90.00 | 2/2 |")

    stamp = (retrain / "point.json").stat().st_mtime_ns
    assert main([*arguments, "retrain_on_train_val=true"]) == 0  # the key=value form; the retrained point is reused
    assert (retrain / "point.json").stat().st_mtime_ns == stamp
    assert json.loads((output / "results.json").read_text())["encoders"][0]["summary"] == summary
