"""A table's PNG: one panel per column, the measured numbers beside the paper's for every encoder."""

import math
from pathlib import Path
from typing import Any

PANELS_PER_ROW = 4  # a wide table (Table 5 has 12 columns) wraps into rows of this many panels


def plot(results: dict[str, Any], path: Path) -> None:
    """One panel per evaluation: measured (mean, std as error bar) and the paper's number per encoder."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = results["evaluations"]
    encoders = list(results["rows"])
    columns = min(PANELS_PER_ROW, len(kinds))
    rows = math.ceil(len(kinds) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(max(4, 0.9 * len(encoders)) * columns, 3.5 * rows),
                                squeeze=False)
    grid = axes.flatten()
    panels = grid[:len(kinds)]
    for axis in grid[len(kinds):]:
        axis.set_visible(False)
    for axis, kind in zip(panels, kinds, strict=True):
        entries = [results["rows"][encoder].get(kind) or {} for encoder in encoders]
        positions = range(len(encoders))
        measured = [entry.get("mean") or 0.0 for entry in entries]
        spread = [entry.get("std") or 0.0 for entry in entries]
        paper = [entry.get("paper") or 0.0 for entry in entries]
        axis.bar([p - 0.2 for p in positions], measured, 0.4, yerr=spread, label=f"measured ({results['scale']})")
        axis.bar([p + 0.2 for p in positions], paper, 0.4, label=f"paper ({results['paper_architecture']})")
        axis.set_xticks(list(positions), encoders, rotation=30 if len(encoders) > 3 else 0, ha="right"
                        if len(encoders) > 3 else "center", fontsize=7 if len(encoders) > 3 else 10)
        axis.set_title(results["labels"][kind], fontsize=9)
        axis.set_ylim(0, 100)
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=2, fontsize=8)
    figure.suptitle(f"{results['table']} at scale {results['scale']}", fontsize=10)
    figure.tight_layout(rect=(0, 0.08 / rows, 1, 1))
    figure.savefig(path, dpi=100)
    plt.close(figure)
