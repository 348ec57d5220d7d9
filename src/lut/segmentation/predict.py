"""`lut segment predict`: label maps, colour masks and overlays for image files."""

from pathlib import Path

import numpy as np
import torch
from matplotlib import colormaps
from PIL import Image

from lut.data.images import UnreadableImageError, load_rgb
from lut.errors import UsageError
from lut.interchange.export import check_output_path
from lut.runtime.distributed import select_device
from lut.segmentation.checkpoint import load_segmenter
from lut.segmentation.inference import predict_scores, scores_at
from lut.segmentation.legend import with_legend
from lut.segmentation.transforms import normalise, rescale_size

OVERLAY_OPACITY = 0.5


def class_palette(num_classes: int) -> np.ndarray:
    """(C, 3) uint8 colours: tab20's, then evenly spaced hues for more classes."""
    if num_classes <= 20:
        colours = colormaps["tab20"](np.arange(num_classes))[:, :3]
    else:
        colours = colormaps["hsv"](np.linspace(0, 1, num_classes, endpoint=False))[:, :3]
    return (colours * 255).round().astype(np.uint8)


def predict_images(checkpoint: str, images: list[str], out: str, mode: str | None = None, stride: int | None = None,
                   flip: bool = False, device: str = "auto") -> list[Path]:
    """Segment each image and write NAME_labels.png (class ids), NAME_mask.png (colours) and NAME_overlay.png (the
    image half covered by the colours, with a legend of the classes it shows to its right).

    Args:
        checkpoint: a `lut segment train` checkpoint.
        images: image files.
        out: output folder.
        mode: "slide" or "whole" (default: the run's eval_mode).
        stride: sliding step (default: the run's).
        flip: flip averaging.
        device: auto, cpu or cuda.

    Returns:
        The files written.

    Raises:
        UsageError: an unreadable image, an unusable checkpoint or output folder.
    """
    folder = Path(out).expanduser()
    check_output_path(folder, "--out", folder=True)
    loaded = load_segmenter(checkpoint)
    config = loaded.config
    crop = int(config.get("crop_size", 512))
    mode = mode or config.get("eval_mode", "slide")
    stride = stride or int(config.get("eval_stride", crop * 2 // 3))
    target = select_device(device)
    model = loaded.model.to(target)
    palette = class_palette(len(loaded.classes))
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for path in images:
        try:
            image = load_rgb(path)
        except UnreadableImageError as error:
            raise UsageError(str(error)) from error
        resized = image.resize(rescale_size(image.width, image.height, config.get("scale", [2048, 512])),
                               Image.BILINEAR)
        pixels = normalise(resized, loaded.mean, loaded.std)[None].to(target)  # (1, 3, h, w)
        with torch.no_grad():
            scores = predict_scores(model.predict, pixels, mode, crop, stride, flip)  # (1, C, h, w)
        labels = scores_at(scores, (image.height, image.width)).argmax(dim=1)[0].cpu().numpy().astype(np.uint8)
        colours = palette[labels]  # (H, W, 3)
        overlay = (np.asarray(image, dtype=np.float32) * (1 - OVERLAY_OPACITY) + colours * OVERLAY_OPACITY)
        stem = Path(path).stem
        legended = with_legend(overlay.round().astype(np.uint8), labels, loaded.classes, palette)
        for suffix, picture in (("labels", Image.fromarray(labels)), ("mask", Image.fromarray(colours)),
                                ("overlay", legended)):
            target_file = folder / f"{stem}_{suffix}.png"
            picture.save(target_file)
            written.append(target_file)
    return written
