"""`lut linprobe mode=features`: multinomial logistic regression on cached frozen features.

A cheap stand-in for linear probing, *not* MAE's protocol: no augmentation (one deterministic view
per image), standardised features, L2-regularised softmax regression fitted full-batch with L-BFGS.
"""

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lut.evaluation.config import LinprobeConfig
from lut.evaluation.feature_cache import split_features
from lut.evaluation.knn import reports_top5
from lut.evaluation.supervised import load_inputs
from lut.runtime.distributed import select_device
from lut.runtime.files import write_json

MODE_LABEL = "logistic regression on frozen features (not the MAE linear-probing protocol)"


class LogisticRegression(nn.Module):
    """Standardise with the training features' statistics, then one Linear layer.

    Args:
        mean: (D,) training feature mean.
        std: (D,) training feature std.
        num_classes: C.
    """

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, num_classes: int) -> None:
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.linear = nn.Linear(mean.shape[0], num_classes)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(M, D) features -> (M, C) logits."""
        return self.linear((features - self.mean) / self.std)


def fit_logistic_regression(
    features: torch.Tensor, labels: torch.Tensor, num_classes: int, l2: float = 1e-4, iterations: int = 300
) -> LogisticRegression:
    """Minimise mean cross-entropy + l2 / 2 * ||W||^2 with full-batch L-BFGS (strong Wolfe line search).

    Args:
        features: (M, D) training features.
        labels: (M,) labels.
        num_classes: C.
        l2: weight penalty (the bias is not penalised).
        iterations: L-BFGS iterations.
    """
    features = features.float()
    model = LogisticRegression(features.mean(dim=0), features.std(dim=0).clamp_min(1e-6), num_classes)
    model.to(features.device)
    optimizer = torch.optim.LBFGS(model.parameters(), max_iter=iterations, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(features), labels) + l2 / 2 * model.linear.weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return model


def top_k_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Top-1 and top-5 accuracy (%) of (M, C) logits (top-1 alone with 5 classes or fewer)."""
    ranked = logits.topk(min(5, logits.shape[1]), dim=1).indices
    correct = ranked == labels[:, None]
    accuracy = {"top1": correct[:, 0].float().mean().item() * 100}
    if reports_top5(logits.shape[1]):
        accuracy["top5"] = correct.any(dim=1).float().mean().item() * 100
    return accuracy


def feature_probe(config: LinprobeConfig) -> dict[str, Any]:
    """Fit one logistic regression per pooling on cached training features; test it.

    Writes `results.json` to the output folder and returns the same summary.
    """
    device = select_device(config.device)
    inputs = load_inputs(config)
    inputs.encoder.to(device)
    features = split_features(
        inputs.encoder, inputs.info.digest, inputs.splits, config.data, inputs.info.architecture.img_size,
        inputs.mean, inputs.std, config.crop_pct, (config.train_samples, config.test_samples), config.seed,
        config.cache_dir or None, config.batch_size, device, config.num_workers, config.test_data,
    )
    (train_features, train_labels), (test_features, test_labels) = features["train"], features["test"]
    num_classes = len(inputs.splits.classes)
    results = {}
    for pool in config.pools:
        model = fit_logistic_regression(train_features[pool].to(device), train_labels.to(device), num_classes,
                                        config.logistic_l2, config.logistic_iterations)
        with torch.no_grad():
            results[pool] = top_k_accuracy(model(test_features[pool].to(device)), test_labels.to(device))
    output_dir = Path(config.output_dir).expanduser()
    output_dir.mkdir(parents=True, exist_ok=True)
    summary = {
        "mode": MODE_LABEL,
        "encoder": inputs.info.describe(),
        "train_samples": len(train_labels),
        "test_samples": len(test_labels),
        "l2": config.logistic_l2,
        "final": {f"{pool}_{metric}": value for pool, metrics in results.items() for metric, value in metrics.items()},
        "output_dir": str(output_dir),
    }
    write_json(summary, output_dir / "results.json")
    return summary
