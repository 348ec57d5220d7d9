"""Table 5's results: each encoder's robustness columns read from its `lut robustness` run, beside the paper's.

The rows' entries have the shape of the other tables' (`values`, `seeds`, `mean`, `std`, `paper`), one per
column, so that the same figure draws them; the markdown is laid out as the paper's Table 5, followed by the whole
of the paper's table (its other methods included).
"""

import statistics
from typing import Any

from lut.launch.graph import Graph
from lut.paper.robustness import ROBUSTNESS, read_columns, suite
from lut.paper.scale import PaperScale
from lut.paper.tables import TableSpec, evaluation_node, paper_numbers


def paper_table(scale: PaperScale) -> dict[str, dict[str, float]]:
    """The paper's Table 5 at the scale's `compare_with` architecture: {method: {column: value}}."""
    numbers = paper_numbers("table5")
    return {method: dict(zip(numbers["columns"], values, strict=True))
            for method, values in numbers.get(scale.compare_with, {}).items()}


def collect_robustness(table: TableSpec, scale: PaperScale, graph: Graph, encoders: list[str]) -> dict[str, Any]:
    """The table's results (its rows, then the extra `encoders`):
    {"rows": {encoder: {column: {"values", "seeds", "mean", "std", "paper"}}}, "paper_table": ..., ...}."""
    columns = suite(scale.stages[ROBUSTNESS].recipe).columns
    paper = paper_table(scale)
    rows: dict[str, dict[str, Any]] = {}
    for encoder in [*(row.name for row in table.pretrainings), *encoders]:
        entries = {column.label: {"values": [], "seeds": []} for column in columns}
        for seed in scale.seeds:
            node = graph.node(evaluation_node(table, ROBUSTNESS, encoder, seed))
            measured = read_columns(node.output / node.done_file, encoder, columns)
            for label, value in (measured or {}).items():
                entries[label]["values"].append(value)
                entries[label]["seeds"].append(seed)
        for column in columns:
            values = entries[column.label]["values"]
            entries[column.label].update(
                mean=statistics.fmean(values) if values else None,
                std=statistics.stdev(values) if len(values) > 1 else None,
                paper=paper.get(encoder, {}).get(column.paper_column))
        rows[encoder] = entries
    labels = [column.label for column in columns]
    return {"table": table.name, "title": table.title, "scale": scale.name, "description": scale.description,
            "seeds": list(scale.seeds), "paper_architecture": scale.compare_with,
            "suite": scale.stages[ROBUSTNESS].recipe, "evaluations": labels,
            "labels": {label: label for label in labels},
            "paper_columns": {column.label: column.paper_column for column in columns},
            "paper_sources": {ROBUSTNESS: paper_numbers("table5")["source"]}, "rows": rows, "paper_table": paper}


def value_text(entry: dict[str, Any]) -> str:
    """"mean ± std (n seeds)", the single value, or "-" when no run has finished."""
    if entry["mean"] is None:
        return "-"
    spread = "" if entry["std"] is None else f" ± {entry['std']:.1f} ({len(entry['values'])} seeds)"
    return f"{entry['mean']:.1f}{spread}"


def robustness_markdown(results: dict[str, Any]) -> str:
    """Each encoder's measured row and, under it, the paper's numbers in the columns they stand for; then the
    paper's whole Table 5."""
    labels = results["evaluations"]
    architecture = results["paper_architecture"]
    lines = [f"# {results['table']}: {results['title']}", "",
             f"Scale `{results['scale']}`: {results['description']}; seeds {results['seeds']}; benchmark suite "
             f"`{results['suite']}`.", "",
             "| encoder | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    for encoder, entries in results["rows"].items():
        lines.append(f"| {encoder} | " + " | ".join(value_text(entries[label]) for label in labels) + " |")
        paper = [entries[label]["paper"] for label in labels]
        if any(value is not None for value in paper):
            lines.append(f"| {encoder}: paper ({architecture}) | "
                         + " | ".join("-" if value is None else f"{value:.1f}" for value in paper) + " |")
    stand_ins = {label: column for label, column in results["paper_columns"].items() if label != column}
    if stand_ins:
        lines += ["", "The paper's numbers beside " + ", ".join(f"{label}" for label in stand_ins) + " are its "
                  + ", ".join(stand_ins.values()) + " columns, which these stand in for."]
    paper = results["paper_table"]
    if paper:
        columns = list(next(iter(paper.values())))
        lines += ["", f"The paper's Table 5 ({architecture}):", "", "| method | " + " | ".join(columns) + " |",
                  "|---|" + "---:|" * len(columns)]
        lines += [f"| {method} | " + " | ".join(f"{values[column]:.1f}" for column in columns) + " |"
                  for method, values in paper.items()]
    lines += ["", f"Paper numbers: {results['paper_sources'][ROBUSTNESS]}"]
    return "\n".join(lines) + "\n"
