"""Throughput of the two-view data pipeline (JPEG decode + LUT's two augmented views).

Writes a small folder of JPEGs (random crops of scikit-image's sample photos, 224 px or more
per side) to a temporary directory and times `AugmentedDataset(build_dataset(folder),
TwoViewTransform(224), seed)` through a DataLoader with 1 and with --workers processes.
With --with-step it also times the loader feeding a small LUT model's optimiser step.

    python benchmarks/data_benchmark.py --workers 2
    python benchmarks/data_benchmark.py --workers 2 --with-step
"""

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import skimage.data
import torch
from PIL import Image
from timm.optim import param_groups_weight_decay
from torch.utils.data import DataLoader

from lut import create_model
from lut.data.sampling import AugmentedDataset, ShardedEpochSampler
from lut.data.sources import build_dataset
from lut.data.views import TwoViewTransform
from lut.models import Teacher
from lut.training.lut_step import LossSettings, pretrain_losses
from lut.training.teacher import EMAUpdater

PHOTOS = (
    "astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "retina",
    "colorwheel", "camera", "coins", "grass", "gravel", "brick",
)


def write_photo_folder(folder: Path, count: int, seed: int = 0) -> Path:
    """`count` JPEGs cut from the sample photos: a random crop of each, resized to 224-400 px per side."""
    rng = np.random.default_rng(seed)
    photos = [Image.fromarray(getattr(skimage.data, name)()).convert("RGB") for name in PHOTOS]
    for index in range(count):
        photo = photos[index % len(photos)]
        width, height = photo.size
        crop_w, crop_h = (int(side * rng.uniform(0.5, 1.0)) for side in (width, height))
        left, top = int(rng.integers(0, width - crop_w + 1)), int(rng.integers(0, height - crop_h + 1))
        size = tuple(int(side) for side in rng.integers(224, 401, size=2))
        crop = photo.crop((left, top, left + crop_w, top + crop_h)).resize(size, Image.BICUBIC)
        crop.save(folder / f"{index:03d}.jpg", quality=90)
    return folder


def make_loader(folder: Path, args: argparse.Namespace, workers: int) -> tuple[DataLoader, ShardedEpochSampler]:
    """The pre-training loader over `folder` with `workers` processes (0: in the main process)."""
    base = build_dataset(str(folder))
    sampler = ShardedEpochSampler(len(base), seed=args.seed)
    loader = DataLoader(
        AugmentedDataset(base, TwoViewTransform(args.img_size), args.seed),
        batch_size=args.batch_size,
        sampler=sampler,
        num_workers=workers,
        drop_last=True,
        persistent_workers=workers > 0,
    )
    return loader, sampler


def loader_throughput(folder: Path, args: argparse.Namespace, workers: int) -> float:
    """Images (each two views) per second over --epochs passes, after one untimed pass."""
    loader, sampler = make_loader(folder, args, workers)
    for _batch in loader:  # starts the loader processes and warms the file cache
        pass
    images = 0
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)
        for (view1, _view2), _labels in loader:
            images += view1.shape[0]
    return images / (time.perf_counter() - start)


def step_throughput(folder: Path, args: argparse.Namespace, workers: int) -> tuple[float, float]:
    """Images per second of loader + LUT step, and of the step alone on one cached batch."""
    torch.manual_seed(args.seed)
    student = create_model(f"lut_vit_{args.size}_patch16", img_size=args.img_size, decoder_embed_dim=128,
                           decoder_depth=2, decoder_num_heads=4, head_hidden_dim=1024)
    teacher = Teacher.from_student(student)
    ema = EMAUpdater(teacher, student)
    optimizer = torch.optim.AdamW(param_groups_weight_decay(student, 0.05), lr=1e-4, betas=(0.9, 0.95))
    settings = LossSettings(student.patch_size, student.num_patches)
    generator = torch.Generator().manual_seed(args.seed)

    def step(views: list[torch.Tensor]) -> None:
        pretrain_losses(student, teacher, views, settings, generator).total.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        ema.update(0.996)

    # The cached batch comes from the main process, so no loader process competes with the step-only timing.
    cached = list(next(iter(make_loader(folder, args, 0)[0]))[0])
    step(cached)  # warm-up
    start = time.perf_counter()
    for _ in range(args.steps):
        step(cached)
    step_only = args.steps * args.batch_size / (time.perf_counter() - start)
    loader, sampler = make_loader(folder, args, workers)
    batches = iter(loader)
    step(list(next(batches)[0]))  # starts the loader processes
    done, epoch = 0, 0
    start = time.perf_counter()
    while done < args.steps:
        for views, _labels in batches:
            step(list(views))
            done += 1
            if done == args.steps:
                break
        epoch += 1
        sampler.set_epoch(epoch)
        batches = iter(loader)
    end_to_end = args.steps * args.batch_size / (time.perf_counter() - start)
    return end_to_end, step_only


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2, help="loader processes of the second measurement")
    parser.add_argument("--images", type=int, default=64, help="JPEGs in the temporary folder")
    parser.add_argument("--img-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3, help="timed passes over the folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--with-step", action="store_true", help="also time the loader feeding a LUT step")
    parser.add_argument("--size", default="tiny", choices=["tiny", "small", "base"], help="model of --with-step")
    parser.add_argument("--steps", type=int, default=4, help="timed optimiser steps of --with-step")
    args = parser.parse_args()

    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"main-process threads {torch.get_num_threads()}")
    print(f"{args.images} JPEGs, two views of {args.img_size} px, batch {args.batch_size}, {args.epochs} timed passes")
    with tempfile.TemporaryDirectory() as directory:
        folder = write_photo_folder(Path(directory), args.images, args.seed)
        print("| loader processes | images/s (2 views each) | images/s per process |")
        print("|---|---|---|")
        for workers in sorted({1, args.workers}):
            rate = loader_throughput(folder, args, workers)
            print(f"| {workers} | {rate:.1f} | {rate / workers:.1f} |")
        if args.with_step:
            end_to_end, step_only = step_throughput(folder, args, args.workers)
            print(f"LUT ViT-{args.size}/16 step (decoder 128d2b, heads 1024): {step_only:.1f} img/s on a cached "
                  f"batch, {end_to_end:.1f} img/s fed by {args.workers} loader processes")


if __name__ == "__main__":
    main()
