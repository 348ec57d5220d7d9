"""A grid as a job array: `lut transfer --point I` runs one run, `lut launch local -- transfer` runs every run as an
array task and then the summary, `lut launch slurm -- transfer` asks SLURM for an array and a summary after it."""

import json
import pickle
from pathlib import Path

import pytest
import torch
from helpers import stand_in_sbatch
from test_transfer_command import TINY

from lut.cli import main
from lut.launch.graph import GraphReport
from lut.launch.transfer_grid import failed_runs_message, grid_nodes, point_nodes, spread_devices

POINTS = ["lr=0.001,weight_decay=0.05", "lr=0.03,weight_decay=0.05"]


def grid_arguments(encoder: Path, data: Path, output: Path) -> list[str]:
    return ["transfer", "--checkpoint", str(encoder), "--data", str(data), "--grid", "lr=1e-3,3e-2", "--grid",
            "weight_decay=0.05", "--output", str(output), *TINY, "epochs=1"]


def started_command(log: str) -> str:
    """The command line a job's log says its node started."""
    return next(line for line in log.splitlines() if line.startswith("node "))


def test_point_out_of_range_is_one_line_and_exit_2(random_encoders, bright_dark, tmp_path, capsys):
    arguments = grid_arguments(random_encoders[0], bright_dark, tmp_path / "grid")
    assert main([*arguments, "--checkpoint", *map(str, random_encoders), "--point", "4"]) == 2
    error = capsys.readouterr().err
    assert error == ("lut: error: --point 4 is out of range: this grid has 4 runs (2 encoder(s) x 2 grid points), "
                     "numbered 0..3\n")
    assert not (tmp_path / "grid").exists()


@pytest.mark.slow
def test_local_array_runs_every_point_once_then_the_summary_reuses_them(random_encoders, bright_dark, tmp_path,
                                                                        capsys):
    output = tmp_path / "grid"
    arguments = grid_arguments(random_encoders[0], bright_dark, output)
    assert main(["launch", "local", "--logs", str(tmp_path / "logs"), "--", *arguments]) == 0
    printed = capsys.readouterr().out
    assert printed.rstrip().endswith("ran local array of 2 tasks (1 node x 1 process(es) each; logs in "
                                     f"{tmp_path / 'logs'}) and the summary job: 3 finished, 0 reused")
    logs = [path.read_text() for path in (tmp_path / "logs").glob("*_log.out")]
    task_logs = [text for text in logs if "--point" in started_command(text)]
    assert len(logs) == 3 and len(task_logs) == 2
    for index, name in enumerate(POINTS):
        task_log = next(text for text in task_logs if started_command(text).endswith(f"--point {index}"))
        assert f"run {index} of 2: 0 finished, 1 to run" in task_log
        assert f"run {index} of 2 finished: {output / 'encoder0' / name / 'point.json'}" in task_log
    summary_log = next(text for text in logs if "--point" not in started_command(text))
    assert "2 grid points x 1 encoder, 2 finished, 0 to run" in summary_log
    results = json.loads((output / "results.json").read_text())
    for name, point in zip(POINTS, results["encoders"][0]["points"], strict=True):
        assert point == json.loads((output / "encoder0" / name / "point.json").read_text())
        assert point["epochs"] == 1
    assert (output / "grid.png").is_file()


def test_slurm_array_of_the_runs_and_a_summary_job_after_it(random_encoders, bright_dark, tmp_path, monkeypatch,
                                                            capsys):
    stand_in_sbatch(tmp_path, monkeypatch)
    logs, output = tmp_path / "logs", tmp_path / "grid"
    arguments = grid_arguments(random_encoders[0], bright_dark, output)
    assert main(["launch", "slurm", "--gpus-per-node", "2", "--time", "30", "--logs", str(logs), "--",
                 *arguments]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"submitted slurm array of 2 tasks (4242_0 ..., 1 node x 2 process(es) each; logs in {logs}) and summary job "
        "4243 after it")
    array, summary = ((tmp_path / f"script{index}.sh").read_text().splitlines() for index in (0, 1))
    for line in ("#SBATCH --array=0-1%2", "#SBATCH --gpus-per-node=2", "#SBATCH --nodes=1", "#SBATCH --requeue",
                 "#SBATCH --time=30"):
        assert line in array and (line in summary) != line.startswith("#SBATCH --array")
    assert "#SBATCH --dependency=afterok:4242" in summary
    assert not any(line.startswith("#SBATCH --dependency") for line in array)
    commands = [pickle.loads((logs / f"{job}_submitted.pkl").read_bytes()).function.command
                for job in ("4242_0", "4242_1", "4243")]
    assert commands == [[*arguments, "--point", "0"], [*arguments, "--point", "1"], arguments]
    assert not output.exists()  # nothing ran here

    finished = output / "encoder0" / POINTS[0]
    finished.mkdir(parents=True)
    (finished / "point.json").write_text("{}")
    assert main(["launch", "slurm", "--time", "30", "--logs", str(logs), "--", *arguments]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"submitted slurm array of 1 task (4244 ..., 1 node x 1 process(es) each; logs in {logs}) and summary job "
        "4245 after it; 1 finished run reused")
    assert pickle.loads((logs / "4244_submitted.pkl").read_bytes()).function.command == [*arguments, "--point",
                                                                                           "1"]


@pytest.mark.parametrize(("launch", "extra", "message"), [
    (["local"], ["--point", "0"], "lut launch gives every array task its own --point: drop --point from the transfer "
                                  "command"),
    (["local"], ["epochz=1"], "unknown config key 'epochz'"),
    (["slurm", "--nodes", "2"], [], "an array task fine-tunes one run on one node: drop --nodes (use "
                                    "--gpus-per-node)"),
])
def test_launch_refuses_a_bad_transfer_grid_before_submitting(random_encoders, bright_dark, tmp_path, capsys, launch,
                                                              extra, message):
    arguments = grid_arguments(random_encoders[0], bright_dark, tmp_path / "grid")
    assert main(["launch", *launch, "--logs", str(tmp_path / "logs"), "--", *arguments, *extra]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"lut: error: {message}") and len(error.splitlines()) == 1
    assert not (tmp_path / "logs").exists() and not (tmp_path / "grid").exists()


def test_the_grid_graph_is_one_array_of_runs_then_the_summary(tmp_path):
    command = ["transfer", "--checkpoint", "a.pth", "b.pth", "--labels", "A", "B", "--data", "cifar10"]
    nodes = grid_nodes(command, tmp_path, ["A", "B"], {"lr": [0.001, 0.03], "weight_decay": [0.05]}, "grid",
                       after=("pretrain",), gpu_hours=0.5)
    assert [node.name for node in nodes] == ["grid-point0", "grid-point1", "grid-point2", "grid-point3",
                                             "grid-summary"]
    assert [node.output for node in nodes] == [tmp_path / label / name for label in "AB" for name in POINTS] + [
        tmp_path]
    assert [node.done_file for node in nodes] == ["point.json"] * 4 + ["results.json"]
    assert [node.array for node in nodes] == ["grid-points"] * 4 + [""]
    assert [node.gpu_hours for node in nodes] == [0.5] * 4 + [0.0]
    assert nodes[3].command == (*command, "--point", "3") and nodes[3].after == ("pretrain",)
    assert nodes[4].command == tuple(command) and nodes[4].after == tuple(f"grid-point{index}" for index in range(4))


def test_a_failed_run_is_named_with_its_log_and_no_summary_is_written():
    report = GraphReport(ran=["grid-point0"], failed={"grid-point1": "exit 1, log p1/log.txt: boom"},
                         stopped={"grid-summary": "grid-point1"})
    assert failed_runs_message(report, 2) == (
        "1 of 2 runs failed: grid-point1 (exit 1, log p1/log.txt: boom); no summary was written (run the same "
        "command again: finished runs are reused)")


def test_with_several_gpus_the_runs_of_lut_transfer_jobs_take_them_in_turn(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert spread_devices("auto") == spread_devices("cuda") == ["cuda:0", "cuda:1"]
    assert spread_devices("cpu") == spread_devices("cuda:1") == []
    nodes = point_nodes(["transfer"], tmp_path, ["A"], {"lr": [0.1, 0.2, 0.3]}, "t", devices=spread_devices("auto"))
    assert [node.command for node in nodes] == [("transfer", "device=cuda:0", "--point", "0"),
                                                ("transfer", "device=cuda:1", "--point", "1"),
                                                ("transfer", "device=cuda:0", "--point", "2")]
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert spread_devices("auto") == []
