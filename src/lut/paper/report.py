"""A table's results: each encoder's numbers read from its runs' `summary.json`, beside the paper's, as
TABLE.json, TABLE.md and TABLE.png."""

import json
import statistics
from pathlib import Path
from typing import Any

from lut.launch.graph import Graph
from lut.paper.figure import plot
from lut.paper.robustness import ROBUSTNESS
from lut.paper.robustness_table import collect_robustness, robustness_markdown
from lut.paper.scale import PaperScale
from lut.paper.tables import EVALUATIONS, TableSpec, evaluation_node, paper_numbers
from lut.paper.transfer_report import write_transfer_table
from lut.runtime.files import write_json


def read_metric(summary_path: Path, keys: tuple[str, ...]) -> float | None:
    """The number at `keys` in a finished run's summary, or None when the run has not finished."""
    if not summary_path.is_file():
        return None
    value: Any = json.loads(summary_path.read_text())
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return None if value is None else float(value)


def collect(table: TableSpec, scale: PaperScale, graph: Graph, encoders: list[str]) -> dict[str, Any]:
    """The table's results (its rows, then the extra `encoders`):
    {"rows": {encoder: {evaluation: {"values", "seeds", "mean", "std", "paper"}}}, ...}."""
    paper = paper_numbers(table.name)
    rows: dict[str, dict[str, Any]] = {}
    for encoder in [*(row.name for row in table.pretrainings), *encoders]:
        for kind in table.evaluations:
            entry = rows.setdefault(encoder, {}).setdefault(kind, {"values": [], "seeds": []})
            for seed in scale.seeds:
                node = graph.node(evaluation_node(table, kind, encoder, seed))
                value = read_metric(node.output / node.done_file, EVALUATIONS[kind].metric)
                if value is not None:
                    entry["values"].append(value)
                    entry["seeds"].append(seed)
    for encoder, evaluations in rows.items():
        for kind, entry in evaluations.items():
            values = entry["values"]
            entry["mean"] = statistics.fmean(values) if values else None
            entry["std"] = statistics.stdev(values) if len(values) > 1 else None
            entry["paper"] = paper.get(kind, {}).get(scale.compare_with, {}).get(encoder)
    sources = {kind: paper[kind]["source"] for kind in table.evaluations if kind in paper}
    return {"table": table.name, "title": table.title, "scale": scale.name, "description": scale.description,
            "seeds": list(scale.seeds), "paper_architecture": scale.compare_with,
            "evaluations": list(table.evaluations),
            "labels": {kind: EVALUATIONS[kind].label for kind in table.evaluations}, "paper_sources": sources,
            "rows": rows}


def cell(entry: dict[str, Any] | None) -> str:
    """"mean ± std (n)", the single value, or "-" when nothing has finished."""
    if not entry or entry["mean"] is None:
        return "-"
    if entry["std"] is None:
        return f"{entry['mean']:.2f}"
    return f"{entry['mean']:.2f} ± {entry['std']:.2f} ({len(entry['values'])} seeds)"


def markdown(results: dict[str, Any]) -> str:
    """The table in markdown: one row per encoder, measured and paper columns per evaluation, then the sources."""
    header = ["encoder"]
    for kind in results["evaluations"]:
        header += [f"{results['labels'][kind]}", f"paper ({results['paper_architecture']})"]
    lines = [f"# {results['table']}: {results['title']}", "",
             f"Scale `{results['scale']}`: {results['description']}; seeds {results['seeds']}.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for encoder, evaluations in results["rows"].items():
        cells = [encoder]
        for kind in results["evaluations"]:
            entry = evaluations.get(kind)
            paper = entry.get("paper") if entry else None
            cells += [cell(entry), "-" if paper is None else f"{paper:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Paper numbers:"]
    lines += [f"- {results['labels'][kind]}: {source}" for kind, source in results["paper_sources"].items()]
    return "\n".join(lines) + "\n"


def write_table(table: TableSpec, scale: PaperScale, graph: Graph, encoders: list[str]) -> dict[str, Path]:
    """Write ROOT/TABLE.json, ROOT/TABLE.md and ROOT/TABLE.png (rows of `table`, then the extra `encoders`);
    returns their paths."""
    if table.transfer:
        return write_transfer_table(table, scale, graph, encoders)
    robustness = ROBUSTNESS in table.evaluations  # Table 5: many columns from one run per encoder
    results = (collect_robustness if robustness else collect)(table, scale, graph, encoders)
    paths = {suffix: graph.root / f"{table.name}.{suffix}" for suffix in ("json", "md", "png")}
    write_json(results, paths["json"])
    paths["md"].write_text((robustness_markdown if robustness else markdown)(results))
    plot(results, paths["png"])
    return paths
