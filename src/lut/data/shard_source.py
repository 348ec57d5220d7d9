"""Local tar shards read by index, for the commands that need random access (`lut knn`, `linprobe`, `finetune`,
the k-NN monitor): the samples of `lut data pack` shards in order, with their labels and classes.

Opening the shards reads their tar headers once (the members' offsets and sizes) and the `cls` entries; an image is
read with one seek when it is asked for. The classes come from `shards.json` beside the first shard; without it they
are named by their indices ("0", "1", ...), which is said in one line. `shards.json` also says which images were
packed (`images`: the folder and its part), so that evaluation can refuse a test set that shares them.
"""

import hashlib
import io
import json
import logging
import tarfile
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from lut.data.shards import IMAGE_KEYS, INDEX_FILE, expand_shards
from lut.errors import UsageError

log = logging.getLogger("lut.data")
# Where one member's bytes are: (shard index, offset, size).
Member = tuple[int, int, int]


def sample_key(name: str) -> tuple[str, str]:
    """(key, extension) of a member name, as WebDataset splits it: the extension starts at the basename's first dot."""
    folder, _, base = name.rpartition("/")
    stem, _, extension = base.partition(".")
    return f"{folder}/{stem}" if folder else stem, extension.lower()


class TarShardSource(Dataset):
    """The samples of local tar shards as `(RGB PIL image, label)`, label -1 without a `cls` entry.

    Args:
        spec: the shards as `data=` names them (a brace pattern, `::` between lists).
    """

    def __init__(self, spec: str) -> None:
        self.root = spec
        self.urls = expand_shards(spec)
        remote = [url for url in self.urls if "://" in url]
        if remote:
            raise UsageError(f"data {spec!r}: evaluation reads tar shards by index, from local files only; "
                             f"{remote[0]} is a URL (copy the shards to a local disk)")
        self.images: list[Member] = []
        self.labels: list[int] = []
        for shard, url in enumerate(self.urls):
            self._index(shard, Path(url).expanduser())
        if not self.images:
            raise UsageError(f"data {spec!r}: the shards hold no images ({', '.join(IMAGE_KEYS)})")
        index_file = Path(self.urls[0]).expanduser().parent / INDEX_FILE
        index = json.loads(index_file.read_text()) if index_file.is_file() else {}
        self.classes = self._classes(index.get("classes", []))
        # Which images were packed ({"root", "part"}), when `lut data pack` recorded it.
        self.packed: dict[str, str] | None = index.get("images")

    def _index(self, shard: int, path: Path) -> None:
        """Append the images and labels of one shard, in member order."""
        samples: dict[str, dict[str, tarfile.TarInfo]] = {}
        try:
            with tarfile.open(path) as tar:
                for member in tar:
                    if member.isfile():
                        key, extension = sample_key(member.name)
                        samples.setdefault(key, {})[extension] = member
                labels = {key: tar.extractfile(entries["cls"]).read() for key, entries in samples.items()
                          if "cls" in entries}
        except (OSError, tarfile.TarError) as error:
            raise UsageError(f"tar shard {path} cannot be read ({error})") from error
        for key, entries in samples.items():
            image = next((entries[extension] for extension in IMAGE_KEYS if extension in entries), None)
            if image is None:
                continue
            self.images.append((shard, image.offset_data, image.size))
            self.labels.append(int(labels[key]) if key in labels else -1)

    def _classes(self, classes: list[str]) -> list[str]:
        """`classes` (from `shards.json`), else the label indices as names (said in one line); empty unlabelled."""
        if max(self.labels) < 0:
            return []
        if len(classes) > max(self.labels):
            return list(classes)
        log.info("data %s: no class names (%s beside the shards); classes are named by their labels 0..%d",
                 self.root, INDEX_FILE, max(self.labels))
        return [str(label) for label in range(max(self.labels) + 1)]

    def __len__(self) -> int:
        return len(self.images)

    @property
    def targets(self) -> list[int]:
        """Every sample's label, in order."""
        return list(self.labels)

    def fingerprint(self) -> str:
        """A digest of the shards' paths, sizes and modification times (the feature cache's key)."""
        digest = hashlib.sha256()
        for url in self.urls:
            status = Path(url).expanduser().stat()
            digest.update(f"{url}\t{status.st_size}:{status.st_mtime_ns}\n".encode())
        return digest.hexdigest()

    def __getitem__(self, index: int) -> tuple[Image.Image, int]:
        shard, offset, size = self.images[index]
        with open(Path(self.urls[shard]).expanduser(), "rb") as file:
            file.seek(offset)
            data = file.read(size)
        try:
            image = Image.open(io.BytesIO(data))
            return image.convert("RGB"), self.labels[index]
        except (UnidentifiedImageError, OSError) as error:
            raise UsageError(f"sample {index} of {self.urls[shard]} is not a readable image ({error})") from error
