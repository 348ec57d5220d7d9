"""mIoU of a segmentation network on a validation split, and `lut segment eval`'s results files."""

from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Subset

from lut.errors import UsageError
from lut.interchange.export import check_output_path
from lut.runtime.distributed import DistributedContext, distributed_session
from lut.runtime.files import write_json
from lut.runtime.precision import autocast_dtype, resolve_precision
from lut.runtime.progress import Progress
from lut.segmentation.checkpoint import load_segmenter
from lut.segmentation.data import segmentation_source
from lut.segmentation.inference import predict_scores, scores_at
from lut.segmentation.metrics import confusion_matrix, segmentation_metrics
from lut.segmentation.model import Segmenter
from lut.segmentation.plots import plot_class_iou
from lut.segmentation.transforms import EvalPairs


@torch.no_grad()
def evaluate_segmenter(
    model: Segmenter,
    dataset: EvalPairs,
    classes: list[str],
    context: DistributedContext,
    mode: str = "slide",
    crop: int = 512,
    stride: int = 341,
    flip: bool = False,
    amp_dtype: torch.dtype | None = None,
    num_workers: int = 0,
    show_progress: bool = False,
    images_per_batch: int = 8,
) -> dict[str, Any]:
    """Dataset-level mIoU, mean and pixel accuracy, per-class IoU (images sharded over ranks, counts summed).

    Args:
        model: the network (put in eval mode here).
        dataset: resized, normalised images with labels at their original size.
        classes: class names (C).
        context: process placement.
        mode: "slide" or "whole".
        crop: sliding window side.
        stride: sliding window step.
        flip: average with the mirrored image.
        amp_dtype: autocast type, or None for fp32.
        num_workers: loader processes.
        show_progress: a progress bar on the main process.
        images_per_batch: images (of equal size) run through the network together.
    """
    model.eval()
    device = context.device
    shard = Subset(dataset, range(context.rank, len(dataset), context.world_size))
    # Images may differ in size: the loader hands over lists, and equal-sized neighbours run as one batch.
    loader = DataLoader(shard, batch_size=images_per_batch, num_workers=num_workers, collate_fn=list)
    confusion = torch.zeros(len(classes), len(classes), dtype=torch.int64, device=device)
    for samples in Progress(loader, disable=not (show_progress and context.is_main), unit="batch",
                            desc="evaluating", dynamic_ncols=True):
        for images, labels in same_size_batches(samples):
            images, labels = images.to(device), labels.to(device)  # (B, 3, h, w), (B, H, W)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                scores = predict_scores(model.predict, images, mode, crop, stride, flip)  # (B, C, h, w)
            predictions = scores_at(scores.float(), labels.shape[-2:]).argmax(dim=1)  # (B, H, W)
            confusion += confusion_matrix(predictions, labels, len(classes))
    if context.is_distributed:
        dist.all_reduce(confusion)
    return segmentation_metrics(confusion.cpu(), classes)


def same_size_batches(samples: list[tuple[torch.Tensor, torch.Tensor]]
                      ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Stack runs of consecutive (image, labels) pairs whose images and labels have equal sizes."""
    batches: list[list[tuple[torch.Tensor, torch.Tensor]]] = []
    for image, labels in samples:
        if batches and (batches[-1][0][0].shape, batches[-1][0][1].shape) == (image.shape, labels.shape):
            batches[-1].append((image, labels))
        else:
            batches.append([(image, labels)])
    return [(torch.stack([image for image, _ in run]), torch.stack([labels for _, labels in run])) for run in batches]


def evaluate_checkpoint(checkpoint: str, data: str | None, output: str, mode: str | None, stride: int | None,
                        flip: bool, device: str = "auto", val_samples: int = 0) -> dict[str, Any]:
    """`lut segment eval`: metrics of a trained checkpoint on a validation split into results.json and a PNG.

    Args:
        checkpoint: a `lut segment train` checkpoint.
        data: validation data (default: the data it was trained on).
        output: folder for results.json and class_iou.png.
        mode: "slide" or "whole" (default: the run's eval_mode).
        stride: sliding step (default: the run's eval_stride).
        flip: flip averaging.
        device: auto, cpu or cuda.
        val_samples: the first N validation images (0: all).

    Returns:
        The results written to results.json.
    """
    check_output_path(Path(output).expanduser(), "--output", folder=True)  # before the work, not after
    loaded = load_segmenter(checkpoint)
    config = loaded.config
    data = data or config.get("data")
    mode = mode or config.get("eval_mode", "slide")
    crop = int(config.get("crop_size", 512))
    stride = stride or int(config.get("eval_stride", crop * 2 // 3))
    source = segmentation_source(data, "val", int(config.get("ignore_index", 255)))
    check_same_classes(source.classes, loaded.classes, data)
    with distributed_session(device) as context:
        dataset = EvalPairs(source, config.get("scale", [2048, 512]), loaded.mean, loaded.std)
        if val_samples:
            dataset = Subset(dataset, range(min(val_samples, len(dataset))))
        model = loaded.model.to(context.device)
        metrics = evaluate_segmenter(model, dataset, loaded.classes, context, mode, crop, stride, flip,
                                     autocast_dtype(resolve_precision(config.get("precision", "auto"), context.device)),
                                     show_progress=True)
        results = {"checkpoint": str(Path(checkpoint).expanduser().resolve()), "data": data, "mode": mode,
                   "crop_size": crop, "stride": stride if mode == "slide" else None, "flip": flip,
                   "images": len(dataset), "iteration": loaded.iteration, **metrics}
        if context.is_main:
            folder = Path(output).expanduser()
            folder.mkdir(parents=True, exist_ok=True)
            write_json(results, folder / "results.json")
            plot_class_iou(metrics["per_class"], metrics["mIoU"], folder / "class_iou.png")
    return results


def check_same_classes(data_classes: list[str], trained_classes: list[str], data: str) -> None:
    """Refuse data whose classes are not the ones the network predicts."""
    if data_classes != trained_classes:
        raise UsageError(f"{data} has {len(data_classes)} classes ({', '.join(data_classes[:4])}, ...) but the "
                         f"network predicts {len(trained_classes)} ({', '.join(trained_classes[:4])}, ...)")

