"""The legend beside a segmentation overlay: a colour swatch and the name of every class the prediction holds."""

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROW_HEIGHT = 14  # pixels per legend line
SWATCH = 10  # side of a colour swatch
MARGIN = 4
BACKGROUND = (255, 255, 255)
TEXT_COLOUR = (0, 0, 0)


def legend_entries(labels: np.ndarray, classes: list[str]) -> list[int]:
    """The class ids present in `labels` ((H, W) ids), most pixels first (ties by id)."""
    ids, counts = np.unique(labels, return_counts=True)
    present = [(int(count), int(index)) for index, count in zip(ids, counts, strict=True) if index < len(classes)]
    return [index for _count, index in sorted(present, key=lambda item: (-item[0], item[1]))]


def with_legend(overlay: np.ndarray, labels: np.ndarray, classes: list[str], palette: np.ndarray) -> Image.Image:
    """`overlay` ((H, W, 3) uint8, kept pixel for pixel at the top left) with a legend to its right: one line per
    class present in `labels`, its colour from `palette` ((C, 3) uint8) and its name.

    Returns:
        An RGB image of width W + the legend's and height max(H, the legend's).
    """
    font = ImageFont.load_default()
    entries = legend_entries(labels, classes)
    text_width = max((int(np.ceil(font.getlength(classes[index]))) for index in entries), default=0)
    panel_width = MARGIN + SWATCH + MARGIN + text_width + MARGIN
    height, width = overlay.shape[:2]
    canvas = Image.new("RGB", (width + panel_width, max(height, MARGIN + ROW_HEIGHT * len(entries))), BACKGROUND)
    canvas.paste(Image.fromarray(overlay), (0, 0))
    draw = ImageDraw.Draw(canvas)
    for row, index in enumerate(entries):
        top = MARGIN + row * ROW_HEIGHT
        left = width + MARGIN
        draw.rectangle((left, top, left + SWATCH - 1, top + SWATCH - 1), fill=tuple(int(v) for v in palette[index]))
        draw.text((left + SWATCH + MARGIN, top - 1), classes[index], fill=TEXT_COLOUR, font=font)
    return canvas
