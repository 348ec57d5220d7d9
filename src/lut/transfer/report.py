"""What a grid run writes: `results.json`, `results.md` (side-by-side summary and each encoder's grid) and
`grid.png` (one heat map of test scores per encoder, validation scores in brackets, the selected point framed)."""

import itertools
from pathlib import Path
from typing import Any

from lut.runtime.files import write_json
from lut.transfer.grid import format_value, point_name

METRIC_NAMES = {"top1": "top-1 accuracy (%)", "class_mean": "mean per-class accuracy (%)"}
MIN_COLOUR_SPAN = 1.0  # points of the narrowest colour scale of grid.png


def summary_table(results: dict[str, Any]) -> str:
    """The side-by-side Markdown table: one row per encoder.

    With retraining, "best" is the test score of the selected point retrained on training + validation images,
    and the selected point's own test score (trained on the training split) is a column of its own.
    """
    retrained = any("retrained" in encoder for encoder in results["encoders"])
    best = ("test score of the selected point retrained on train + val; its test = the point trained on train"
            if retrained else "test score of the point selected on validation")
    lines = [
        f"{results['data']}, {METRIC_NAMES[results['metric']]}; best = {best}; mean +- std (population) and max over "
        "the grid's test scores",
        "",
        "| encoder | best (retrained on train+val) | selected point | its val | its test | mean +- std | grid max | "
        "points |" if retrained else
        "| encoder | best (selected on val) | selected point | its val | mean +- std | grid max | points |",
        "|---" * (8 if retrained else 7) + "|",
    ]
    for encoder in results["encoders"]:
        summary = encoder["summary"]
        done = f"{summary['finished']}/{summary['finished'] + summary['failed']}"
        if not summary["finished"]:
            lines.append(f"| {encoder['label']} | - | - | - |{' - |' if retrained else ''} - | - | {done} |")
            continue
        cells = [f"{summary['selected_test']:.2f}", point_name(summary["selected"]), f"{summary['selected_val']:.2f}"]
        if retrained:
            headline = summary.get("retrained_test")
            cells = [f"{headline:.2f}" if headline is not None else "diverged", *cells[1:], cells[0]]
        lines.append(f"| {encoder['label']} | {' | '.join(cells)} | {summary['mean']:.2f} +- {summary['std']:.2f} | "
                     f"{summary['grid_max']:.2f} | {done} |")
    return "\n".join(lines)


def grid_axes(grid: dict[str, list]) -> tuple[str, list[str], list[str]]:
    """Rows = the first axis, columns = the other axes' combinations (their point names)."""
    first, *others = list(grid)
    rows = [format_value(value) for value in grid[first]]
    columns = [point_name(dict(zip(others, values))) for values in itertools.product(*(grid[key] for key in others))]
    return first, rows, columns


def point_cell(point: dict[str, Any], metric: str) -> str:
    """"test (val)", or "diverged"."""
    if "test" not in point:
        return "diverged"
    return f"{point['test'][metric]:.2f} ({point['val'][metric]:.2f})"


def grid_table(encoder: dict[str, Any], grid: dict[str, list], metric: str) -> str:
    """One encoder's grid as a Markdown table of "test (val)" cells."""
    first, rows, columns = grid_axes(grid)
    cells = [point_cell(point, metric) for point in encoder["points"]]
    width = len(columns)
    header = f"| {first} | {' | '.join(column or 'score' for column in columns)} |"
    lines = [f"{encoder['label']}: test (val) per point", "", header, "|---" * (width + 1) + "|"]
    for index, row in enumerate(rows):
        lines.append(f"| {row} | {' | '.join(cells[index * width:(index + 1) * width])} |")
    return "\n".join(lines)


def colour_range(scores: list[float]) -> tuple[float, float]:
    """The heat maps' colour scale: the scores' range, at least one point wide around them (equal scores sit in
    the middle of it rather than on a scale of 1e-9), within 0-100 %; 0-100 without scores."""
    if not scores:
        return 0.0, 100.0
    low, high = min(scores), max(scores)
    widen = max(0.0, MIN_COLOUR_SPAN - (high - low)) / 2
    low, high = low - widen, high + widen
    shift = max(0.0, -low) - max(0.0, high - 100.0)  # back inside 0-100 where the widening left it
    return low + shift, high + shift


def grid_figure(results: dict[str, Any]) -> Any:
    """One heat map per encoder on a shared colour scale (`colour_range`, plain numbers without an offset): test
    score per point, validation in brackets, the selected point framed; returns the matplotlib figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    metric, grid = results["metric"], results["grid"]
    first, rows, columns = grid_axes(grid)
    encoders = results["encoders"]
    scores = [np.array([point["test"][metric] if "test" in point else np.nan for point in encoder["points"]],
                       dtype=float).reshape(len(rows), len(columns)) for encoder in encoders]
    low, high = colour_range([float(value) for values in scores for value in values.flat if np.isfinite(value)])
    figure, axes = plt.subplots(1, len(encoders), figsize=(1.6 + 1.5 * len(columns) * len(encoders),
                                                           1.4 + 0.7 * len(rows)), squeeze=False)
    for axis, encoder, values in zip(axes[0], encoders, scores):
        image = axis.imshow(values, cmap="viridis", vmin=low, vmax=high, aspect="auto")
        for index, point in enumerate(encoder["points"]):
            row, column = divmod(index, len(columns))
            axis.text(column, row, point_cell(point, metric).replace(" (", "\n("), ha="center", va="center",
                      fontsize=8, color="white" if not np.isfinite(values[row, column]) or
                      values[row, column] < (low + high) / 2 else "black")
        selected = encoder["summary"].get("selected")
        if selected is not None:
            row, column = divmod(encoder["points"].index(next(p for p in encoder["points"]
                                                                if p["point"] == selected)), len(columns))
            axis.add_patch(plt.Rectangle((column - 0.45, row - 0.45), 0.9, 0.9, fill=False, edgecolor="red",
                                         linewidth=3))
        ticks = ["\n".join(part.partition("=")[2] for part in column.split(",")) for column in columns]
        axis.set_xticks(range(len(columns)), ticks, fontsize=8)
        axis.set_xlabel(", ".join(list(grid)[1:]))
        axis.set_yticks(range(len(rows)), rows if axis is axes[0][0] else [], fontsize=8)
        axis.set_title(encoder["label"], fontsize=10)
    axes[0][0].set_ylabel(first)
    colour_bar = figure.colorbar(image, ax=axes[0].tolist(), label=f"test {METRIC_NAMES[metric]}")
    colour_bar.ax.yaxis.get_major_formatter().set_useOffset(False)
    figure.suptitle(f"{results['data']}: test (val); red frame = selected on validation", fontsize=10, y=1.04)
    return figure


def plot_grids(results: dict[str, Any], path: Path) -> None:
    """Save `grid_figure(results)` as `path`."""
    import matplotlib.pyplot as plt

    figure = grid_figure(results)
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)


def write_report(results: dict[str, Any], output: Path) -> dict[str, Path]:
    """Write results.json, results.md and grid.png into `output`; returns their paths."""
    output.mkdir(parents=True, exist_ok=True)
    paths = {"json": output / "results.json", "markdown": output / "results.md", "plot": output / "grid.png"}
    write_json(results, paths["json"])
    sections = [summary_table(results)]
    sections += [grid_table(encoder, results["grid"], results["metric"]) for encoder in results["encoders"]]
    if results["notes"]:
        sections.append("\n".join(f"- {note}" for note in results["notes"]))
    paths["markdown"].write_text("\n\n".join(sections) + "\n")
    plot_grids(results, paths["plot"])
    return paths
