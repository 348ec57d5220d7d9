"""Feature extraction from a frozen encoder (or raw pixels) over a labelled data set."""

from collections.abc import Callable

import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from lut.models.encoder import ViTEncoder


class TransformedDataset(Dataset):
    """`(image, label)` -> `(transform(image), label)`."""

    def __init__(self, base: Dataset, transform: Callable) -> None:
        self.base = base
        self.transform = transform

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image, label = self.base[index]
        return self.transform(image), label


@torch.no_grad()
def extract_features(
    encoder: ViTEncoder | None,
    dataset: Dataset,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
    pool: str = "mean",
    num_workers: int = 0,
    description: str = "features",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode every image of `dataset` (which yields `(tensor, label)`).

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
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=num_workers)
    if encoder is not None:
        encoder.eval()
    features, labels = [], []
    for images, targets in tqdm(loader, desc=description, unit="batch", leave=False):
        images = images.to(device)
        if encoder is None:
            batch_features = images.flatten(1)  # (B, C*H*W)
        else:
            tokens = encoder.forward_features(images)  # (B, 1 + N, D)
            batch_features = tokens[:, 0] if pool == "cls" else tokens[:, 1:].mean(dim=1)
        features.append(batch_features.float().cpu())
        labels.append(torch.as_tensor(targets))
    return torch.cat(features), torch.cat(labels).long()
