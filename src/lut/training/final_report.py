"""What a finished run shows: reconstructions of a few images and a k-NN check of the encoder."""

import logging
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from lut.analysis.reconstruction import reconstruct, save_reconstruction_figure
from lut.config import PretrainConfig
from lut.data.hf_streaming import open_hub_stream
from lut.data.shards import expand_shards, is_shard_spec, read_samples
from lut.data.showcase import showcase, showcase_stream
from lut.data.sources import build_dataset
from lut.data.views import EvalTransform
from lut.errors import UsageError
from lut.evaluation.online_knn import OnlineKnn
from lut.masking import sample_keep_ids
from lut.models import PretrainModel, Teacher

log = logging.getLogger("lut")


@torch.no_grad()
def save_reconstructions(student: PretrainModel, config: PretrainConfig, device: torch.device, path: Path) -> None:
    """Reconstruct `num_visualize` training images of different classes under a fixed mask."""
    transform = EvalTransform(config.img_size, config.mean, config.std)
    images = torch.stack([transform(image) for image in figure_images(config)]).to(device)  # (B, C, H, W)
    count = images.shape[0]
    generator = torch.Generator().manual_seed(config.seed)
    (keep_ids,) = sample_keep_ids(count, student.num_patches, config.mask_ratio, 1, generator)
    results = reconstruct(student, images, keep_ids.to(device), config.norm_pix_loss)
    save_reconstruction_figure(images, results, config.mean, config.std, path, config.norm_pix_loss)


def figure_images(config: PretrainConfig) -> list[Image.Image]:
    """`num_visualize` training images spread over the classes (`lut.data.showcase`): of the whole data set, or of
    the first samples of tar shards and streamed data."""
    if is_shard_spec(config.data) or config.hf_streaming:
        if config.hf_streaming:
            streamed = open_hub_stream(config.data, "train", config.image_column, config.label_column)
            samples = streamed.reader(streamed.shards)
        else:
            samples = read_samples(expand_shards(config.data))
        return showcase_stream(samples, config.num_visualize)
    data = build_dataset(config.data, "train", config.data_root, False, config.image_column, config.label_column)
    return showcase(data, config.num_visualize)


def build_knn_monitor(config: PretrainConfig) -> OnlineKnn | None:
    """The k-NN evaluator of `knn_train_data` (default: the run's data) and `knn_test_data` (default: that data's
    test split), or None, with a warning, when the data has no labels or no test split (tar shards, streaming)."""
    memory = config.knn_train_data or config.data
    if config.hf_streaming and not config.knn_train_data:
        log.warning("k-NN skipped: with hf_streaming=true only the training split is read, as a stream; name the "
                    "k-NN memory and queries (knn_train_data=, knn_test_data=: folders, tar shards or Hugging Face "
                    "data) to run it")
        return None
    try:
        return OnlineKnn(memory, config.img_size, config.mean, config.std, config.knn_train_samples,
                         config.knn_test_samples, config.knn_k, config.seed, config.data_root,
                         columns=(config.image_column, config.label_column), test_data=config.knn_test_data)
    except UsageError as error:
        log.warning("k-NN skipped: %s", error)
        return None


def final_knn(
    monitor: OnlineKnn, student: PretrainModel, teacher: Teacher | None, device: torch.device
) -> dict[str, Any]:
    """k-NN top-1 accuracy (%) on the test split: raw pixels, student and teacher side by side."""
    encoders = {"raw_pixels": None, "student": student.encoder}
    if teacher is not None:
        encoders["teacher"] = teacher.encoder
    result: dict[str, Any] = {"k": monitor.k, "train_samples": len(monitor.train), "test_samples": len(monitor.test)}
    for name, encoder in encoders.items():
        result[name] = monitor.evaluate(encoder, device)["knn_top1"]
        result["train_samples"], result["test_samples"] = monitor.readable["train"], monitor.readable["test"]
        print(f"k-NN (k={monitor.k}) top-1, {result['test_samples']} test images: {name:<10} {result[name]:.2f}%")
    return result
