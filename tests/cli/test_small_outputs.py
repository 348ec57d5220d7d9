"""Outputs of small runs: top-5 only where it can miss, a loss plot with a single record (item 10)."""

import io
import json

import matplotlib.pyplot as plt
import torch

from lut.evaluation.knn import knn_sweep
from lut.evaluation.logistic_regression import top_k_accuracy
from lut.runtime import run_log
from lut.runtime.progress import Progress


def test_top5_is_left_out_with_five_classes_or_fewer():
    features = torch.eye(4)  # one memory image per class, each query its own class
    (four,) = knn_sweep(features, torch.arange(4), features, torch.arange(4), ks=(1,), num_classes=4)
    assert four == {"k": 1, "top1": 100.0}
    (six,) = knn_sweep(features, torch.arange(4), features, torch.arange(4), ks=(1,), num_classes=6)
    assert six == {"k": 1, "top1": 100.0, "top5": 100.0}
    logits = torch.tensor([[0.0, 1.0, 2.0, 3.0]])  # class 0 ranks last of 4
    assert top_k_accuracy(logits, torch.tensor([0])) == {"top1": 0.0}


def test_a_single_metrics_record_is_drawn(tmp_path, monkeypatch):
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text(json.dumps({"step": 3, "epoch": 0.3, "loss": 1.5, "mae_loss": 1.0, "bc_loss": 0.5,
                                   "lr": 1e-3}) + "\n")
    figures, close = [], plt.close
    monkeypatch.setattr(run_log.plt, "close", lambda figure: figures.append(figure) or close(figure))
    run_log.plot_loss_curves(metrics, tmp_path / "loss_curve.png")
    lines = [line for axis in figures[0].axes for line in axis.get_lines()]
    assert len(lines) == 4  # loss, mae_loss, bc_loss and the learning rate
    assert all(line.get_marker() not in (None, "None", "") for line in lines)  # a lone point is visible
    assert (tmp_path / "loss_curve.png").stat().st_size > 0


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_plain_lines_when_not_on_a_terminal():
    log = io.StringIO()
    for _ in Progress(range(3), file=log, mininterval=0, desc="epoch 1/1", unit="step"):
        for _ in Progress(range(2), file=log, leave=False, desc="k-NN"):  # an inner loop: silent in a log
            pass
    written = log.getvalue()
    assert "\r" not in written and "\x1b" not in written
    lines = written.splitlines()
    assert lines[0].startswith("epoch 1/1:   0%") and lines[-1].startswith("epoch 1/1: 100%")
    assert all("3/3" in line or "/3 " in line for line in lines) and not any("k-NN" in line for line in lines)
    screen = Terminal()
    for _ in Progress(range(3), file=screen, mininterval=0):
        pass
    assert "\r" in screen.getvalue()  # a terminal keeps tqdm's redrawn line
