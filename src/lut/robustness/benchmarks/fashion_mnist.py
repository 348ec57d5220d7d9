"""Fashion-MNIST's test set, clean and under shifts made from it honestly (a built-in benchmark).

The garments lie on a black background, so an object can be rotated, shrunk or moved on a
larger black canvas without inventing pixels, in the manner of SI-Score:

- rotation: the 28 x 28 image rotated by 20, 65, ..., 335 degrees (bicubic, black corners; no
  multiple of 90, as SI-Score advises);
- size: the garment shrunk to 40-100 % of the side, centred on the black 28 x 28 canvas;
- location: the garment at its own size on a black 56 x 56 canvas, centred at 25-75 % of the
  width (vertically centred); the model sees the canvas, so the garment is half as large as in
  the clean image: compare the points with each other (the centre one is the size-50 % image);
- occlusion: centred holes of 1/4, 3/8 and 1/2 of the model's input side, pixel-space zeros.
"""

from collections.abc import Callable
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset, Subset

from lut.data.sources import FashionMNIST
from lut.robustness.benchmarks.base import Benchmark, Pass, subsample
from lut.robustness.options import RobustnessOptions
from lut.robustness.scoring import top1

SIDE = 28
ROTATIONS = (20, 65, 110, 155, 200, 245, 290, 335)
SIZES = (0.4, 0.55, 0.7, 0.85, 1.0)
LOCATIONS = (0.25, 0.375, 0.5, 0.625, 0.75)
LOCATION_CANVAS = 56
HOLE_FRACTIONS = (0.25, 0.375, 0.5)


class Images(Dataset):
    """The PIL images of a labelled data set, without their labels."""

    def __init__(self, source: Dataset) -> None:
        self.source = source

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> Image.Image:
        return self.source[index][0]


class Rotate:
    """Rotate by `degrees` counter-clockwise about the centre, black corners."""

    def __init__(self, degrees: float) -> None:
        self.degrees = degrees

    def __call__(self, image: Image.Image) -> Image.Image:
        return image.rotate(self.degrees, resample=Image.Resampling.BICUBIC, fillcolor=(0, 0, 0))


class Place:
    """Scale the image by `scale` and paste it on a black `canvas`-pixel square with its centre at (x, y).

    Args:
        scale: the pasted image's side over its own side.
        canvas: canvas side in pixels.
        x: centre's horizontal position as a fraction of the canvas width.
        y: centre's vertical position as a fraction of the canvas height.
    """

    def __init__(self, scale: float, canvas: int, x: float = 0.5, y: float = 0.5) -> None:
        self.scale, self.canvas, self.x, self.y = scale, canvas, x, y

    def __call__(self, image: Image.Image) -> Image.Image:
        side = max(1, round(image.width * self.scale))
        pasted = image if side == image.width else image.resize((side, side), Image.Resampling.BICUBIC)
        canvas = Image.new("RGB", (self.canvas, self.canvas))
        canvas.paste(pasted, (round(self.x * self.canvas - side / 2), round(self.y * self.canvas - side / 2)))
        return canvas


def fashion_mnist(root: Path | None, options: RobustnessOptions, others: dict[str, Path]) -> Benchmark:
    """The 10,000 test images, clean and shifted; root is the IDX folder (default: the installed data set)."""
    source = FashionMNIST("test", root)
    chosen = subsample(list(range(len(source))), options.max_images, options.seed)
    images = Images(Subset(source, chosen))
    targets = torch.tensor([source[index][1] for index in chosen])  # (N,)
    size = source.images_path.stat().st_size
    identity = f"fashion-mnist-test:{source.images_path}:{size}:{options.max_images}:{options.seed}"

    def shifted(name: str, transform: Callable | None) -> Pass:
        return Pass(name, images, identity, image_transform=transform)

    passes = [shifted("clean", None)]
    passes += [shifted(f"rotation-{angle}", Rotate(angle)) for angle in ROTATIONS]
    passes += [shifted(f"size-{size}", Place(size, SIDE)) for size in SIZES]
    passes += [shifted(f"location-{x}", Place(1.0, LOCATION_CANVAS, x)) for x in LOCATIONS]
    passes += [Pass(f"hole-{fraction}", images, identity, occlusion=(fraction, "pixel")) for fraction in HOLE_FRACTIONS]
    factors = {"rotation": ROTATIONS, "size": SIZES, "location": LOCATIONS, "hole": HOLE_FRACTIONS}

    def score(logits: dict[str, torch.Tensor]) -> dict:
        results: dict = {"top1": top1(logits["clean"], targets), "images": len(targets)}
        for factor, values in factors.items():
            points = [{"value": value, "top1": top1(logits[f"{factor}-{value}"], targets)} for value in values]
            results[factor] = points
            results[f"{factor}_mean"] = sum(point["top1"] for point in points) / len(points)
        return results

    columns = {"FMNIST": "top1", "Occ (mean of 3 holes)": "hole_mean", "Rot (mean)": "rotation_mean",
               "Size (mean)": "size_mean", "Loc (mean, 56 px canvas)": "location_mean"}
    curves = {"rotation (degrees)": "rotation", "object side (fraction of the image)": "size",
              "object centre x (fraction of a 56 px canvas)": "location",
              "hole side (fraction of the input)": "hole"}
    return Benchmark("fashion-mnist", passes, score, "top1", num_classes=10, columns=columns, curves=curves,
                     notes=["fashion-mnist: test set clean, rotated, shrunk, moved on a 56 px canvas, occluded "
                            "(see docs/ROBUSTNESS.md)"])
