"""A transfer table's results (Tables 2 and 3): per encoder and data set, the best test accuracy over the grid with
mean ± std over the grid, as the paper reports them, read from each grid's `results.json`; then the paper's table
with its competitors. Written as TABLE.json, TABLE.md and TABLE.png."""

import json
import statistics
from pathlib import Path
from typing import Any

from lut.launch.graph import Graph
from lut.paper.figure import plot
from lut.paper.scale import PaperScale
from lut.paper.tables import TableSpec, paper_numbers
from lut.paper.transfer_plan import transfer_stage, transfer_summary_node
from lut.runtime.files import write_json

# The paper's column headings of the data sets it reports.
DATA_SET_LABELS = {"inat2018": "iNat 2018", "inat2019": "iNat 2019", "inat2021_mini": "iNat 2021-mini",
                   "aircraft": "Aircraft", "nabirds": "Birds", "cub200": "CUB-200", "cifar10": "CIFAR-10",
                   "cifar100": "CIFAR-100", "stanford_dogs": "Dogs", "flowers102": "Flowers"}
# What a grid's summary gives, and the name it has in the table.
SUMMARY_KEYS = {"best": "grid_max", "mean": "mean", "std": "std", "selected_test": "selected_test"}


def grid_summary(path: Path) -> dict[str, Any] | None:
    """The first encoder's grid summary in a finished `results.json`, or None (not finished, or no point finished)."""
    if not path.is_file():
        return None
    summary = json.loads(path.read_text())["encoders"][0]["summary"]
    return summary if summary.get("finished") else None


def average_over_seeds(summaries: list[dict[str, Any]]) -> dict[str, float | None]:
    """Each of `SUMMARY_KEYS` averaged over the seeds' grids (None when no grid has finished)."""
    return {name: statistics.fmean(summary[key] for summary in summaries) if summaries else None
            for name, key in SUMMARY_KEYS.items()}


def collect_transfer(table: TableSpec, scale: PaperScale, graph: Graph, encoders: list[str]) -> dict[str, Any]:
    """The table's results: {"rows": {encoder: {data set: {"best", "mean", "std", "selected_test", "seeds",
    "paper"}}}, "paper_rows": the paper's table, ...}."""
    _, data_sets = transfer_stage(scale, table)
    paper = paper_numbers(table.name).get("transfer", {})
    paper_rows = paper.get(scale.compare_with, {})
    rows: dict[str, dict[str, Any]] = {}
    for encoder in [*(row.name for row in table.pretrainings), *encoders]:
        for data_set in data_sets:
            finished = {}
            for seed in scale.seeds:
                node = graph.node(transfer_summary_node(table, encoder, data_set, seed))
                summary = grid_summary(node.output / node.done_file)
                if summary is not None:
                    finished[seed] = summary
            rows.setdefault(encoder, {})[data_set] = {**average_over_seeds(list(finished.values())),
                                                      "seeds": list(finished),
                                                      "paper": paper_rows.get(encoder, {}).get(data_set)}
    return {"table": table.name, "title": table.title, "scale": scale.name, "description": scale.description,
            "seeds": list(scale.seeds), "paper_architecture": scale.compare_with, "data_sets": list(data_sets),
            "labels": {name: DATA_SET_LABELS.get(name, name) for name in data_sets},
            "paper_source": paper.get("source", ""), "rows": rows, "paper_rows": paper_rows}


def transfer_cell(best: float | None, mean: float | None, std: float | None, seeds: int = 1) -> str:
    """"best (mean ± std)" as the paper writes it (", n seeds" when averaged over several), or "-"."""
    if best is None or mean is None or std is None:
        return "-"
    return f"{best:.2f} ({mean:.2f} ± {std:.2f})" + (f", {seeds} seeds" if seeds > 1 else "")


def paper_cell(numbers: list[float] | None) -> str:
    """The paper's [best, mean, std] as it prints them, or "-"."""
    return "-" if numbers is None else f"{numbers[0]:.1f} ({numbers[1]:.1f} ± {numbers[2]:.1f})"


def transfer_markdown(results: dict[str, Any]) -> str:
    """The measured table (a measured and a paper column per data set), then the paper's table with its
    competitors."""
    sets = results["data_sets"]
    header = ["encoder"] + [heading for name in sets
                            for heading in (results["labels"][name], f"paper ({results['paper_architecture']})")]
    lines = [f"# {results['table']}: {results['title']}", "",
             f"Scale `{results['scale']}`: {results['description']}; seeds {results['seeds']}. A cell is the best "
             "test accuracy (%) over the grid, then the mean ± std over the grid, as the paper reports them; "
             f"`selected_test` in {results['table']}.json is the test accuracy of the point selected on validation.",
             "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for encoder, entries in results["rows"].items():
        cells = [encoder]
        for name in sets:
            entry = entries[name]
            cells += [transfer_cell(entry["best"], entry["mean"], entry["std"], len(entry["seeds"])),
                      paper_cell(entry["paper"])]
        lines.append("| " + " | ".join(cells) + " |")
    paper_rows = results["paper_rows"]
    if paper_rows:
        paper_sets = [name for name in DATA_SET_LABELS if any(name in row for row in paper_rows.values())]
        average = any("average" in row for row in paper_rows.values())
        heading = ["method", *(DATA_SET_LABELS[name] for name in paper_sets)] + (["Avg"] if average else [])
        lines += ["", f"The paper's {results['table'].replace('table', 'Table ')} "
                      f"({results['paper_architecture']}; {results['paper_source']}):", "",
                  "| " + " | ".join(heading) + " |", "|" + "---|" * len(heading)]
        for method, row in paper_rows.items():
            cells = [method, *(paper_cell(row.get(name)) for name in paper_sets)]
            cells += [f"{row['average']:.1f}" if "average" in row else "-"] if average else []
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_view(results: dict[str, Any]) -> dict[str, Any]:
    """The results in the shape `lut.paper.figure.plot` draws: one panel per data set, the best accuracy as the
    bar, the spread over the grid as its error bar, the paper's best beside it."""
    rows = {encoder: {name: {"mean": entry["best"], "std": entry["std"],
                             "paper": entry["paper"][0] if entry["paper"] else None}
                      for name, entry in entries.items()} for encoder, entries in results["rows"].items()}
    labels = {name: f"{label}: best over the grid (%)" for name, label in results["labels"].items()}
    return {**results, "evaluations": results["data_sets"], "labels": labels, "rows": rows}


def write_transfer_table(table: TableSpec, scale: PaperScale, graph: Graph, encoders: list[str]) -> dict[str, Path]:
    """Write ROOT/TABLE.json, ROOT/TABLE.md and ROOT/TABLE.png; returns their paths."""
    results = collect_transfer(table, scale, graph, encoders)
    paths = {suffix: graph.root / f"{table.name}.{suffix}" for suffix in ("json", "md", "png")}
    write_json(results, paths["json"])
    paths["md"].write_text(transfer_markdown(results))
    plot(plot_view(results), paths["png"])
    return paths
