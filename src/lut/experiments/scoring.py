"""The frozen-feature protocol of the studies: weighted k-NN and logistic regression on mean-pooled tokens."""

from collections.abc import Sequence

import torch
from torch.utils.data import Dataset

from lut.data.labelled import labelled_splits
from lut.data.views import EvalTransform, eval_crop_pct
from lut.evaluation.knn import knn_sweep
from lut.evaluation.logistic_regression import fit_logistic_regression, top_k_accuracy
from lut.experiments.scale import FrozenEvalSettings
from lut.models.encoder import ViTEncoder
from lut.models.pooling import pool_tokens
from lut.runtime.distributed import select_device
from lut.runtime.progress import Progress


def transformed_split(dataset: Dataset, transform: EvalTransform, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image of a labelled split through the evaluation transform, once: (M, C, H, W) and (M,) labels."""
    pairs = [dataset[index] for index in Progress(range(len(dataset)), desc=name, unit="img", leave=False)]
    images = torch.stack([transform(image) for image, _ in pairs])
    return images, torch.tensor([label for _, label in pairs], dtype=torch.long)


class FrozenScorer:
    """Scores encoders on fixed splits: the same images, transformed once, for every encoder.

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
        transform = EvalTransform(img_size, mean, std, eval_crop_pct(img_size))
        self.train = transformed_split(splits.train, transform, "training images")
        self.test = transformed_split(splits.test, transform, "test images")
        self.num_classes = len(splits.classes)
        self.settings = settings
        self.device = select_device(settings.device)

    @torch.no_grad()
    def features(self, encoder: ViTEncoder | None, images: torch.Tensor) -> torch.Tensor:
        """(M, C, H, W) images -> (M, D) mean-pooled tokens (flattened pixels for None), float32 on the CPU."""
        if encoder is None:
            return images.flatten(1)
        encoder.to(self.device).eval()
        batches = images.split(self.settings.batch_size)
        return torch.cat([
            pool_tokens(encoder.forward_features(batch.to(self.device)), "mean").float().cpu()  # (B, D)
            for batch in Progress(batches, desc="features", unit="batch", leave=False)
        ])

    def score(self, encoder: ViTEncoder | None) -> dict[str, float]:
        """k-NN top-1 (k from the settings, T = 0.07) and logistic-regression top-1 on the test split (%)."""
        (train_images, train_labels), (test_images, test_labels) = self.train, self.test
        train_features, test_features = self.features(encoder, train_images), self.features(encoder, test_images)
        (knn,) = knn_sweep(train_features, train_labels, test_features, test_labels, (self.settings.k,),
                           num_classes=self.num_classes)
        classifier = fit_logistic_regression(train_features.to(self.device), train_labels.to(self.device),
                                             self.num_classes)
        with torch.no_grad():
            probe = top_k_accuracy(classifier(test_features.to(self.device)), test_labels.to(self.device))
        return {"knn_top1": knn["top1"], "probe_top1": probe["top1"], "train_samples": len(train_labels),
                "test_samples": len(test_labels)}
