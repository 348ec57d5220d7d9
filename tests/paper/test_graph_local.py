"""Table 1's graph run as local processes with stand-in nodes: tables written, reuse, resume after a kill, a failed
node stopping only its dependants."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

from stand_in_graphs import stand_in_graph

from lut.launch.graph import node_states, run_local, write_manifest
from lut.paper.report import write_table
from lut.paper.scale import load_scale
from lut.paper.tables import TABLES

NODES = ["pretrain-lut-seed0", "pretrain-mae-seed0", "finetune-lut-seed0", "finetune-mae-seed0",
         "linprobe-lut-seed0", "linprobe-mae-seed0", "segment-lut-seed0", "segment-mae-seed0"]


def calls(path) -> list[str]:
    return path.read_text().splitlines()


def test_graph_runs_every_node_writes_the_table_and_a_second_run_reuses_all(tmp_path, stand_in):
    graph = stand_in_graph(tmp_path / "run", seeds=(0, 1))
    report = run_local(graph, jobs=2)
    assert sorted(report.ran) == sorted(node.name for node in graph.nodes) and len(report.ran) == 16
    assert report.failed == {} and report.stopped == {} and report.reused == []
    scale = dataclasses.replace(load_scale("tiny"), seeds=(0, 1))
    paths = write_table(TABLES["table1"], scale, graph, [])
    results = json.loads(paths["json"].read_text())
    lut = results["rows"]["lut"]
    assert lut["finetune"]["values"] == [50.0, 51.0] and lut["finetune"]["mean"] == 50.5
    assert abs(lut["finetune"]["std"] - 0.5 ** 0.5) < 1e-12
    assert (lut["finetune"]["paper"], lut["linprobe"]["paper"], lut["segment"]["paper"]) == (84.2, 67.9, 49.5)
    assert results["rows"]["mae"]["linprobe"]["values"] == [40.0, 42.0]
    assert results["rows"]["mae"]["segment"]["paper"] == 48.1
    table = paths["md"].read_text().splitlines()
    assert table[6] == ("| lut | 50.50 ± 0.71 (2 seeds) | 84.2 | 41.00 ± 1.41 (2 seeds) | 67.9 | "
                        "30.00 ± 0.00 (2 seeds) | 49.5 |")
    assert paths["png"].stat().st_size > 1000
    first = calls(stand_in)
    assert len(first) == 16
    again = run_local(graph, jobs=2)
    assert again.ran == [] and len(again.reused) == 16 and calls(stand_in) == first


def test_a_killed_graph_reruns_only_its_unfinished_nodes_which_resume(tmp_path, stand_in, monkeypatch):
    graph = stand_in_graph(tmp_path / "run")
    write_manifest(graph)
    driver = ("import sys; from pathlib import Path; from lut.launch.graph import load_manifest, run_local; "
              "run_local(load_manifest(Path(sys.argv[1])), jobs=1)")
    environment = {**os.environ, "STAND_IN_SLEEP": "finetune-lut-seed0:60",
                   "PYTHONPATH": os.pathsep.join([os.environ["PYTHONPATH"], *sys.path])}
    process = subprocess.Popen([sys.executable, "-c", driver, str(graph.root)], env=environment,
                               start_new_session=True)
    started = graph.node("finetune-lut-seed0").output / "started"
    deadline = time.monotonic() + 120
    while not started.is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    states = node_states(graph)
    assert states == {**{name: "waiting" for name in NODES}, "pretrain-lut-seed0": "done",
                      "pretrain-mae-seed0": "done", "finetune-lut-seed0": "interrupted"}
    assert calls(stand_in) == ["pretrain-lut-seed0", "pretrain-mae-seed0", "finetune-lut-seed0"]
    report = run_local(graph, jobs=1)
    assert report.reused == ["pretrain-lut-seed0", "pretrain-mae-seed0"] and report.ran == NODES[2:]
    assert calls(stand_in)[3:] == ["finetune-lut-seed0 resumed", *NODES[3:]]


def test_a_failed_node_stops_only_its_dependants_and_the_report_says_why(tmp_path, stand_in, monkeypatch):
    monkeypatch.setenv("STAND_IN_FAIL", "pretrain-mae-seed0")
    graph = stand_in_graph(tmp_path / "run")
    report = run_local(graph, jobs=2)
    assert sorted(report.ran) == sorted(name for name in NODES if "-lut-" in name)
    log = graph.node("pretrain-mae-seed0").output / "log.txt"
    assert report.failed == {"pretrain-mae-seed0": f"exit 3, log {log}: $ {sys.executable} -m stand_in_lut "
                             f"{' '.join(graph.node('pretrain-mae-seed0').command)} | stand-in failure in "
                             "pretrain-mae-seed0"}
    assert report.stopped == {name: "pretrain-mae-seed0" for name in NODES[3::2]}
    assert report.lines()[0] == "graph: 0 reused, 4 ran, 1 failed, 3 stopped"
    states = node_states(graph)
    assert states["pretrain-mae-seed0"] == "failed (exit 3)" and states["segment-mae-seed0"] == "stopped"
    assert states["segment-lut-seed0"] == "done"


def test_an_extra_encoder_is_evaluated_as_its_own_row_without_a_pretraining(tmp_path, stand_in):
    from lut.launch.graph import Graph
    from lut.paper.plan import build_graph

    checkpoint = tmp_path / "released.pth"
    checkpoint.write_bytes(b"")
    built = build_graph(TABLES["table1"], load_scale("tiny"), tmp_path / "run", {"released": str(checkpoint)}, {})
    graph = Graph(built.root, built.nodes, "stand_in_lut")
    extra = [node for node in graph.nodes if "released" in node.name]
    assert [(node.name, node.after) for node in extra] == [
        ("finetune-released-seed0", ()), ("linprobe-released-seed0", ()), ("segment-released-seed0", ())]
    assert extra[0].command[:6] == ("finetune", "--recipe", "small", "--checkpoint", str(checkpoint), "--output")
    assert len(run_local(graph, jobs=2).ran) == 11
    results = json.loads(write_table(TABLES["table1"], load_scale("tiny"), graph, ["released"])["json"].read_text())
    assert list(results["rows"]) == ["lut", "mae", "released"]
    assert results["rows"]["released"]["finetune"] == {"values": [50.0], "seeds": [0], "mean": 50.0, "std": None,
                                                       "paper": None}


def test_an_encoder_without_its_file_is_one_line_and_exit_2(tmp_path, capsys):
    from lut.cli import main

    assert main(["paper", "table1", "--scale", "tiny", "--root", str(tmp_path), "--encoder",
                 f"released={tmp_path}/missing.pth", "--dry-run"]) == 2
    assert capsys.readouterr().err == f"lut: error: --encoder released: no file {tmp_path}/missing.pth\n"
