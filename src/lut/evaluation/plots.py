"""Figures of evaluation results: k-NN accuracy against k, and accuracy curves of a training run."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_knn_accuracy(results: dict[str, list[dict[str, float]]], path: Path) -> None:
    """Top-1 (solid) and top-5 (dashed) k-NN accuracy against k, one colour per pooling.

    Args:
        results: {pool: [{"k", "top1", "top5"}, ...]} as returned by `knn_sweep`.
        path: PNG to write.
    """
    figure, axis = plt.subplots(figsize=(5, 3.5))
    for (pool, records), colour in zip(results.items(), ("tab:blue", "tab:orange", "tab:green")):
        ks = [record["k"] for record in records]
        axis.plot(ks, [record["top1"] for record in records], "o-", color=colour, label=f"{pool} top-1")
        if "top5" in records[0]:
            axis.plot(ks, [record["top5"] for record in records], "s--", color=colour, label=f"{pool} top-5")
    axis.set_xscale("log")
    axis.set_xlabel("k (neighbours)")
    axis.set_ylabel("accuracy (%)")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_training_curves(records: list[dict], path: Path) -> None:
    """Test top-1 per classifier head and the training loss against the epoch.

    Args:
        records: per-epoch metric records with "epoch", "train_loss" and "*top1" keys.
        path: PNG to write.
    """
    if not records:
        return
    epochs = [record["epoch"] for record in records]
    figure, (accuracy_axis, loss_axis) = plt.subplots(1, 2, figsize=(10, 3.5))
    for key in sorted(key for key in records[-1] if key.endswith("top1")):
        accuracy_axis.plot(epochs, [record.get(key) for record in records], "o-", label=key)
    accuracy_axis.set_xlabel("epoch")
    accuracy_axis.set_ylabel("test accuracy (%)")
    accuracy_axis.legend()
    loss_axis.plot(epochs, [record["train_loss"] for record in records], color="tab:gray")
    loss_axis.set_xlabel("epoch")
    loss_axis.set_ylabel("training loss")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
