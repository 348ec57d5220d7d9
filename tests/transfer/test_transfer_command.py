"""`lut transfer` end to end on a tiny tree: outputs, reuse of finished points, resumption, bad input."""

import json
import logging
import shutil

import pytest
from PIL import Image

from lut.cli import main
from lut.errors import NonFiniteLossError
from lut.evaluation.supervised import SupervisedRun
from lut.transfer.report import summary_table

TINY = ["img_size=16", "crop_pct=1.0", "epochs=2", "warmup_epochs=0", "batch_size=10", "num_workers=0", "device=cpu",
        "auto_augment=", "mixup=0", "cutmix=0", "reprob=0", "drop_path=0"]


def transfer_arguments(encoders, data, output, *extra) -> list[str]:
    # Settings right after the labels: argparse hands them to --labels, the command takes them back.
    return ["transfer", "--data", str(data), "--grid", "lr=1e-3,3e-2", "--grid", "weight_decay=0.05", "--output",
            str(output), "--checkpoint", *map(str, encoders), "--labels", "A", "B", *TINY, *extra]


def point_files(output):
    return sorted(output.glob("*/*/point.json"))


def test_grid_runs_reuses_and_resumes(random_encoders, bright_dark, tmp_path, monkeypatch, caplog, capsys):
    output = tmp_path / "grid"
    original = SupervisedRun.train_step

    def interrupt_last_point(self):
        if self.step == self.steps_per_epoch and "lr=0.03" in str(self.output_dir) and "/B/" in str(self.output_dir):
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(SupervisedRun, "train_step", interrupt_last_point)
    assert main(transfer_arguments(random_encoders, bright_dark, output)) == 130
    assert len(point_files(output)) == 3  # the fourth point stopped after its first epoch
    monkeypatch.setattr(SupervisedRun, "train_step", original)
    stamps = {path: path.stat().st_mtime_ns for path in point_files(output)}
    capsys.readouterr()

    with caplog.at_level(logging.INFO, logger="lut"):
        assert main(transfer_arguments(random_encoders, bright_dark, output)) == 0
    printed = capsys.readouterr().out
    assert "3 finished, 1 to run" in printed and "resumed from" in printed and "at epoch 1" in printed
    assert sum("reusing the finished point" in message for message in caplog.messages) == 3
    assert {path: path.stat().st_mtime_ns for path in stamps} == stamps  # finished points were not run again

    results = json.loads((output / "results.json").read_text())
    assert set(results) == {"data", "metric", "grid", "notes", "encoders"}
    assert results["grid"] == {"lr": [0.001, 0.03], "weight_decay": [0.05]} and results["metric"] == "top1"
    for encoder in results["encoders"]:
        points = encoder["points"]
        assert [point["point"] for point in points] == [{"lr": 0.001, "weight_decay": 0.05},
                                                        {"lr": 0.03, "weight_decay": 0.05}]
        assert all(set(point["test"]) == {"top1", "class_mean"} and point["epochs"] == 2 for point in points)
        vals = [point["val"]["top1"] for point in points]
        tests = [point["test"]["top1"] for point in points]
        chosen = vals.index(max(vals))
        summary = encoder["summary"]
        assert summary["selected_test"] == tests[chosen] and summary["mean"] == pytest.approx(sum(tests) / 2)
        assert summary["std"] == pytest.approx(abs(tests[0] - tests[1]) / 2)
        # 8 test images: every score is a multiple of 12.5 %.
        assert all(score * 8 / 100 == pytest.approx(round(score * 8 / 100)) for score in tests)
    metrics = (output / "B" / "lr=0.03,weight_decay=0.05" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in metrics] == [1, 2]
    assert (output / "results.md").read_text().startswith(summary_table(results).splitlines()[0])
    assert (output / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_parallel_points_match_sequential_ones(random_encoders, bright_dark, tmp_path):
    output = tmp_path / "grid"
    arguments = ["transfer", "--checkpoint", str(random_encoders[0]), "--data", str(bright_dark), "--grid",
                 "lr=1e-3,3e-2", "--grid", "weight_decay=0.05", "--output", str(output), *TINY, "epochs=1"]
    assert main([*arguments, "--jobs", "2"]) == 0
    parallel = json.loads((output / "results.json").read_text())["encoders"][0]["points"]
    for index, name in enumerate(["lr=0.001,weight_decay=0.05", "lr=0.03,weight_decay=0.05"]):
        started = (output / "encoder0" / name / "log.txt").read_text().splitlines()[0]  # its own process
        assert started.endswith(f"-m lut.cli {' '.join(arguments)} --point {index}")
    assert sorted(path.name for path in (output / ".graph").iterdir()) == ["transfer-point0.json",
                                                                          "transfer-point1.json"]
    shutil.rmtree(output / "encoder0" / "lr=0.001,weight_decay=0.05")  # run this point again, in this process
    assert main(arguments) == 0
    sequential = json.loads((output / "results.json").read_text())["encoders"][0]["points"]
    assert sequential[0]["test"] == parallel[0]["test"] and sequential[0]["val"] == parallel[0]["val"]


def test_default_recipe_keeps_the_checkpoints_size_and_an_override_resamples_said(random_encoders, bright_dark,
                                                                                     tmp_path, capsys):
    """The 16 px encoder is fine-tuned at 16 px under the default recipe (which once forced 32 px); img_size=8
    resamples its position table, said in one line."""
    arguments = ["transfer", "--checkpoint", str(random_encoders[0]), "--data", str(bright_dark), "--grid",
                 "lr=1e-3", "--grid", "weight_decay=0.05", *[item for item in TINY if not item.startswith("img_size")],
                 "epochs=1"]
    assert main([*arguments, "--output", str(tmp_path / "native")]) == 0
    point = json.loads(next((tmp_path / "native").glob("*/*/point.json")).read_text())
    assert point["config"]["img_size"] == 0 and "resampled" not in capsys.readouterr().out
    assert main([*arguments, "--output", str(tmp_path / "resampled"), "img_size=8"]) == 0
    assert capsys.readouterr().out.count("position table resampled from 16 px to 8 px (bicubic)") == 1


@pytest.mark.parametrize(("extra", "message"), [
    (["--grid", "lr="], "grid axis 'lr' has no values"),
    (["--grid", "momentum=0.9,0.99"], "grid key 'momentum' is not a fine-tuning setting"),
    (["--labels", "A"], "2 checkpoints but 1 labels"),
    (["--data", "imagenet-z"], "unknown transfer data set 'imagenet-z'"),
    (["epochz=3"], "unknown config key 'epochz'"),
])
def test_bad_input_is_one_line_and_exit_2(random_encoders, bright_dark, tmp_path, capsys, extra, message):
    arguments = ["transfer", "--checkpoint", *map(str, random_encoders), "--data", str(bright_dark),
                 "--output", str(tmp_path / "out"), *TINY, *extra]
    assert main(arguments) == 2
    error = capsys.readouterr().err
    assert message in error and len(error.strip().splitlines()) == 1 and "Traceback" not in error
    assert not (tmp_path / "out" / "results.json").exists()


def test_folder_in_no_known_layout_exits_2(random_encoders, tmp_path, capsys):
    (tmp_path / "flat").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "flat" / "loose.png")  # images without classes
    assert main(["transfer", "--checkpoint", str(random_encoders[0]), "--data", str(tmp_path / "flat"), *TINY]) == 2
    assert ("is in none of the known layouts (no split folders, no labelled training images); expected one folder of "
            "images per class"
            in capsys.readouterr().err)


def test_a_diverged_point_is_recorded_and_left_out(random_encoders, bright_dark, tmp_path, monkeypatch):
    output = tmp_path / "grid"

    def diverge_at_high_lr(self):
        if "lr=0.03" in str(self.output_dir):
            raise NonFiniteLossError("loss became nan in epoch 1; lower the lr")
        return original(self)

    original = SupervisedRun.train_step
    monkeypatch.setattr(SupervisedRun, "train_step", diverge_at_high_lr)
    arguments = ["transfer", "--checkpoint", str(random_encoders[0]), "--data", str(bright_dark), "--grid",
                 "lr=1e-3,3e-2", "--grid", "weight_decay=0.05", "--output", str(output), *TINY, "epochs=1"]
    assert main(arguments) == 0
    encoder = json.loads((output / "results.json").read_text())["encoders"][0]
    assert encoder["points"][1]["error"] == "loss became nan in epoch 1; lower the lr"
    summary = encoder["summary"]
    assert (summary["finished"], summary["failed"], summary["std"]) == (1, 1, 0.0)
    assert summary["selected"] == {"lr": 0.001, "weight_decay": 0.05}
    assert summary["mean"] == encoder["points"][0]["test"]["top1"]
    assert "| 0.03 | diverged |" in (output / "results.md").read_text()
    assert main(arguments) == 0  # the diverged point is a finished point: reused, not run again
