"""A built-in segmentation data set of real images that needs no download: Fashion-MNIST scenes.

Each scene is a dark, slightly noisy canvas on which a few real Fashion-MNIST garments are pasted
at random sizes, places and tints. A pixel is labelled with its garment's class (1..10) where the
garment's own grey value exceeds `GARMENT_THRESHOLD`, and 0 ("background") elsewhere; a garment
pasted later covers the earlier ones. Scene `i` of a split depends only on (split, i), so the
training scenes (drawn from Fashion-MNIST's training images) and the validation scenes (from its
test images) are fixed.
"""

import numpy as np
from PIL import Image

from lut.data.sources import FASHION_MNIST_CLASSES, FashionMNIST
from lut.runtime.seeding import derive_seed

SCENES_NAME = "fashion-mnist-scenes"
SCENE_CLASSES = ["background", *FASHION_MNIST_CLASSES]
SCENE_SIZE = 48
SCENE_COUNTS = {"train": 4000, "val": 500}
GARMENTS_PER_SCENE = (2, 4)  # inclusive range
GARMENT_SIDES = (16, 28)  # inclusive range of the pasted garment's side in pixels
GARMENT_THRESHOLD = 40  # grey value (0..255) above which a garment pixel is the garment
BACKGROUND_NOISE = 24  # background pixels are uniform in [0, BACKGROUND_NOISE)
_SPLIT_IDS = {"train": 0, "val": 1}


class FashionScenes:
    """Scenes of Fashion-MNIST garments with per-pixel labels.

    Args:
        split: "train" (scenes from Fashion-MNIST's training images) or "val" (from its test images).
        count: number of scenes; defaults to `SCENE_COUNTS[split]`.
        size: canvas side in pixels.
        garments: the `FashionMNIST` split to draw from (read from the installed files when None).
    """

    def __init__(self, split: str, count: int | None = None, size: int = SCENE_SIZE,
                 garments: FashionMNIST | None = None) -> None:
        self.split = split
        self.count = SCENE_COUNTS[split] if count is None else count
        self.size = size
        self.garments = garments if garments is not None else FashionMNIST("train" if split == "train" else "test")
        self.classes = list(SCENE_CLASSES)
        self.names = [f"{SCENES_NAME}-{split}-{index:05d}" for index in range(self.count)]

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> tuple[Image.Image, np.ndarray]:
        """The RGB scene and its (size, size) uint8 label map."""
        rng = np.random.default_rng(derive_seed(_SPLIT_IDS[self.split], index))
        canvas = rng.integers(0, BACKGROUND_NOISE, (self.size, self.size, 3)).astype(np.float32)  # (S, S, 3)
        labels = np.zeros((self.size, self.size), dtype=np.uint8)  # (S, S)
        for _ in range(rng.integers(GARMENTS_PER_SCENE[0], GARMENTS_PER_SCENE[1] + 1)):
            garment, label = self.garments[int(rng.integers(len(self.garments)))]
            side = int(rng.integers(GARMENT_SIDES[0], GARMENT_SIDES[1] + 1))
            grey = np.asarray(garment.convert("L").resize((side, side), Image.BILINEAR), dtype=np.float32)
            top, left = (int(value) for value in rng.integers(0, self.size - side + 1, 2))
            tint = rng.uniform(0.5, 1.0, 3).astype(np.float32)  # (3,) RGB colour of the garment
            where = grey > GARMENT_THRESHOLD  # (side, side)
            window = canvas[top:top + side, left:left + side]
            window[where] = grey[where, None] * tint
            labels[top:top + side, left:left + side][where] = label + 1
        return Image.fromarray(canvas.round().clip(0, 255).astype(np.uint8)), labels
