"""`lut data pack`: any data set written as WebDataset tar shards with their index (`shards.json`)."""

import io
from collections.abc import Callable
from pathlib import Path

from torch.utils.data import Dataset

from lut.data.shards import IMAGE_KEYS, INDEX_FILE
from lut.data.sources import ImageFolderSource
from lut.runtime.files import write_json


def pack_shards(dataset: Dataset, output: Path, shard_size: int, progress: Callable[[int], None] | None = None,
                images: dict[str, str] | None = None) -> dict:
    """Write `dataset`'s samples as tar shards of `shard_size` samples into `output`, with `shards.json` (sample
    counts, classes, and `images`: which images these are, from `lut.data.held_out.image_selection`); returns that
    index.

    Image files of a folder keep their bytes (`.jpg`, `.png`, `.webp`; unreadable ones are left out, each
    reported once); other images are stored as PNG. Labels go to `cls` entries when the data set has classes.
    """
    import webdataset

    output.mkdir(parents=True, exist_ok=True)
    classes = list(getattr(dataset, "classes", []))
    written = 0
    with webdataset.ShardWriter(str(output / "shard-%06d.tar"), maxcount=shard_size, verbose=0) as writer:
        for index in range(len(dataset)):
            image, label = dataset[index]
            sample = {"__key__": f"{index:09d}"}
            if isinstance(dataset, ImageFolderSource):
                if index in dataset.unreadable:
                    continue
                path = dataset.samples[index][0]
                suffix = path.suffix.lower().lstrip(".")
                if suffix in IMAGE_KEYS:
                    sample[suffix] = path.read_bytes()
            if len(sample) == 1:
                encoded = io.BytesIO()
                image.save(encoded, format="PNG")
                sample["png"] = encoded.getvalue()
            if classes:
                sample["cls"] = str(label).encode()
            writer.write(sample)
            written += 1
            if progress is not None:
                progress(1)
    names = sorted(path.name for path in output.glob("shard-*.tar"))
    counts = {name: min(shard_size, written - position * shard_size) for position, name in enumerate(names)}
    index = {"counts": counts, "classes": classes, "samples": written}
    if images is not None:
        index["images"] = images
    write_json(index, output / INDEX_FILE)
    return index
