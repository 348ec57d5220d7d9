"""The pre-training data: the image source, the views drawn from each image and the sharded, resumable loader."""

import dataclasses
import logging
from typing import Any

from torch.utils.data import DataLoader

from lut.config import PretrainConfig
from lut.data.batch_views import BatchSingleView, BatchTwoViews, CanvasTransform
from lut.data.held_out import HELD_OUT_FRACTION, split_part
from lut.data.hf_streaming import open_hub_stream, streamed_counts
from lut.data.sampling import AugmentedDataset, ShardedEpochSampler, random_subset
from lut.data.shards import ShardStream, expand_shards, is_shard_spec, read_samples, shard_counts
from lut.data.sources import build_dataset
from lut.data.views import SingleViewTransform, TwoViewTransform
from lut.data.workers import loader_workers
from lut.errors import UsageError
from lut.runtime.distributed import DistributedContext
from lut.wording import counted

log = logging.getLogger("lut")


@dataclasses.dataclass
class PretrainData:
    """The loader of one process, its sampler (for the epoch and resume position) and the epoch length."""

    loader: DataLoader
    sampler: ShardedEpochSampler | ShardStream  # set_epoch(epoch, start) and num_samples
    steps_per_epoch: int
    augmenter: BatchTwoViews | BatchSingleView | None  # views drawn on the device from uint8 canvases, or None


def build_pretrain_data(config: PretrainConfig, context: DistributedContext) -> PretrainData:
    """The training images of `config.data` (a fixed subset with `train_samples`), sharded over the processes."""
    if is_shard_spec(config.data) or config.hf_streaming:
        return build_shard_data(config, context)
    fraction = HELD_OUT_FRACTION if config.hold_out else 0.0
    images = split_part(build_dataset(config.data, "train", config.data_root, config.download, config.image_column,
                                      config.label_column), config.data, "train", fraction)
    if config.train_samples and context.is_main:
        if config.train_samples < len(images):
            log.info("training on a fixed random subset of %d of the %d images (train_samples=%d)",
                     config.train_samples, len(images), config.train_samples)
        else:
            log.info("train_samples=%d is not fewer than the %d training images: training on all of them",
                     config.train_samples, len(images))
    images = random_subset(images, config.train_samples, config.seed)
    sampler = ShardedEpochSampler(len(images), context.world_size, context.rank, config.seed)
    workers = loader_workers(config.num_workers, announce=context.is_main)
    loader = DataLoader(
        AugmentedDataset(images, view_transform(config), config.seed),
        batch_size=config.batch_size,
        sampler=sampler,
        num_workers=workers,
        pin_memory=context.device.type == "cuda",
        drop_last=True,
        persistent_workers=workers > 0,
    )
    steps_per_epoch = sampler.num_samples // config.batch_size // config.accum_iter
    if steps_per_epoch == 0:
        raise UsageError(
            f"{config.data} has {len(images)} images: too few for one optimiser step of "
            f"{config.batch_size} x {config.accum_iter} x {counted(context.world_size, 'process')}; lower batch_size"
        )
    return PretrainData(loader, sampler, steps_per_epoch, batch_augmenter(config))


def build_shard_data(config: PretrainConfig, context: DistributedContext) -> PretrainData:
    """The tar shards of `config.data`, or its streamed Hugging Face data set, as a stream: shards dealt to the ranks
    and workers, epoch length from the sample count (`train_samples` does not apply)."""
    if config.train_samples:
        raise UsageError("train_samples selects images of a folder; with tar shards or streaming, choose the shards "
                         "instead")
    if config.hf_streaming:
        streamed = open_hub_stream(config.data, "train", config.image_column, config.label_column)
        urls, counts, reader = streamed.shards, streamed_counts(streamed), streamed.reader
    else:
        if config.image_column or config.label_column:
            raise UsageError("image_column and label_column choose columns of a Hugging Face data set; tar shards "
                             "hold images and classes by their file extensions (leave them empty)")
        urls = expand_shards(config.data)
        counts, reader = shard_counts(urls), read_samples
    stream = ShardStream(urls, counts, view_transform(config), config.seed, context.world_size, context.rank,
                         config.batch_size, reader=reader)
    if context.is_main:
        log.info("data %s: %d %s, %d samples, %d per process and epoch", config.data, len(urls),
                 "streamed shards" if config.hf_streaming else "tar shards", sum(counts), stream.num_samples)
    # Workers start again each epoch, so that they see the epoch and start position set in this process.
    loader = DataLoader(stream, batch_size=config.batch_size, num_workers=config.num_workers,
                        pin_memory=context.device.type == "cuda", drop_last=True)
    steps_per_epoch = stream.num_samples // config.batch_size // config.accum_iter
    if steps_per_epoch == 0:
        raise UsageError(f"{config.data} has {sum(counts)} samples: too few for one optimiser step of "
                         f"{config.batch_size} x {config.accum_iter} x {counted(context.world_size, 'process')}")
    return PretrainData(loader, stream, steps_per_epoch, batch_augmenter(config))


def view_transform(config: PretrainConfig) -> TwoViewTransform | SingleViewTransform | CanvasTransform:
    """The loader's per-image transform: two views (weak, strong) for LUT, one for MAE; with augment_on=device
    only the uint8 canvas, from which `batch_augmenter` draws the views on the training device."""
    if config.augment_on == "device":
        return CanvasTransform(config.canvas_size or config.img_size)
    return _views(config, TwoViewTransform, SingleViewTransform)


def batch_augmenter(config: PretrainConfig) -> BatchTwoViews | BatchSingleView | None:
    """The views drawn batched on the training device from the loader's canvases (augment_on=device), else None."""
    return _views(config, BatchTwoViews, BatchSingleView) if config.augment_on == "device" else None


def _views(config: PretrainConfig, two_views: type, single_view: type) -> Any:
    """`two_views` for LUT, `single_view` for MAE, built from the config's crop, normalisation and crop scale."""
    scale = (config.rrc_scale_min, 1.0)
    if config.method == "lut":
        crop = "src" if config.crop == "auto" else config.crop
        return two_views(config.img_size, crop, config.mean, config.std, scale)
    crop = "rrc" if config.crop == "auto" else config.crop
    return single_view(config.img_size, crop, config.mean, config.std, scale)
