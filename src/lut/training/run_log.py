"""What a run writes besides checkpoints: JSON-lines metrics, TensorBoard events (with the "tensorboard" extra),
a loss plot."""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lut.extras import optional  # noqa: E402

METRICS_FILE = "metrics.jsonl"


class RunLog:
    """Appends metric records to `metrics.jsonl` and, when TensorBoard is installed, to its events (main process only).

    Args:
        output_dir: the run folder.
        enabled: False on non-main ranks, making every call a no-op.
        tag_prefix: TensorBoard section of the scalars, e.g. "pretrain" or "finetune".
    """

    def __init__(self, output_dir: Path, enabled: bool = True, tag_prefix: str = "pretrain") -> None:
        self.enabled = enabled
        self.tag_prefix = tag_prefix
        self.path = output_dir / METRICS_FILE
        self.writer = None
        if enabled:
            tensorboard = optional("torch.utils.tensorboard", "tensorboard",
                                   f"metrics go to {METRICS_FILE} only, no TensorBoard events")
            self.writer = tensorboard.SummaryWriter(str(output_dir / "tensorboard")) if tensorboard else None

    def write(self, record: dict[str, float | int]) -> None:
        """Append one record; its "step" key is the x axis in TensorBoard."""
        if not self.enabled:
            return
        with open(self.path, "a") as handle:
            handle.write(json.dumps(record) + "\n")
        if self.writer is None:
            return
        for key, value in record.items():
            if key not in ("step", "epoch") and value is not None:
                self.writer.add_scalar(f"{self.tag_prefix}/{key}", value, record["step"])

    def close(self) -> None:
        """Flush TensorBoard events."""
        if self.writer is not None:
            self.writer.close()


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
