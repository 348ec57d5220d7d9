"""Atomic checkpoint files of plain data, loadable with `torch.load(weights_only=True)`."""

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lut.errors import UsageError
from lut.runtime.same_run import check_same_run

LAST_CHECKPOINT = "checkpoint-last.pth"
BEST_CHECKPOINT = "checkpoint-best.pth"


def atomic_save(payload: dict[str, Any], path: Path) -> None:
    """Write to a temporary file in the same folder, flush it to disk, then rename over `path`.

    A run killed while saving leaves the previous file intact.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with open(temporary, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def save_last_and_best(payload: dict[str, Any], output_dir: Path, improved: bool) -> None:
    """Write `checkpoint-last.pth` in `output_dir`, and `checkpoint-best.pth` too when the run improved."""
    atomic_save(payload, output_dir / LAST_CHECKPOINT)
    if improved:
        atomic_save(payload, output_dir / BEST_CHECKPOINT)


def checkpoint_to_resume(output_dir: Path, resume: str, required: set[str], what: str
                         ) -> tuple[Path, dict[str, Any]] | None:
    """The checkpoint a run continues from, as its `resume` setting names it, or None for a fresh start.

    Args:
        output_dir: the run folder.
        resume: "auto" (`output_dir/checkpoint-last.pth` when it exists), "none", or a checkpoint path.
        required: keys the checkpoint must hold.
        what: the kind of run, for the message ("a checkpoint of WHAT").

    Raises:
        UsageError: unreadable files and checkpoints without the required keys.
    """
    if resume == "none":
        return None
    path = output_dir / LAST_CHECKPOINT if resume == "auto" else Path(resume)
    if resume == "auto" and not path.is_file():
        return None
    payload = load_checkpoint(path)
    if not required <= set(payload):
        raise UsageError(f"{path} is not a checkpoint of {what} ({key_summary(payload)})")
    return path, payload


def first_non_finite(state: dict[str, Any]) -> str | None:
    """The first key of `state` whose floating-point tensor holds a NaN or an infinity, or None."""
    return next((key for key, value in state.items()
                 if torch.is_tensor(value) and value.is_floating_point() and not torch.isfinite(value).all()), None)


def non_finite_weights(payload: dict[str, Any]) -> str | None:
    """`"model: KEY"` or `"model_ema: KEY"` of a pre-training checkpoint's first non-finite tensor, or None."""
    return next((f"{name}: {key}" for name in ("model", "model_ema")
                 if (key := first_non_finite(payload.get(name) or {})) is not None), None)


# How `torch.save` files begin: a zip archive (the current format) or a pickle (the legacy one).
PYTORCH_MAGIC = (b"PK\x03\x04", b"\x80")


def looks_like_pytorch(path: Path) -> bool:
    """Whether the file begins as `torch.save` files do."""
    with open(path, "rb") as handle:
        return handle.read(4).startswith(PYTORCH_MAGIC)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with the safe unpickler, onto the CPU.

    Raises:
        UsageError: missing, truncated or non-checkpoint files, or files that need pickled code.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise UsageError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a damaged file can fail anywhere in the unpickler (IndexError, KeyError, ...)
        if not looks_like_pytorch(path):
            reason = "it is not a PyTorch checkpoint"
        else:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UsageError(f"cannot read checkpoint {path}: {reason}") from error
    if not isinstance(payload, dict):
        raise UsageError(f"checkpoint {path} holds a {type(payload).__name__}, not a dict of weights")
    return payload


def describe_mismatch(model: nn.Module, state: dict[str, torch.Tensor]) -> str | None:
    """Say which keys and shapes of `state` do not fit `model`, or None when everything fits."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    reshaped = sorted(
        f"{key} {tuple(state[key].shape)} vs {tuple(value.shape)}"
        for key, value in expected.items()
        if key in state and tuple(state[key].shape) != tuple(value.shape)
    )
    problems = []
    for label, keys in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", reshaped)):
        if keys:
            shown = ", ".join(keys[:6]) + (f" and {len(keys) - 6} more" if len(keys) > 6 else "")
            problems.append(f"{label}: {shown}")
    return "; ".join(problems) or None


def load_weights(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load `state` strictly into `model`, or raise a UsageError naming the keys that do not fit."""
    mismatch = describe_mismatch(model, state)
    if mismatch:
        raise UsageError(f"{source} does not fit this model ({mismatch})")
    model.load_state_dict(state)


ARCHITECTURE_KEYS = (
    "model", "img_size", "patch_size", "encoder_depth", "decoder_embed_dim", "decoder_depth", "decoder_num_heads",
    "head_hidden_dim", "head_depth", "head_norm", "head_activation", "mim",
)
# What a run trains on and how: a resumed run may change them, with a warning (its schedules continue by step).
TRAINING_KEYS = (
    "data", "train_samples", "crop", "rrc_scale_min", "mean", "std", "mask_ratio", "norm_pix_loss", "mae_loss_weight",
    "bc_loss_weight", "teacher_momentum", "bc_tokens", "context_token", "supervision", "bc_loss", "bc_temperature",
    "target_mask_ratio", "views", "symmetric_heads", "epochs", "warmup_epochs", "blr", "lr", "lr_rule", "min_lr",
    "weight_decay", "adam_beta1", "adam_beta2", "clip_grad", "seed",
)
# Architecture keys added later, with the value that checkpoints written before them were trained with.
LATER_ARCHITECTURE_DEFAULTS = {"mim": "mae", "encoder_depth": 0}


def changed_training_settings(saved_config: dict[str, Any], config: dict[str, Any],
                              keys: tuple[str, ...] = TRAINING_KEYS) -> list[str]:
    """The `keys` (default `TRAINING_KEYS`) that both configs hold with other values, as "key: old -> new"."""
    return [f"{key}: {saved_config[key]!r} -> {config[key]!r}" for key in keys
            if key in saved_config and key in config and saved_config[key] != config[key]]


def key_summary(payload: dict[str, Any], shown: int = 6) -> str:
    """"keys: a, b, c" or, for a long state dict, "1204 keys: a, b, ..." (a message line, not a listing)."""
    names = sorted(map(str, payload))
    head = ", ".join(names[:shown])
    return f"keys: {head}" if len(names) <= shown else f"{len(names)} keys: {head}, ..."


def check_same_architecture(saved_config: dict[str, Any], config: dict[str, Any], source: str) -> None:
    """Refuse to resume from a checkpoint of another architecture, naming the differing keys."""
    saved = {key: saved_config.get(key, LATER_ARCHITECTURE_DEFAULTS.get(key)) for key in ARCHITECTURE_KEYS}
    check_same_run(source, saved, {key: config[key] for key in ARCHITECTURE_KEYS}, "another model")
