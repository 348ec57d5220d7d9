"""Pooled features stored on disk, keyed by everything that determines them."""

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from lut.data.labelled import LabelledSplits, data_identity, files_fingerprint
from lut.data.views import EvalTransform
from lut.evaluation.features import POOLS, TransformedDataset, extract_pooled_features
from lut.models.encoder import ViTEncoder
from lut.runtime.checkpoint import atomic_save

log = logging.getLogger("lut")


def cache_path(cache_dir: str | Path, key: dict[str, Any]) -> Path:
    """The file of one key: a hash of its JSON form (key order does not matter)."""
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    return Path(cache_dir).expanduser() / f"features-{name}.pt"


def cached_features(
    encoder: ViTEncoder,
    dataset: Dataset,
    key: dict[str, Any],
    cache_dir: str | Path | None,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
    num_workers: int = 0,
    description: str = "features",
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """CLS and mean-pooled features of `dataset`, read from the cache or extracted once and stored.

    Args:
        encoder: the frozen encoder.
        dataset: yields `(image tensor, label)`.
        key: what determines the features: weights digest, data, split, subset, input size and
            normalisation. Both poolings are stored under one key.
        cache_dir: folder of the cache; None extracts without caching.
        batch_size: images per forward.
        device: where the encoder runs.
        num_workers: loader processes.
        description: progress-bar label.

    Returns:
        {"cls": (M, D), "mean": (M, D)} float32 features and (M,) int64 labels.
    """
    path = cache_path(cache_dir, key) if cache_dir is not None else None
    if path is not None and path.is_file():
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if payload.get("key") == key:
            log.info("features read from %s", path)
            return payload["features"], payload["labels"]
    features, labels = extract_pooled_features(encoder, dataset, batch_size, device, POOLS, num_workers, description)
    if path is not None:
        atomic_save({"key": key, "features": features, "labels": labels}, path)
    return features, labels


def split_features(
    encoder: ViTEncoder,
    weights_digest: str,
    splits: LabelledSplits,
    data: str,
    img_size: int,
    mean: Sequence[float],
    std: Sequence[float],
    crop_pct: float = 1.0,
    samples: tuple[int, int] = (0, 0),
    seed: int = 0,
    cache_dir: str | Path | None = None,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
    num_workers: int = 0,
    test_data: str = "",
) -> dict[str, tuple[dict[str, torch.Tensor], torch.Tensor]]:
    """Cached CLS and mean-pooled features of both splits under the deterministic evaluation view.

    Args:
        encoder: the frozen encoder.
        weights_digest: digest of its weights (`EncoderInfo.digest`).
        splits: the labelled splits (already subsampled as `samples` and `seed` say).
        data: the data set's name or folder, as given.
        img_size: input side in pixels.
        mean: normalisation mean.
        std: normalisation std.
        crop_pct: share of the resized side kept by the center crop (`EvalTransform`).
        samples: requested (train, test) subset sizes (0: all), part of the cache key.
        seed: subset seed, part of the cache key.
        cache_dir: cache folder; None disables caching.
        batch_size: images per forward.
        device: where the encoder runs.
        num_workers: loader processes.
        test_data: the test set's name or folder when it is not `data`'s test split.

    Returns:
        {"train": (features, labels), "test": (features, labels)} with features {"cls", "mean"}.
    """
    transform = EvalTransform(img_size, mean, std, crop_pct)
    result = {}
    for (split, dataset), count in zip((("train", splits.train), ("test", splits.test)), samples):
        source = test_data if split == "test" and test_data else data
        key = {"weights": weights_digest, "data": data_identity(source), "files": files_fingerprint(dataset),
               "split": split, "samples": count, "seed": seed, "img_size": img_size, "crop_pct": crop_pct,
               "mean": list(mean), "std": list(std)}
        result[split] = cached_features(encoder, TransformedDataset(dataset, transform), key, cache_dir, batch_size,
                                        device, num_workers, f"{split} features")
    return result
