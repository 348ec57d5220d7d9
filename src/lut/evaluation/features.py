"""Feature extraction from a frozen encoder (or raw pixels) over a labelled data set."""

import logging
from collections.abc import Callable, Sequence

import torch
from torch.utils.data import DataLoader, Dataset

from lut.data.sources import collate_readable, readable_count_note, skip_unreadable
from lut.errors import UsageError
from lut.models.encoder import ViTEncoder
from lut.models.pooling import POOLS, pool_tokens
from lut.runtime.progress import Progress

log = logging.getLogger("lut")


class TransformedDataset(Dataset):
    """`(image, label)` -> `(transform(image), label)`; an unreadable image's None stays None."""

    def __init__(self, base: Dataset, transform: Callable) -> None:
        self.base = base
        self.transform = transform

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int] | None:
        sample = self.base[index]
        if sample is None:
            return None
        image, label = sample
        return self.transform(image), label


@torch.no_grad()
def extract_pooled_features(
    encoder: ViTEncoder | None,
    dataset: Dataset,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
    pools: Sequence[str] = POOLS,
    num_workers: int = 0,
    description: str = "features",
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Encode every readable image of `dataset` once and pool the tokens in each requested way; unreadable ones
    are left out, said in one line.

    Args:
        encoder: the encoder (its training mode is restored afterwards), or None for flattened raw pixels.
        dataset: yields `(image tensor (C, H, W), label)`.
        batch_size: images per forward.
        device: where the encoder runs.
        pools: any of "cls" and "mean".
        num_workers: loader processes.
        description: progress-bar label.

    Returns:
        {pool: (M, D) float32 features on the CPU} and (M,) int64 labels, M the readable images.

    Raises:
        UsageError: no image of `dataset` can be read.
    """
    loader = DataLoader(skip_unreadable(dataset), batch_size=batch_size, num_workers=num_workers,
                        collate_fn=collate_readable)
    was_training = encoder is not None and encoder.training
    if encoder is not None:
        encoder.eval()
    features: dict[str, list[torch.Tensor]] = {pool: [] for pool in pools}
    labels = []
    for batch in Progress(loader, desc=description, unit="batch", leave=False):
        if batch is None:  # every image of the batch unreadable
            continue
        images, targets = batch
        images = images.to(device)
        tokens = None if encoder is None else encoder.forward_features(images)  # (B, 1 + N, D)
        for pool in pools:
            pooled = images.flatten(1) if tokens is None else pool_tokens(tokens, pool)  # (B, D)
            features[pool].append(pooled.float().cpu())
        labels.append(torch.as_tensor(targets))
    if was_training:
        encoder.train()
    if not labels:
        raise UsageError(f"none of the {len(dataset)} images of the {description} can be read")
    labels = torch.cat(labels).long()
    note = readable_count_note(len(labels), len(dataset), f"the {description}")
    if note:
        log.warning(note)
    return {pool: torch.cat(chunks) for pool, chunks in features.items()}, labels


def extract_features(
    encoder: ViTEncoder | None,
    dataset: Dataset,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
    pool: str = "mean",
    num_workers: int = 0,
    description: str = "features",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode every image of `dataset` (which yields `(tensor, label)`) with one pooling.

    Args:
        encoder: the encoder, or None for flattened raw pixels.
        dataset: yields `(image tensor (C, H, W), label)`.
        batch_size: images per forward.
        device: where the encoder runs.
        pool: "mean" (patch tokens, CLS excluded) or "cls".
        num_workers: loader processes.
        description: progress-bar label.

    Returns:
        (M, D) float32 features on the CPU and (M,) int64 labels.
    """
    features, labels = extract_pooled_features(encoder, dataset, batch_size, device, (pool,), num_workers, description)
    return features[pool], labels
