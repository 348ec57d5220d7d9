"""Throughput of the two-view data pipeline (JPEG decode + LUT's two augmented views).

Writes a small folder of JPEGs (random crops of scikit-image's sample photos, 224 px or more
per side) to a temporary directory and times `AugmentedDataset(build_dataset(folder),
TwoViewTransform(224), seed)` through a DataLoader with 1 and with --workers processes.
With --with-step it also times the loader feeding a small LUT model's optimiser step.
With --device-augment it also times the two halves of `augment_on=device` separately: the
loader producing uint8 canvases (`CanvasTransform`, decode + one resize) with 1 and --workers
processes, and `BatchTwoViews` making both views of --augment-batch canvases on --augment-device
(the pinned host-to-device copy of the canvases included).
With --shards it also packs the folder into WebDataset tar shards (`lut data pack`, the JPEG bytes
kept) and times the same two views read from them (`ShardStream`, as `data=SHARDS` does).

    python benchmarks/data_benchmark.py --workers 2
    python benchmarks/data_benchmark.py --workers 2 --with-step
    python benchmarks/data_benchmark.py --workers 2 --device-augment --augment-batch 64
    python benchmarks/data_benchmark.py --workers 2 --shards --shard-size 16
"""

import argparse
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import skimage.data
import torch
from PIL import Image
from timm.optim import param_groups_weight_decay
from torch.utils.data import DataLoader

from lut import create_model
from lut.data.batch_views import BatchTwoViews, CanvasTransform
from lut.data.packing import pack_shards
from lut.data.sampling import AugmentedDataset, ShardedEpochSampler
from lut.data.shards import ShardStream, shard_counts
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


def make_loader(folder: Path, args: argparse.Namespace, workers: int,
                transform: Callable | None = None) -> tuple[DataLoader, ShardedEpochSampler]:
    """The pre-training loader over `folder` with `workers` processes (0: in the main process).

    `transform` maps an image to a tuple of tensors; the default is LUT's two CPU views.
    """
    base = build_dataset(str(folder))
    sampler = ShardedEpochSampler(len(base), seed=args.seed)
    loader = DataLoader(
        AugmentedDataset(base, transform or TwoViewTransform(args.img_size), args.seed),
        batch_size=args.batch_size,
        sampler=sampler,
        num_workers=workers,
        drop_last=True,
        persistent_workers=workers > 0,
    )
    return loader, sampler


def timed_throughput(loader: DataLoader, set_epoch: Callable[[int], None], epochs: int) -> float:
    """Images (each two views, or one canvas) per second over `epochs` passes, after one untimed pass."""
    for _batch in loader:  # starts the loader processes and warms the file cache
        pass
    images = 0
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        set_epoch(epoch)
        for views, _labels in loader:
            images += views[0].shape[0]
    return images / (time.perf_counter() - start)


def loader_throughput(folder: Path, args: argparse.Namespace, workers: int, transform: Callable | None = None) -> float:
    """Images per second of the folder loader with `workers` processes."""
    loader, sampler = make_loader(folder, args, workers, transform)
    return timed_throughput(loader, sampler.set_epoch, args.epochs)


def shard_throughput(shard_folder: Path, args: argparse.Namespace, workers: int) -> float:
    """Two-view images per second read from the tar shards with `workers` processes."""
    urls = [str(path) for path in sorted(shard_folder.glob("shard-*.tar"))]
    stream = ShardStream(urls, shard_counts(urls), TwoViewTransform(args.img_size), args.seed,
                         batch_size=args.batch_size)
    loader = DataLoader(stream, batch_size=args.batch_size, num_workers=workers, drop_last=True)
    return timed_throughput(loader, stream.set_epoch, args.epochs)


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


def augment_throughput(folder: Path, args: argparse.Namespace) -> float:
    """Images per second of `BatchTwoViews` on --augment-device: pinned canvases copied over, both views made."""
    device = torch.device(args.augment_device)
    transform = CanvasTransform(args.canvas_size or args.img_size)
    base = build_dataset(str(folder))
    canvases = torch.stack([transform(base[index % len(base)][0])[0] for index in range(args.augment_batch)])
    if device.type == "cuda":
        canvases = canvases.pin_memory()
    augmenter = BatchTwoViews(args.img_size)
    generator = torch.Generator()

    def views(step: int) -> None:
        augmenter(canvases.to(device, non_blocking=True), generator.manual_seed(args.seed + step))

    views(0)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for step in range(args.augment_steps):
        views(step)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return args.augment_steps * args.augment_batch / (time.perf_counter() - start)


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
    parser.add_argument("--device-augment", action="store_true",
                        help="also time the canvas loader and the batched device augmentation (augment_on=device)")
    parser.add_argument("--canvas-size", type=int, default=0, help="canvas side of --device-augment (0: --img-size)")
    parser.add_argument("--augment-device", default="cuda" if torch.cuda.is_available() else "cpu",
                        help="device of the batched augmentation")
    parser.add_argument("--augment-batch", type=int, default=64, help="canvases per batch of --device-augment")
    parser.add_argument("--augment-steps", type=int, default=5, help="timed batches of --device-augment")
    parser.add_argument("--shards", action="store_true", help="also time the same images read from tar shards")
    parser.add_argument("--shard-size", type=int, default=16, help="images per shard of --shards")
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
        if args.device_augment:
            canvas_size = args.canvas_size or args.img_size
            print(f"\naugment_on=device: loader makes uint8 {canvas_size} px canvases")
            print("| loader processes | canvases/s | canvases/s per process |")
            print("|---|---|---|")
            for workers in sorted({1, args.workers}):
                rate = loader_throughput(folder, args, workers, CanvasTransform(canvas_size))
                print(f"| {workers} | {rate:.1f} | {rate / workers:.1f} |")
            rate = augment_throughput(folder, args)
            print(f"BatchTwoViews on {args.augment_device} ({torch.get_num_threads()} threads on CPU), batch "
                  f"{args.augment_batch}, {canvas_size} px canvases -> two {args.img_size} px views: {rate:.1f} img/s")
        if args.shards:
            shard_folder = Path(directory) / "shards"
            pack_shards(build_dataset(str(folder)), shard_folder, args.shard_size)
            print(f"\ntar shards of {args.shard_size} JPEGs (data=SHARDS)")
            print("| loader processes | images/s (2 views each) | images/s per process |")
            print("|---|---|---|")
            for workers in sorted({1, args.workers}):
                rate = shard_throughput(shard_folder, args, workers)
                print(f"| {workers} | {rate:.1f} | {rate / workers:.1f} |")
        if args.with_step:
            end_to_end, step_only = step_throughput(folder, args, args.workers)
            print(f"LUT ViT-{args.size}/16 step (decoder 128d2b, heads 1024): {step_only:.1f} img/s on a cached "
                  f"batch, {end_to_end:.1f} img/s fed by {args.workers} loader processes")


if __name__ == "__main__":
    main()
