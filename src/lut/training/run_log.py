"""What a run writes besides checkpoints: JSON-lines metrics, TensorBoard events, a loss plot."""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

METRICS_FILE = "metrics.jsonl"


class RunLog:
    """Appends metric records to `metrics.jsonl` and TensorBoard (main process only).

    Args:
        output_dir: the run folder.
        enabled: False on non-main ranks, making every call a no-op.
    """

    def __init__(self, output_dir: Path, enabled: bool = True) -> None:
        self.enabled = enabled
        self.path = output_dir / METRICS_FILE
        self.writer = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(output_dir / "tensorboard"))

    def write(self, record: dict[str, float | int]) -> None:
        """Append one record; its "step" key is the x axis in TensorBoard."""
        if not self.enabled:
            return
        with open(self.path, "a") as handle:
            handle.write(json.dumps(record) + "\n")
        for key, value in record.items():
            if key not in ("step", "epoch") and value is not None:
                self.writer.add_scalar(f"pretrain/{key}", value, record["step"])

    def close(self) -> None:
        """Flush TensorBoard events."""
        if self.writer is not None:
            self.writer.close()


def read_metrics(path: Path) -> list[dict]:
    """The records of a metrics file, in order."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def truncate_metrics(path: Path, last_step: int) -> None:
    """Drop records after `last_step`: a resumed run logs those steps again."""
    if path.is_file():
        kept = [r for r in read_metrics(path) if r["step"] <= last_step]
        path.write_text("".join(json.dumps(r) + "\n" for r in kept))


def plot_loss_curves(metrics_path: Path, png_path: Path) -> None:
    """Losses and learning rate against the optimiser step."""
    records = read_metrics(metrics_path)
    if not records:
        return
    steps = [r["step"] for r in records]
    figure, (loss_axis, lr_axis) = plt.subplots(1, 2, figsize=(10, 3.5))
    for key in ("loss", "mae_loss", "bc_loss"):
        values = [r.get(key) for r in records]
        if any(v is not None for v in values):
            loss_axis.plot(steps, values, label=key)
    loss_axis.set_xlabel("optimiser step")
    loss_axis.set_ylabel("loss")
    loss_axis.legend()
    lr_axis.plot(steps, [r["lr"] for r in records], color="tab:gray")
    lr_axis.set_xlabel("optimiser step")
    lr_axis.set_ylabel("learning rate")
    figure.tight_layout()
    figure.savefig(png_path, dpi=100)
    plt.close(figure)
