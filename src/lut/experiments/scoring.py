"""The frozen-feature protocol of the studies: weighted k-NN and logistic regression on mean-pooled tokens."""

from collections.abc import Sequence

import torch

from lut.data.views import EvalTransform
from lut.evaluation.datasets import labelled_splits
from lut.evaluation.features import TransformedDataset, extract_features
from lut.evaluation.knn import knn_sweep
from lut.evaluation.logistic_regression import fit_logistic_regression, top_k_accuracy
from lut.experiments.scale import FrozenEvalSettings
from lut.models.encoder import ViTEncoder
from lut.training.distributed import select_device


class FrozenScorer:
    """Scores encoders on fixed splits; the same images and the same protocol for every encoder.

    Args:
        settings: data, subset sizes, k, batch size and device.
        img_size: input side in pixels.
        mean: input normalisation mean.
        std: input normalisation std.
    """

    def __init__(
        self, settings: FrozenEvalSettings, img_size: int, mean: Sequence[float], std: Sequence[float]
    ) -> None:
        splits = labelled_splits(settings.data, train_samples=settings.train_samples,
                                 test_samples=settings.test_samples, seed=0)
        transform = EvalTransform(img_size, mean, std)
        self.train = TransformedDataset(splits.train, transform)
        self.test = TransformedDataset(splits.test, transform)
        self.num_classes = len(splits.classes)
        self.settings = settings
        self.device = select_device(settings.device)

    @torch.no_grad()
    def features(self, encoder: ViTEncoder | None) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
        """((train features (M, D), labels (M,)), (test features, labels)); raw pixels for None."""
        if encoder is not None:
            encoder.to(self.device)
        return tuple(
            extract_features(encoder, split, self.settings.batch_size, self.device, "mean", 0, name)
            for split, name in ((self.train, "train features"), (self.test, "test features"))
        )

    def score(self, encoder: ViTEncoder | None) -> dict[str, float]:
        """k-NN top-1 (k from the settings, T = 0.07) and logistic-regression top-1 on the test split (%)."""
        (train_features, train_labels), (test_features, test_labels) = self.features(encoder)
        (knn,) = knn_sweep(train_features, train_labels, test_features, test_labels, (self.settings.k,),
                           num_classes=self.num_classes)
        classifier = fit_logistic_regression(train_features.to(self.device), train_labels.to(self.device),
                                             self.num_classes)
        with torch.no_grad():
            probe = top_k_accuracy(classifier(test_features.to(self.device)), test_labels.to(self.device))
        return {"knn_top1": knn["top1"], "probe_top1": probe["top1"], "train_samples": len(train_labels),
                "test_samples": len(test_labels)}
