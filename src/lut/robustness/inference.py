"""Batched logits of a classifier over one benchmark pass, sharded over torchrun processes."""

import math
from collections.abc import Callable

import torch
import torch.distributed as dist
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm import tqdm

from lut.runtime.distributed import DistributedContext


class PassImages(Dataset):
    """A pass's images as model inputs: shift (PIL), evaluation view, then occlusion (tensor).

    Args:
        images: yields RGB PIL images.
        image_transform: applied to the PIL image first, or None.
        view: PIL image -> normalised (C, H, W) tensor.
        tensor_transform: applied to the normalised tensor last (occlusion), or None.
    """

    def __init__(self, images: Dataset, image_transform: Callable[[Image.Image], Image.Image] | None,
                 view: Callable[[Image.Image], torch.Tensor],
                 tensor_transform: Callable[[torch.Tensor], torch.Tensor] | None) -> None:
        self.images, self.image_transform, self.view, self.tensor_transform = (
            images, image_transform, view, tensor_transform)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        image = self.images[index]
        if self.image_transform is not None:
            image = self.image_transform(image)
        tensor = self.view(image)  # (C, H, W)
        return tensor if self.tensor_transform is None else self.tensor_transform(tensor)


@torch.no_grad()
def predict_logits(
    model: nn.Module,
    dataset: Dataset,
    num_classes: int,
    batch_size: int,
    num_workers: int,
    context: DistributedContext,
    amp_dtype: torch.dtype | None,
    description: str,
) -> torch.Tensor:
    """(N, num_classes) float32 logits (CPU) of every image, in dataset order, on every process.

    Process r of W evaluates images r, r + W, r + 2W, ...; the shards are gathered and interleaved back.
    """
    model.eval()
    shard = Subset(dataset, range(context.rank, len(dataset), context.world_size))
    loader = DataLoader(shard, batch_size, num_workers=num_workers, pin_memory=context.device.type == "cuda")
    chunks = [torch.empty(0, num_classes)]
    with tqdm(total=len(dataset), desc=description, unit="img", disable=not context.is_main,
              dynamic_ncols=True) as progress:
        for images in loader:
            with torch.autocast(context.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                logits = model(images.to(context.device, non_blocking=True))  # (B, C)
            chunks.append(logits.float().cpu())
            progress.update(len(images) * context.world_size)
    local = torch.cat(chunks)  # (N_r, C)
    return gather_shards(local, len(dataset), context) if context.is_distributed else local


def gather_shards(local: torch.Tensor, total: int, context: DistributedContext) -> torch.Tensor:
    """Every process's strided shard (images r, r + W, ...) -> the (total, C) logits in dataset order."""
    world = context.world_size
    longest = math.ceil(total / world)
    padded = torch.zeros(longest, local.shape[1], device=context.device)
    padded[: len(local)] = local.to(context.device)
    gathered = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(gathered, padded)
    logits = torch.empty(total, local.shape[1])
    for rank, shard in enumerate(gathered):
        count = len(range(rank, total, world))
        logits[rank::world] = shard[:count].cpu()
    return logits
