"""What a run writes besides checkpoints: JSON-lines metrics, the trackers' records (TensorBoard by default), a
loss plot."""

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lut.runtime.trackers import open_trackers, parse_trackers  # noqa: E402

METRICS_FILE = "metrics.jsonl"


class RunLog:
    """Appends metric records to `metrics.jsonl` and the trackers (main process only).

    Args:
        output_dir: the run folder.
        enabled: False on non-main ranks, making every call a no-op (the tracker names are checked on every rank).
        tag_prefix: section of the trackers' scalars, e.g. "pretrain" or "finetune".
        log_to: comma-separated trackers (`trackers.TRACKERS`), or "none".
        config: the resolved config, which the trackers record.

    Raises:
        UsageError: an unknown tracker, or W&B / MLflow not installed (TensorBoard is skipped with a note).
    """

    def __init__(self, output_dir: Path, enabled: bool = True, tag_prefix: str = "pretrain",
                 log_to: str = "tensorboard", config: dict[str, Any] | None = None) -> None:
        self.enabled = enabled
        self.tag_prefix = tag_prefix
        self.path = output_dir / METRICS_FILE
        names = parse_trackers(log_to)
        self.trackers = open_trackers(names, output_dir, config or {}) if enabled else []

    def write(self, record: dict[str, float | int]) -> None:
        """Append one record; its "step" key is the trackers' x axis."""
        if not self.enabled:
            return
        with open(self.path, "a") as handle:
            handle.write(json.dumps(record) + "\n")
        values = {f"{self.tag_prefix}/{key}": value for key, value in record.items()
                  if key not in ("step", "epoch") and value is not None}
        for tracker in self.trackers:
            tracker.log_metrics(values, record["step"])

    def add_figure(self, path: Path, step: int) -> None:
        """Hand a PNG the run wrote (loss curves, reconstructions) to the trackers."""
        for tracker in self.trackers:
            tracker.log_figure(path, step)

    def close(self) -> None:
        """Flush and finish the trackers' runs."""
        for tracker in self.trackers:
            tracker.close()
        self.trackers = []


def read_metrics(path: Path) -> list[dict]:
    """The records of a metrics file, in order."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def truncate_metrics(path: Path, last_step: int, keep_evaluations_at_last_step: bool = True) -> None:
    """Drop records after `last_step`, which a resumed run logs again, and, unless kept, the k-NN records at it
    (a finished run that is run again evaluates its last step again)."""
    if path.is_file():
        kept = [r for r in read_metrics(path) if r["step"] < last_step or (
            r["step"] == last_step and (keep_evaluations_at_last_step or "knn_top1" not in r))]
        path.write_text("".join(json.dumps(r) + "\n" for r in kept))


def plot_loss_curves(metrics_path: Path, png_path: Path) -> bool:
    """Losses, learning rate and (when monitored) k-NN accuracy against the optimiser step; False (nothing written)
    when the metrics hold no training record."""
    records = read_metrics(metrics_path)
    training = [r for r in records if "loss" in r]
    knn = [r for r in records if "knn_top1" in r]
    if not training:
        return False
    steps = [r["step"] for r in training]
    marker = "o" if len(steps) < 20 else None  # a run shorter than log_every_steps has one record: a lone point
    panels = 3 if knn else 2
    figure, axes = plt.subplots(1, panels, figsize=(5 * panels, 3.5))
    for key in ("loss", "mae_loss", "bc_loss"):
        values = [r.get(key) for r in training]
        if any(v is not None for v in values):
            axes[0].plot(steps, values, label=key, marker=marker)
    axes[0].set_ylabel("loss")
    axes[0].legend()
    axes[1].plot(steps, [r["lr"] for r in training], color="tab:gray", marker=marker)
    axes[1].set_ylabel("learning rate")
    if knn:
        axes[2].plot([r["step"] for r in knn], [r["knn_top1"] for r in knn], marker="o")
        axes[2].set_ylabel("k-NN top-1 (%)")
    for axis in axes:
        axis.set_xlabel("optimiser step")
    figure.tight_layout()
    figure.savefig(png_path, dpi=100)
    plt.close(figure)
    return True
