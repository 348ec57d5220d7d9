"""`load_encoder`: a ViT encoder from any checkpoint layout we know, with its architecture inferred."""

import argparse
import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import resample_abs_pos_embed

from lut.errors import UsageError
from lut.interchange.architecture import EncoderArchitecture, architecture_from_name, infer_architecture
from lut.interchange.formats import encoder_weights
from lut.models.encoder import ViTEncoder
from lut.runtime.checkpoint import PYTORCH_MAGIC, describe_mismatch, first_non_finite, load_checkpoint


@dataclass(frozen=True)
class EncoderInfo:
    """Where an encoder came from.

    Attributes:
        path: the checkpoint file.
        format: "lut", "lut-official", "mae", "timm", "lut-export" or "lut-finetune".
        weights: "student", "teacher" or "encoder" (a file holding a single encoder).
        architecture: the encoder's architecture (at the requested input size).
        ignored: keys of the file that are not part of the encoder.
        notes: conversions made while loading.
        digest: short SHA-256 of the loaded encoder weights (names the feature caches).
        config: our pre-training config when the checkpoint carries one.
    """

    path: str
    format: str
    weights: str
    architecture: EncoderArchitecture
    ignored: tuple[str, ...]
    notes: tuple[str, ...]
    digest: str
    config: dict | None = None

    def describe(self) -> str:
        """One line for the user: file, layout (and pre-training method when recorded), network and architecture."""
        method = str((self.config or {}).get("model", "")).split("_", 1)[0]
        origin = f" ({method.upper()} pre-training)" if method in ("lut", "mae") else ""
        return f"{self.path}: {self.weights} of a {self.format} checkpoint{origin}, {self.architecture.describe()}"

    def report(self) -> str:
        """`describe()`, then one indented line per conversion made while loading (a resampled position table)."""
        return "\n".join([self.describe(), *(f"  note: {note}" for note in self.notes)])

    def normalisation(self) -> tuple[list[float], list[float]]:
        """The input mean and std the encoder was pre-trained with (ImageNet's when not recorded)."""
        config = self.config or {}
        return list(config.get("mean", IMAGENET_DEFAULT_MEAN)), list(config.get("std", IMAGENET_DEFAULT_STD))


def read_checkpoint_file(path: str | Path) -> tuple[dict, dict[str, str] | None]:
    """Load a `.pth` (weights-only unpickler) or safetensors file onto the CPU.

    Safetensors files are recognised by their `.safetensors` suffix or their first bytes.

    MAE and LUT training checkpoints store their argparse options as a `Namespace`, which is
    allowed through the weights-only unpickler; nothing else is.

    Returns:
        The payload and the safetensors metadata (None for `.pth` files).

    Raises:
        UsageError: missing or unreadable files, and files that are not checkpoints at all.
    """
    path = Path(path).expanduser()
    kind = file_kind(path)
    if path.suffix != ".safetensors" and kind != "safetensors":
        try:
            with torch.serialization.safe_globals([argparse.Namespace]):
                return load_checkpoint(path), None
        except UsageError as error:
            if kind is not None or error.__cause__ is None or isinstance(error.__cause__, OSError):
                raise
            raise UsageError(f"cannot read checkpoint {path}: it is not a PyTorch checkpoint or safetensors "
                             "file") from error
    if not path.is_file():
        raise UsageError(f"checkpoint {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as handle:
            return {key: handle.get_tensor(key) for key in handle.keys()}, dict(handle.metadata() or {})
    except (SafetensorError, OSError) as error:
        raise UsageError(f"cannot read safetensors file {path}: {error}") from error


def file_kind(path: Path) -> str | None:
    """"pytorch" or "safetensors" as the file's first bytes say; None for other or unreadable files."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(9)  # safetensors: 8-byte header length, then the JSON header
    except OSError:
        return None
    if head.startswith(PYTORCH_MAGIC):
        return "pytorch"
    return "safetensors" if head[8:] == b"{" else None


def weights_digest(state: dict[str, torch.Tensor]) -> str:
    """First 16 hex digits of a SHA-256 over the names, dtypes, shapes and bytes of `state`."""
    digest = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].detach().cpu().contiguous()
        digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def load_encoder(
    path: str | Path,
    weights: str | None = None,
    arch: str | None = None,
    img_size: int | None = None,
    default_to_student: bool = True,
) -> tuple[ViTEncoder, EncoderInfo]:
    """Build a ViT encoder from a checkpoint of any supported layout and load its weights strictly.

    Args:
        path: `.pth` or `.safetensors` file (see `lut.interchange.formats` for the layouts).
        weights: "student" or "teacher" for pre-training checkpoints; None takes the student, or the
            only encoder of a single-encoder file.
        arch: architecture name (`vit_base_patch16`, ...); None infers it from the weights.
        img_size: input side in pixels; None keeps the checkpoint's. A different size resamples the
            position table (bicubic, as MAE's fine-tuning does).
        default_to_student: whether weights=None may pick the student of a file that also holds a
            teacher (false: such a file needs an explicit choice).

    Returns:
        The encoder (CPU, eval mode) and where it came from.

    Raises:
        UsageError: unreadable file, unknown layout, missing teacher, a non-positive img_size, weights that
            do not fit the architecture (naming the missing, unexpected and reshaped keys) or that hold NaN
            or infinite values.
    """
    if img_size is not None and img_size <= 0:
        raise UsageError(f"img_size must be positive, got {img_size}")
    payload, metadata = read_checkpoint_file(path)
    try:
        loaded = encoder_weights(payload, weights, metadata, default_to_student)
    except UsageError as error:
        raise UsageError(f"{path}: {error}") from error
    state = dict(loaded.state)
    if arch is None:
        architecture = infer_architecture(state)
    else:
        architecture = architecture_from_name(arch)
        table = state.get("pos_embed")
        grid = round((table.shape[1] - 1) ** 0.5) if table is not None and table.ndim == 3 else 0
        if grid:
            architecture = dataclasses.replace(architecture, img_size=grid * architecture.patch_size)
    notes = list(loaded.notes)
    if img_size is not None and img_size != architecture.img_size:
        if img_size % architecture.patch_size:
            raise UsageError(f"img_size {img_size} is not a multiple of the patch size {architecture.patch_size}")
        table = state.get("pos_embed")
        if table is not None and table.ndim == 3 and table.shape[-1] == architecture.embed_dim:
            grid = img_size // architecture.patch_size
            state["pos_embed"] = resample_abs_pos_embed(table, [grid, grid], num_prefix_tokens=1)
            notes.append(f"position table resampled from {architecture.img_size} px to {img_size} px (bicubic)")
        architecture = dataclasses.replace(architecture, img_size=img_size)
    encoder = architecture.build_encoder()
    mismatch = describe_mismatch(encoder, state)
    if mismatch:
        raise UsageError(
            f"the {loaded.weights} weights in {path} do not fit {architecture.describe()} ({mismatch})"
        )
    bad = first_non_finite(state)
    if bad is not None:
        raise UsageError(f"the {loaded.weights} weights in {path} hold non-finite values in {bad}: "
                         "the run that wrote them diverged")
    encoder.load_state_dict(state)
    encoder.eval()
    info = EncoderInfo(
        str(path), loaded.format, loaded.weights, architecture, loaded.ignored, tuple(notes),
        weights_digest(encoder.state_dict()), loaded.config,
    )
    return encoder, info
