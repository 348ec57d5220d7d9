"""Graphs of table 1 at the tiny scale whose nodes run the fast stand-in `stand_in_lut` (imported by name: a
`conftest` import would find whichever conftest.py was collected first)."""

import dataclasses
from pathlib import Path

from lut.launch.graph import Graph
from lut.paper.plan import build_graph
from lut.paper.scale import load_scale
from lut.paper.tables import TABLES


def stand_in_graph(root: Path, seeds: tuple[int, ...] = (0,)) -> Graph:
    """Table 1's tiny graph under `root`, run by the stand-in."""
    scale = dataclasses.replace(load_scale("tiny"), seeds=seeds)
    graph = build_graph(TABLES["table1"], scale, root, {}, {})
    return Graph(graph.root, graph.nodes, "stand_in_lut")
