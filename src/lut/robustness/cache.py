"""Logits cached per classifier, benchmark pass and view, so that a new metric needs no second pass."""

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from lut.errors import UsageError
from lut.runtime.checkpoint import atomic_save
from lut.version import __version__


def cache_key(settings: dict[str, Any]) -> str:
    """A digest of everything the logits depend on: classifier weights, images, shift, view, occlusion, precision."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:20]


def cache_file(cache_dir: Path, classifier_digest: str, benchmark: str, pass_name: str, key: str) -> Path:
    """`cache_dir/<classifier digest>/<benchmark>-<pass>-<key>.pth`."""
    return cache_dir / classifier_digest / f"{benchmark}-{pass_name}-{key}.pth"


def load_logits(path: Path, key: str) -> torch.Tensor | None:
    """The cached logits, or None when there are none (or the file is another key's or unreadable)."""
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a truncated or foreign file is recomputed and overwritten, never trusted
        return None
    if not isinstance(payload, dict) or payload.get("key") != key or not torch.is_tensor(payload.get("logits")):
        return None
    return payload["logits"]


def save_logits(path: Path, key: str, logits: torch.Tensor, settings: dict[str, Any]) -> None:
    """Write the logits atomically with their key and what they were computed from.

    Raises:
        UsageError: the cache folder cannot be written.
    """
    payload = {"key": key, "logits": logits.contiguous(), "settings": json.dumps(settings, default=str),
               "lut_version": __version__}
    try:
        atomic_save(payload, path)
    except OSError as error:
        raise UsageError(f"cannot write the logits cache {path}: {error.strerror or error}") from error
