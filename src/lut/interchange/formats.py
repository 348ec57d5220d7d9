"""Checkpoints of every kind (`lut.interchange.kinds`) reduced to the weights of one encoder."""

from dataclasses import dataclass

import torch

from lut.errors import UsageError
from lut.interchange.kinds import EXPORT_METADATA_KEY, checkpoint_kind, kind_name

# Keys of the pre-training model that are not the encoder (MAE decoder or SimMIM's mask token and
# pixel head, projector, predictor), and timm's classifier (`head.weight`).
NON_ENCODER_PREFIXES = ("mask_token", "decoder_", "simmim_head.", "head.", "predictor.")


@dataclass
class EncoderWeights:
    """Encoder weights taken out of a checkpoint.

    Attributes:
        state: encoder state dict with our key names (`norm.*` as the final per-token norm).
        format: its kind (`lut.interchange.kinds`).
        weights: "student", "teacher" or "encoder" (a file holding a single encoder).
        ignored: keys of the file that are not part of the encoder (decoder, heads, classifier).
        notes: conversions made on the way, for the user to read.
        config: our pre-training config when the checkpoint carries one.
    """

    state: dict[str, torch.Tensor]
    format: str
    weights: str
    ignored: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    config: dict | None = None


def strip_prefix(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """Remove `prefix` from the keys that start with it."""
    return {key[len(prefix):] if key.startswith(prefix) else key: value for key, value in state.items()}


def select_state(
    payload: dict, layout: str, weights: str | None, metadata: dict[str, str] | None, default_to_student: bool = True
) -> tuple[dict[str, torch.Tensor], str]:
    """The state dict of the requested network and what it is.

    Args:
        payload: the loaded checkpoint.
        layout: its kind (`lut.interchange.kinds.checkpoint_kind`).
        weights: "student", "teacher" or None (the student, or the file's only encoder).
        metadata: safetensors metadata, if any.
        default_to_student: whether None may pick the student of a file holding a student and a teacher.

    Raises:
        UsageError: when the file does not hold the requested network, or holds two and none was chosen
            while `default_to_student` is false.
    """
    if layout in ("lut", "lut-official"):
        if weights is None and not default_to_student and payload.get("model_ema"):
            raise UsageError("it holds a student and a teacher: choose one with --weights student or "
                             "--weights teacher")
        chosen = weights or "student"
        if chosen == "student":
            return payload["model"], "student"
        teacher = payload.get("model_ema")
        if teacher is None:
            raise UsageError("it has no teacher (model_ema is empty: it comes from an MAE run)")
        return strip_prefix(teacher, "ema.") if layout == "lut-official" else teacher, "teacher"
    if layout == "lut-export":
        exported = metadata[EXPORT_METADATA_KEY]
        if weights is not None and weights != exported:
            raise UsageError(f"it is an export of the {exported} encoder, not the {weights}")
        return payload, exported
    if layout in ("lut-linprobe", "lut-segment"):
        source = (payload.get("config") or {}).get("checkpoint") or "the checkpoint it was trained from"
        holds, uses = (("the probe heads only", "probes") if layout == "lut-linprobe"
                       else ("a segmentation network", "was trained from"))
        raise UsageError(f"it is {kind_name(layout)}, which holds {holds}; use the encoder it {uses}: {source}")
    if weights == "teacher":
        raise UsageError(f"it is {kind_name(layout)}, with a single encoder and no teacher; leave --weights out")
    state = payload["model"] if layout in ("mae", "lut-finetune") else payload.get("state_dict", payload)
    return state, "encoder"


def encoder_weights(
    payload: dict, weights: str | None = None, metadata: dict[str, str] | None = None, default_to_student: bool = True
) -> EncoderWeights:
    """Reduce a checkpoint of any known layout to the weights of one encoder, with our key names.

    DDP's `module.` prefix is removed; decoder, projector, predictor and classifier keys are set
    aside in `ignored`; a `fc_norm` without a `norm` (timm and MAE models with global average
    pooling) becomes the final norm. Every other key is kept, so a strict load reports it.

    Args:
        payload: the loaded checkpoint.
        weights: "student", "teacher" or None (the student, or the file's only encoder).
        metadata: safetensors metadata, None for `.pth` files.
        default_to_student: whether None may pick the student of a file holding a student and a teacher.
    """
    layout = checkpoint_kind(payload, metadata)
    state, chosen = select_state(payload, layout, weights, metadata, default_to_student)
    state = strip_prefix(dict(state), "module.")
    ignored = tuple(sorted(key for key in state if key.startswith(NON_ENCODER_PREFIXES)))
    state = {key: value for key, value in state.items() if not key.startswith(NON_ENCODER_PREFIXES)}
    notes = []
    fc_norm_keys = [key for key in state if key.startswith("fc_norm.")]
    if fc_norm_keys and "norm.weight" in state:
        ignored += tuple(fc_norm_keys)
        state = {key: value for key, value in state.items() if not key.startswith("fc_norm.")}
    elif fc_norm_keys:
        state = {key.replace("fc_norm.", "norm.", 1) if key.startswith("fc_norm.") else key: value
                 for key, value in state.items()}
        if layout == "lut-export":
            notes.append("fc_norm holds the encoder's final norm (exported for timm's global_pool='avg')")
        else:
            notes.append("fc_norm (applied after pooling in the source model) is used as the per-token final norm")
    config = payload.get("config") if layout == "lut" else None
    return EncoderWeights(state, layout, chosen, ignored, tuple(notes), config)
