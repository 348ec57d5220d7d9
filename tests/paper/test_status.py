"""`lut paper status` asks SLURM about the submitted runs (stand-in squeue and sacct), or says it cannot; `all`
refuses two tables that would run one node name two ways."""

import os
from importlib import resources

from helpers import stand_in_sbatch
from stand_in_graphs import stand_in_graph

from lut.cli import main
from lut.launch.graph import run_local, submit_graph
from lut.launch.jobs import LaunchSettings


def stand_in_tool(folder, name: str, output: str) -> None:
    """A stand-in `name` on FOLDER/bin that notes its arguments in FOLDER/NAME.args and prints `output`."""
    path = folder / "bin" / name
    path.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {folder}/{name}.args\nprintf "{output}"\n')
    path.chmod(0o755)


def submitted_graph(tmp_path, monkeypatch):
    """Table 1's tiny graph submitted to a stand-in sbatch: jobs 4242_0, 4242_1 (the pre-trainings), 4243-4248."""
    stand_in_sbatch(tmp_path, monkeypatch)
    graph = stand_in_graph(tmp_path / "run")
    submit_graph(graph, LaunchSettings(cluster="slurm", logs=tmp_path / "logs", gpus_per_node=1))
    return graph


def test_status_shows_slurms_state_of_each_submitted_run(tmp_path, monkeypatch, capsys):
    graph = submitted_graph(tmp_path, monkeypatch)
    stand_in_tool(tmp_path, "squeue", "4242_1 RUNNING\\n4243 PENDING\\n4244 PENDING\\n")
    stand_in_tool(tmp_path, "sacct", "4242_0|COMPLETED\\n4245|FAILED\\n4246|CANCELLED by 1000\\n4246.batch|FAILED\\n")
    (graph.node("pretrain-lut-seed0").output / "summary.json").parent.mkdir(parents=True)
    (graph.node("pretrain-lut-seed0").output / "summary.json").write_text("{}")
    assert main(["paper", "status", str(graph.root), "--tables", "false"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "pretrain-lut-seed0  done",
        "pretrain-mae-seed0  RUNNING (job 4242_1)",
        "finetune-lut-seed0  PENDING (job 4243)",
        "finetune-mae-seed0  PENDING (job 4244)",
        "linprobe-lut-seed0  FAILED (job 4245)",
        "linprobe-mae-seed0  CANCELLED (job 4246)",
        "segment-lut-seed0   submitted (job 4247, unknown to SLURM)",
        "segment-mae-seed0   submitted (job 4248, unknown to SLURM)",
        "1 CANCELLED, 1 FAILED, 2 PENDING, 1 RUNNING, 1 done, 2 submitted"]
    # One squeue call for every submitted job, one sacct call for those it did not list.
    assert (tmp_path / "squeue.args").read_text() == "-h -r -j 4242_1,4243,4244,4245,4246,4247,4248 -o %i %T\n"
    assert (tmp_path / "sacct.args").read_text() == "-n -X -P -j 4245,4246,4247,4248 -o JobID,State\n"


def test_without_squeue_status_says_so_once_and_shows_the_recorded_states(tmp_path, monkeypatch, capsys):
    graph = submitted_graph(tmp_path, monkeypatch)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))  # sbatch and srun only
    assert main(["paper", "status", str(graph.root), "--tables", "false"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == ("squeue is not on this machine's PATH: the states are those recorded when the jobs were "
                          "submitted")
    assert printed[1:3] == ["pretrain-lut-seed0  submitted (job 4242_0)", "pretrain-mae-seed0  submitted (job 4242_1)"]
    assert printed[-1] == "8 submitted" and len(printed) == 10


def test_a_local_run_asks_nothing_of_slurm(tmp_path, monkeypatch, capsys, stand_in):
    graph = stand_in_graph(tmp_path / "run")
    run_local(graph, jobs=2)
    tools = tmp_path / "tools"
    (tools / "bin").mkdir(parents=True)
    stand_in_tool(tools, "squeue", "")
    monkeypatch.setenv("PATH", f"{tools / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert main(["paper", "status", str(graph.root), "--tables", "false"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "8 done"
    assert not (tools / "squeue.args").exists()


def test_all_refuses_two_tables_running_one_node_two_ways(tmp_path, capsys):
    scale = tmp_path / "scale.yaml"
    text = (resources.files("lut.paper.scales") / "tiny.yaml").read_text()
    scale.write_text(text + "table_pretrain:\n  table5: {max_steps: 4}\n")
    assert main(["paper", "all", "--scale", str(scale), "--root", str(tmp_path / "run"), "--dry-run"]) == 2
    assert capsys.readouterr().err == (
        "lut: error: table1 and table5 both run pretrain-lut-seed0, with different settings (a table_pretrain entry "
        "of the scale for one of them?): run each with its own --root\n")
    assert main(["paper", "table5", "--scale", str(scale), "--root", str(tmp_path / "run"), "--dry-run"]) == 0
