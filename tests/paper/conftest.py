"""Graphs of table 1 at the tiny scale whose nodes run the fast stand-in `stand_in_lut`."""

import dataclasses
import os
from pathlib import Path

import pytest

from lut.launch.graph import Graph
from lut.paper.plan import build_graph
from lut.paper.scale import load_scale
from lut.paper.tables import TABLES

HERE = Path(__file__).parent


@pytest.fixture
def stand_in(tmp_path, monkeypatch) -> Path:
    """Processes find `stand_in_lut`; returns the file its calls are noted in."""
    calls = tmp_path / "calls.txt"
    calls.write_text("")
    monkeypatch.setenv("PYTHONPATH", f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    monkeypatch.setenv("STAND_IN_CALLS", str(calls))
    return calls


def stand_in_graph(root: Path, seeds: tuple[int, ...] = (0,)) -> Graph:
    """Table 1's tiny graph under `root`, run by the stand-in."""
    scale = dataclasses.replace(load_scale("tiny"), seeds=seeds)
    graph = build_graph(TABLES["table1"], scale, root, {}, {})
    return Graph(graph.root, graph.nodes, "stand_in_lut")
