"""What a finished run shows: reconstructions of a few images and a k-NN check of the encoder."""

import logging
from pathlib import Path
from typing import Any

import torch

from lut.analysis.reconstruction import reconstruct, save_reconstruction_figure
from lut.config import PretrainConfig
from lut.data.sampling import random_subset
from lut.data.sources import build_dataset, dataset_has_labels
from lut.data.views import EvalTransform
from lut.errors import UsageError
from lut.evaluation.features import TransformedDataset, extract_features
from lut.evaluation.knn import knn_accuracy
from lut.masking import sample_keep_ids
from lut.models import PretrainModel, Teacher

log = logging.getLogger("lut")


@torch.no_grad()
def save_reconstructions(student: PretrainModel, config: PretrainConfig, device: torch.device, path: Path) -> None:
    """Reconstruct the first `num_visualize` training images under a fixed mask."""
    data = build_dataset(config.data, "train", config.data_root, download=False)
    transform = EvalTransform(config.img_size, config.mean, config.std)
    count = min(config.num_visualize, len(data))
    images = torch.stack([transform(data[i][0]) for i in range(count)]).to(device)  # (B, C, H, W)
    generator = torch.Generator().manual_seed(config.seed)
    (keep_ids,) = sample_keep_ids(count, student.num_patches, config.mask_ratio, 1, generator)
    results = reconstruct(student, images, keep_ids.to(device), config.norm_pix_loss)
    save_reconstruction_figure(images, results, config.mean, config.std, path)


def final_knn(
    student: PretrainModel, teacher: Teacher | None, config: PretrainConfig, device: torch.device
) -> dict[str, Any]:
    """k-NN top-1 accuracy (%) on the test split: student, teacher and raw pixels side by side."""
    try:
        train = build_dataset(config.data, "train", config.data_root, download=False)
        test = build_dataset(config.data, "test", config.data_root, download=False)
    except UsageError as error:
        log.warning("final k-NN skipped: %s", error)
        return {"skipped": str(error)}
    if not (dataset_has_labels(train) and dataset_has_labels(test)):
        log.warning("final k-NN skipped: %s has no labels", config.data)
        return {"skipped": "unlabelled data"}
    train = random_subset(train, config.knn_train_samples, config.seed)
    transform = EvalTransform(config.img_size, config.mean, config.std)
    train, test = TransformedDataset(train, transform), TransformedDataset(test, transform)
    encoders = {"raw_pixels": None, "student": student.encoder}
    if teacher is not None:
        encoders["teacher"] = teacher.encoder
    result: dict[str, Any] = {"k": config.knn_k, "train_samples": len(train), "test_samples": len(test)}
    for name, encoder in encoders.items():
        train_features, train_labels = extract_features(encoder, train, device=device, description=f"{name} train")
        test_features, test_labels = extract_features(encoder, test, device=device, description=f"{name} test")
        result[name] = knn_accuracy(train_features, train_labels, test_features, test_labels, k=config.knn_k)
        print(f"k-NN (k={config.knn_k}) top-1 on {config.data} test: {name:<10} {result[name]:.2f}%")
    return result
