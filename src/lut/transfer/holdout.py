"""Deterministic per-class draws: the validation hold-out of a training split, and a fixed number of images
per class for sets without an official split.

For the hold-out every class gives `round(fraction * its size)` samples (at least one when it has two or more,
never all of them), drawn by a generator seeded with `seed`; the indices are saved as JSON, and a later run
reuses the saved split when it was made from the same number of samples with the same fraction and seed.
"""

import json
import os
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import torch

from lut.errors import UsageError


def draw_per_class(labels: list[int], count_of: Callable[[int], int], seed: int) -> list[int]:
    """Sorted indices of `count_of(size)` samples drawn from every class, classes in label order.

    Args:
        labels: the label of every sample.
        count_of: how many samples a class of `size` samples gives.
        seed: seed of the draw; the same labels, counts and seed give the same indices.
    """
    members: dict[int, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        members[label].append(index)
    generator = torch.Generator().manual_seed(seed)
    drawn = []
    for label in sorted(members):
        indices = members[label]
        order = torch.randperm(len(indices), generator=generator)[: count_of(len(indices))].tolist()
        drawn.extend(indices[position] for position in order)
    return sorted(drawn)


def stratified_holdout(labels: list[int], fraction: float, seed: int) -> list[int]:
    """Sorted indices of the held-out samples: about `fraction` of every class.

    Args:
        labels: the label of every training sample.
        fraction: share of each class held out, in (0, 1).
        seed: seed of the draw; the same labels, fraction and seed give the same indices.
    """
    if not 0 < fraction < 1:
        raise UsageError(f"val_fraction must lie strictly between 0 and 1, got {fraction}")
    return draw_per_class(labels, lambda size: min(size - 1, max(1, round(fraction * size))), seed)


def saved_holdout(path: Path, labels: list[int], fraction: float, seed: int) -> tuple[list[int], bool]:
    """The hold-out saved at `path`, or a new one written there; returns (indices, reused).

    Raises:
        UsageError: the saved split was made from another training split, fraction or seed.
    """
    wanted = {"samples": len(labels), "fraction": fraction, "seed": seed}
    if path.is_file():
        saved = json.loads(path.read_text())
        made = {key: saved.get(key) for key in wanted}
        if made != wanted:
            raise UsageError(f"{path} holds a validation split of other settings ({made}, here {wanted}); "
                             "delete it or give another --output")
        return saved["held_out"], True
    held_out = stratified_holdout(labels, fraction, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")  # under torchrun every process writes it
    partial.write_text(json.dumps({**wanted, "held_out": held_out}))
    os.replace(partial, path)
    return held_out, False
