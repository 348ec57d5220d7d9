"""Stand-in data for timing the downstream runs on a GPU machine without the real data sets.

Both folders are cut from scikit-image's sample photos (`data_benchmark.PHOTOS`), so the decode and augmentation
work is that of real photographs; the labels are arbitrary, so only speed means anything.

- `ade20k`: the ADE20K release layout (`ADEChallengeData2016/images/{training,validation}/*.jpg`,
  `annotations/{training,validation}/*.png`), 683 x 512 photos, masks of 150 classes in blocks of 64 px.
- `classes`: an ImageNet-style folder (`train/CLASS/*.jpg`, `val/CLASS/*.jpg`) of photos 256-400 px per side.

    python benchmarks/downstream_data.py ade20k /tmp/ade --images 64
    python benchmarks/downstream_data.py classes /tmp/photos --images 512 --classes 10
"""

import argparse
from pathlib import Path

import numpy as np
from data_benchmark import write_photo_folder
from PIL import Image

ADE20K_SIZE = (683, 512)  # width, height: the common ADE20K aspect
ADE20K_CLASSES = 150
MASK_BLOCK = 64


def write_ade20k(root: Path, images: int, seed: int = 0) -> Path:
    """`images` training and `images // 4` validation pairs in the ADE20K release layout; returns the release folder.

    Mask values are 1-150 (0 is ADE20K's "other", ignored), constant over blocks of `MASK_BLOCK` pixels.
    """
    release = root / "ADEChallengeData2016"
    rng = np.random.default_rng(seed)
    for split, count in (("training", images), ("validation", max(1, images // 4))):
        photos = write_photo_folder(_fresh(release / "images" / split), count, seed)
        masks = _fresh(release / "annotations" / split)
        for path in sorted(photos.glob("*.jpg")):
            Image.open(path).convert("RGB").resize(ADE20K_SIZE).save(path, quality=90)
            blocks_high, blocks_wide = (-(-side // MASK_BLOCK) for side in ADE20K_SIZE[::-1])
            blocks = rng.integers(1, ADE20K_CLASSES + 1, size=(blocks_high, blocks_wide), dtype=np.uint8)
            mask = np.kron(blocks, np.ones((MASK_BLOCK, MASK_BLOCK), dtype=np.uint8))
            Image.fromarray(mask[:ADE20K_SIZE[1], :ADE20K_SIZE[0]]).save(masks / f"{path.stem}.png")
    return release


def write_classes(root: Path, images: int, classes: int, seed: int = 0) -> Path:
    """`images` training and `images // 4` validation photos spread over `classes` class folders; returns `root`."""
    for split, count in (("train", images), ("val", max(classes, images // 4))):
        photos = write_photo_folder(_fresh(root / split / "all"), count, seed)
        for index, path in enumerate(sorted(photos.glob("*.jpg"))):
            path.rename(_fresh(root / split / f"class{index % classes:03d}", keep=True) / path.name)
        photos.rmdir()
    return root


def _fresh(folder: Path, keep: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=keep)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("ade20k", "classes"))
    parser.add_argument("root", type=Path)
    parser.add_argument("--images", type=int, default=64, help="training images (validation: a quarter)")
    parser.add_argument("--classes", type=int, default=10, help="classes of the `classes` folder")
    args = parser.parse_args()
    if args.kind == "ade20k":
        print(write_ade20k(args.root, args.images))
    else:
        print(write_classes(args.root, args.images, args.classes))


if __name__ == "__main__":
    main()
