"""What a checkpoint is, read from its contents: the one place that tells the kinds apart and names them.

- `lut`: `lut pretrain` checkpoints: student under `model`, teacher under `model_ema`, flat keys.
- `lut-official`: the authors' LUT checkpoints: the same, but the teacher is a full copy of the student whose keys
  carry an `ema.` prefix.
- `mae`: official MAE `.pth` files: one encoder (+ maybe decoder, or a fine-tuned classifier) under `model`.
- `timm`: a bare timm ViT state dict (or a timm training checkpoint's `state_dict`), `.pth` or safetensors.
- `lut-export`: the safetensors files `lut export` writes (timm keys plus our metadata).
- `lut-finetune`: `lut finetune` checkpoints (a timm classifier under `model`).
- `lut-linprobe`: `lut linprobe` checkpoints (probe heads only under `model`; the config names the encoder).
- `lut-segment`: `lut segment train` checkpoints (a whole segmentation network and how to rebuild it).
"""

import torch

from lut.errors import UsageError

# How each kind is named to the user, in every message that refuses one or describes one.
KIND_NAMES = {
    "lut": "a lut pretrain checkpoint",
    "lut-official": "an official LUT pre-training checkpoint",
    "mae": "an MAE checkpoint",
    "timm": "a timm state dict",
    "lut-export": "a lut export (an encoder for timm)",
    "lut-finetune": "a lut finetune checkpoint",
    "lut-linprobe": "a lut linprobe checkpoint",
    "lut-segment": "a lut segment train checkpoint",
}
# The safetensors metadata key that `lut export` writes.
EXPORT_METADATA_KEY = "lut.weights"
# What a `lut segment train` checkpoint holds besides its training state: the network and how to rebuild it.
SEGMENTATION_KEYS = frozenset({"model", "architecture", "shape", "classes", "mean", "std"})


def checkpoint_kind(payload: dict, metadata: dict[str, str] | None = None) -> str:
    """The kind of a loaded checkpoint, one of `KIND_NAMES`.

    Args:
        payload: what `torch.load` or `safetensors` returned.
        metadata: the safetensors header metadata, None for `.pth` files.

    Raises:
        UsageError: when no known kind fits, naming the top-level keys.
    """
    if metadata is not None:
        return "lut-export" if EXPORT_METADATA_KEY in metadata else "timm"
    model = payload.get("model")
    if "model_ema" in payload and isinstance(model, dict):
        return "lut" if "lut_version" in payload else "lut-official"
    if SEGMENTATION_KEYS <= set(payload):
        return "lut-segment"
    config = payload.get("config")
    evaluation_run = "encoder_digest" in payload or (isinstance(config, dict) and "checkpoint" in config)
    if isinstance(model, dict) and evaluation_run:  # the run of `lut finetune` or `lut linprobe`
        return "lut-finetune" if "head.weight" in model else "lut-linprobe"
    if isinstance(model, dict) and isinstance(config, dict) and "mask_ratio" in config:  # pre-training, no teacher
        return "lut"
    if isinstance(model, dict):
        return "mae"
    if isinstance(payload.get("state_dict"), dict):
        return "timm"
    if payload and all(isinstance(value, torch.Tensor) for value in payload.values()):
        return "timm"
    shown = ", ".join(sorted(map(str, payload))[:8])
    raise UsageError(f"its layout is not recognised (top-level keys: {shown}); expected a LUT, MAE or timm file")


def kind_name(kind: str) -> str:
    """How `kind` (one of `KIND_NAMES`) is called in messages: "a lut linprobe checkpoint", ..."""
    return KIND_NAMES[kind]
