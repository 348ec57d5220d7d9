"""Results of a robustness run: one JSON with every number, a Table 5-shaped Markdown table, per-factor curves."""

import dataclasses
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lut.runtime.files import write_json  # noqa: E402

RESULTS_FILE = "results.json"
TABLE_FILE = "table.md"
CURVES_FILE = "curves.png"


def markdown_table(benchmarks: list, results: dict[str, dict]) -> str:
    """One row per checkpoint, one column per benchmark metric, in Table 5's order (numbers in %)."""
    columns = [(label, benchmark.name, key) for benchmark in benchmarks for label, key in benchmark.columns.items()]
    lines = ["| checkpoint | " + " | ".join(label for label, _, _ in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for checkpoint, result in results.items():
        cells = [result["benchmarks"][name][key] for _, name, key in columns]
        lines.append(f"| {checkpoint} | " + " | ".join("-" if math.isnan(cell) else f"{cell:.1f}" for cell in cells)
                     + " |")
    return "\n".join(lines) + "\n"


def plot_curves(benchmarks: list, results: dict[str, dict], path: Path) -> bool:
    """Top-1 against each factor (SI-Score size/location/rotation, shifts, hole sizes), a line per checkpoint.

    Returns:
        Whether there was a curve to draw (no file is written otherwise).
    """
    panels = [(benchmark.name, title, key) for benchmark in benchmarks for title, key in benchmark.curves.items()]
    if not panels:
        return False
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.5 * columns, 3.4 * rows), squeeze=False)
    for axis, (name, title, key) in zip(axes.flat, panels):
        for checkpoint, result in results.items():
            points = result["benchmarks"][name][key]
            axis.plot([point["value"] for point in points], [point["top1"] for point in points], "o-",
                      label=checkpoint)
        axis.set_title(name, fontsize=10)
        axis.set_xlabel(title)
        axis.set_ylabel("top-1 (%)")
        axis.grid(alpha=0.3)
    for axis in list(axes.flat)[len(panels):]:
        axis.set_visible(False)
    axes.flat[0].legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


def write_report(settings: Any, benchmarks: list, results: dict[str, dict]) -> dict[str, Any]:
    """Write results.json, table.md and (when a benchmark has factors) curves.png into the output folder.

    Returns:
        The summary written to results.json, with the paths of the files written.
    """
    output = Path(settings.output_dir).expanduser()
    output.mkdir(parents=True, exist_ok=True)
    table = markdown_table(benchmarks, results)
    (output / TABLE_FILE).write_text(table)
    files = {"results": str(output / RESULTS_FILE), "table": str(output / TABLE_FILE)}
    if plot_curves(benchmarks, results, output / CURVES_FILE):
        files["curves"] = str(output / CURVES_FILE)
    summary = {
        "settings": {key: value for key, value in dataclasses.asdict(settings).items()},
        "notes": sorted({note for benchmark in benchmarks for note in benchmark.notes}),
        "results": results,
        "files": files,
    }
    write_json(summary, output / RESULTS_FILE)
    print(table, end="")
    return summary
