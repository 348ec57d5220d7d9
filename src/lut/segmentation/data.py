"""Segmentation data sources: images with per-pixel labels, mapped to training ids 0..C-1 and `IGNORE_INDEX`.

Three layouts:

- the built-in `fashion-mnist-scenes` (see `lut.segmentation.scenes`), 11 classes, no ignored pixels;
- the ADE20K release, `ROOT/ADEChallengeData2016/` or `ROOT` itself holding
  `images/{training,validation}/*.jpg` and `annotations/{training,validation}/*.png`: label 0
  ("other") becomes ignored and 1..150 become 0..149 (mmseg's `reduce_zero_label`);
- a generic folder: `ROOT/images/{train,val}/*` (any image type), `ROOT/masks/{train,val}/*.png` of the
  same names (single-channel, values 0..C-1, or `ignore_index` for pixels without a label) and
  `ROOT/classes.txt`, one class name a line in label order.
"""

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from lut.data.images import IMAGE_EXTENSIONS, UnreadableImageError, is_image_file, load_rgb
from lut.errors import UsageError
from lut.segmentation.scenes import SCENES_NAME, FashionScenes

IGNORE_INDEX = 255  # training id of pixels without a label
MASK_MODES = ("L", "P", "I", "I;16", "1")  # single-channel PIL modes a label map may have
SPLIT_FOLDERS = {"ade20k": {"train": "training", "val": "validation"}, "generic": {"train": "train", "val": "val"}}
ADE20K_FOLDER = "ADEChallengeData2016"


def ade20k_classes() -> list[str]:
    """The 150 ADE20K class names in label order (label k + 1 in the release files is class k)."""
    text = (resources.files("lut.segmentation") / "ade20k_classes.txt").read_text()
    return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass
class MaskFolderSource:
    """Image files with label-map PNGs of the same names.

    Attributes:
        images: image paths.
        masks: label-map paths, one per image.
        classes: class names; training ids are their positions.
        label_map: (256,) int64 lookup from the stored mask value to the training id (`IGNORE_INDEX` for ignored
            values, -1 for values that may not occur).
    """

    images: list[Path]
    masks: list[Path]
    classes: list[str]
    label_map: np.ndarray

    @property
    def names(self) -> list[str]:
        return [path.stem for path in self.images]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Image.Image, np.ndarray]:
        """The RGB image and its (H, W) uint8 map of training ids.

        Raises:
            UsageError: an unreadable image or mask, a mask that is not single-channel, of another size than its
                image, or with values outside the classes that are not the ignore value.
        """
        image_path, mask_path = self.images[index], self.masks[index]
        try:
            image = load_rgb(image_path)
        except UnreadableImageError as error:
            raise UsageError(str(error)) from error
        stored = read_mask(mask_path)  # (H, W) uint8
        if stored.shape != (image.height, image.width):
            raise UsageError(size_mismatch(mask_path, (stored.shape[1], stored.shape[0]), image_path, image.size))
        labels = self.label_map[stored]  # (H, W) int64
        if (labels < 0).any():
            bad = sorted(set(np.unique(stored[labels < 0]).tolist()))
            raise UsageError(f"mask {mask_path} holds values {bad[:8]} outside the {len(self.classes)} classes "
                             "(0..{}) that are not the ignore value".format(len(self.classes) - 1))
        return image, labels.astype(np.uint8)


    def check_pairs(self) -> None:
        """Compare every image's size with its mask's, and check the mask's mode, from the file headers alone (no
        pixel is decoded), so that a bad pair stops the run before its first step rather than when it is reached.

        Raises:
            UsageError: one line naming the first bad pair (a header PIL cannot read, a mask that is not
                single-channel, or sizes that differ).
        """
        for image_path, mask_path in zip(self.images, self.masks, strict=True):
            image_size = header(image_path, "image")[0]
            mask_size, mask_mode = header(mask_path, "mask")
            if mask_mode not in MASK_MODES:
                raise UsageError(mode_refusal(mask_path, mask_mode))
            if mask_size != image_size:
                raise UsageError(size_mismatch(mask_path, mask_size, image_path, image_size))


def header(path: Path, kind: str) -> tuple[tuple[int, int], str]:
    """(width, height) and PIL mode of an image file, read from its header without decoding the pixels.

    Raises:
        UsageError: a file whose header PIL cannot read (`kind`, "image" or "mask", names it).
    """
    try:
        with Image.open(path) as opened:
            return opened.size, opened.mode
    except Exception as error:  # PIL reports damaged files through many exception types
        raise UsageError(f"cannot read {kind} {path}: {error}") from error


def size_mismatch(mask_path: Path, mask_size: tuple[int, int], image_path: Path, image_size: tuple[int, int]) -> str:
    """The refusal of a mask whose (width, height) differs from its image's."""
    return (f"mask {mask_path} is {mask_size[0]}x{mask_size[1]} px but its image {image_path} is "
            f"{image_size[0]}x{image_size[1]} px")


def mode_refusal(path: Path, mode: str) -> str:
    """The refusal of a mask of PIL mode `mode`, not a single-channel label image."""
    return f"mask {path} has mode {mode}; masks must be single-channel label images"


def read_mask(path: Path) -> np.ndarray:
    """A single-channel label PNG as (H, W) uint8 (palette indices for palette PNGs).

    Raises:
        UsageError: unreadable files and masks with colour channels or values above 255.
    """
    try:
        with Image.open(path) as mask:
            mask.load()
            if mask.mode not in MASK_MODES:
                raise UsageError(mode_refusal(path, mask.mode))
            values = np.asarray(mask)
    except UsageError:
        raise
    except Exception as error:  # PIL reports damaged files through many exception types
        raise UsageError(f"cannot read mask {path}: {error}") from error
    if values.size and values.max() > 255:
        raise UsageError(f"mask {path} holds label {int(values.max())}; labels must be below 256")
    return values.astype(np.uint8)


def pair_files(image_folder: Path, mask_folder: Path) -> tuple[list[Path], list[Path]]:
    """Images and masks matched by file name stem.

    Raises:
        UsageError: a missing folder, no images, or an image without a mask or a mask without an image.
    """
    for folder in (image_folder, mask_folder):
        if not folder.is_dir():
            raise UsageError(f"folder {folder} does not exist")
    images = {path.stem: path for path in sorted(image_folder.iterdir())
              if path.is_file() and not path.name.startswith(".") and is_image_file(path)}
    masks = {path.stem: path for path in sorted(mask_folder.iterdir())
             if path.suffix.lower() == ".png" and not path.name.startswith(".")}
    if not images:
        raise UsageError(f"no images in {image_folder} (looked for {', '.join(IMAGE_EXTENSIONS)})")
    for missing, here, there in ((sorted(set(images) - set(masks)), image_folder, mask_folder),
                                 (sorted(set(masks) - set(images)), mask_folder, image_folder)):
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise UsageError(f"{len(missing)} files in {here} have no counterpart in {there}: {shown}")
    stems = sorted(images)
    return [images[stem] for stem in stems], [masks[stem] for stem in stems]


def ade20k_root(folder: Path) -> Path | None:
    """The ADE20K release folder at or directly below `folder`, or None."""
    for candidate in (folder / ADE20K_FOLDER, folder):
        if (candidate / "images" / "training").is_dir() and (candidate / "annotations").is_dir():
            return candidate
    return None


def ade20k_source(root: Path, split: str) -> MaskFolderSource:
    """ADE20K with mmseg's `reduce_zero_label`: stored 0 -> ignored, stored k -> k - 1."""
    folder = SPLIT_FOLDERS["ade20k"][split]
    images, masks = pair_files(root / "images" / folder, root / "annotations" / folder)
    classes = ade20k_classes()
    label_map = np.full(256, -1, dtype=np.int64)
    label_map[0] = IGNORE_INDEX
    label_map[1:len(classes) + 1] = np.arange(len(classes))
    return MaskFolderSource(images, masks, classes, label_map)


def read_classes(path: Path) -> list[str]:
    """Class names, one a line.

    Raises:
        UsageError: a missing file, no names, duplicates, or more names than 8-bit masks can hold.
    """
    if not path.is_file():
        raise UsageError(f"no class list {path}: write one class name a line, in label order")
    classes = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not classes:
        raise UsageError(f"{path} names no classes")
    duplicates = sorted({name for name in classes if classes.count(name) > 1})
    if duplicates:
        raise UsageError(f"{path} names classes more than once: {', '.join(duplicates)}")
    if len(classes) > IGNORE_INDEX:
        raise UsageError(f"{path} names {len(classes)} classes; at most {IGNORE_INDEX} fit 8-bit masks")
    return classes


def generic_source(root: Path, split: str, ignore_index: int) -> MaskFolderSource:
    """`ROOT/images/SPLIT`, `ROOT/masks/SPLIT` and `ROOT/classes.txt`; mask value `ignore_index` is ignored.

    Raises:
        UsageError: see `pair_files` and `read_classes`; an ignore index that is also a class.
    """
    folder = SPLIT_FOLDERS["generic"][split]
    classes = read_classes(root / "classes.txt")
    if ignore_index < len(classes):
        raise UsageError(f"ignore_index {ignore_index} is one of the {len(classes)} classes (0..{len(classes) - 1})")
    images, masks = pair_files(root / "images" / folder, root / "masks" / folder)
    label_map = np.full(256, -1, dtype=np.int64)
    label_map[:len(classes)] = np.arange(len(classes))
    if ignore_index < 256:
        label_map[ignore_index] = IGNORE_INDEX
    return MaskFolderSource(images, masks, classes, label_map)


SegmentationSource = FashionScenes | MaskFolderSource


def data_identity(data: str) -> str:
    """What names a data set when a run is resumed: the built-in name, or the folder's absolute path."""
    return data if data == SCENES_NAME else str(Path(data).expanduser().resolve())


def segmentation_source(data: str, split: str, ignore_index: int = IGNORE_INDEX) -> SegmentationSource:
    """The split ("train" or "val") of a built-in name, an ADE20K release folder or a generic folder.

    Raises:
        UsageError: unknown names, missing folders, the layout problems listed above, and a pair whose image and
            mask differ in size or whose mask is not single-channel (`MaskFolderSource.check_pairs`).
    """
    if data == SCENES_NAME:
        return FashionScenes(split)
    root = Path(data).expanduser()
    if not root.is_dir():
        raise UsageError(f"segmentation data {data!r} is neither {SCENES_NAME} nor an existing folder")
    ade = ade20k_root(root)
    if ade is not None:
        source = ade20k_source(ade, split)
    elif (root / "images").is_dir() or (root / "classes.txt").is_file():
        source = generic_source(root, split, ignore_index)
    else:
        raise UsageError(f"{root} is neither an ADE20K release folder (images/training, annotations/training) nor a "
                         "folder with images/, masks/ and classes.txt")
    source.check_pairs()
    return source
