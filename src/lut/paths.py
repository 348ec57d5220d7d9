"""Checks of the paths a command will write, made before any work."""

import os
from pathlib import Path

from lut.errors import UsageError

# Where downloadable data sets are stored, unless data_root= says otherwise.
DATA_ROOT = "~/.cache/lut/data"


def check_output_path(path: Path, what: str, folder: bool = False) -> None:
    """Refuse an output that cannot be written: a folder given for a file (or the reverse), or a read-only place.

    Missing parent folders are fine (they are created); the nearest existing one must be a writable folder.

    Args:
        path: the file (or folder) to write.
        what: how the user named it, for the message (e.g. "--out").
        folder: whether `path` is a folder to write into.

    Raises:
        UsageError: naming the path and what is wrong with it.
    """
    if path.exists() and path.is_dir() != folder:
        kind = "a file" if folder else "a folder"
        raise UsageError(f"{what} {path} is {kind}; give the {'folder' if folder else 'file'} to write")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {what} {path}: {parent} is not a writable folder")


def default_output_dir(command: str, checkpoints: list[str], weights: str = "auto") -> str:
    """`runs/COMMAND/NAME`: an evaluation's folder named after what it evaluates, so that evaluating another
    checkpoint (or the other network of one) does not replace earlier results.

    NAME joins, per checkpoint, its folder and file stem (`demo-checkpoint-last`), then the weights when chosen
    (`-teacher`).
    """
    names = [f"{path.parent.name}-{path.stem}" if path.parent.name else path.stem
             for path in (Path(checkpoint).expanduser() for checkpoint in checkpoints)]
    suffix = f"-{weights}" if weights and weights != "auto" else ""
    return f"runs/{command}/{'+'.join(names) or command}{suffix}"
