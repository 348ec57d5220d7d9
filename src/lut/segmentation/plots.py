"""Figures of segmentation results: per-class IoU bars and training curves."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_class_iou(per_class: dict[str, dict[str, float | None]], miou: float, path: Path) -> None:
    """One bar per class (IoU %, classes left out of the mean shown empty), the mIoU as a dashed line.

    Args:
        per_class: {class name: {"IoU": percent or None}}.
        miou: the mean over the classes with a value.
        path: PNG to write.
    """
    names = list(per_class)
    values = [per_class[name]["IoU"] or 0.0 for name in names]
    figure, axis = plt.subplots(figsize=(max(5.0, 0.3 * len(names) + 1.5), 3.8))
    axis.bar(range(len(names)), values, color="tab:blue")
    axis.axhline(miou, color="tab:red", linestyle="--", label=f"mIoU {miou:.1f}")
    axis.set_xticks(range(len(names)), names, rotation=90, fontsize=7 if len(names) > 30 else 9)
    axis.set_ylabel("IoU (%)")
    axis.set_ylim(0, 100)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_segmentation_curves(records: list[dict], path: Path) -> None:
    """Training loss and validation mIoU against the optimiser step."""
    training = [record for record in records if "loss" in record]
    validation = [record for record in records if "mIoU" in record]
    if not training:
        return
    figure, (loss_axis, miou_axis) = plt.subplots(1, 2, figsize=(10, 3.5))
    loss_axis.plot([r["step"] for r in training], [r["loss"] for r in training], color="tab:gray")
    loss_axis.set_ylabel("training loss")
    miou_axis.plot([r["step"] for r in validation], [r["mIoU"] for r in validation], "o-")
    miou_axis.set_ylabel("validation mIoU (%)")
    for axis in (loss_axis, miou_axis):
        axis.set_xlabel("optimiser step")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
