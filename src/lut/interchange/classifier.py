"""`load_classifier`: a timm ViT classifier from a `lut finetune` checkpoint or a timm state dict with a head."""

from dataclasses import dataclass
from pathlib import Path

import timm
import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from lut.errors import UsageError
from lut.interchange.architecture import EncoderArchitecture, infer_architecture
from lut.interchange.formats import EXPORT_METADATA_KEY, strip_prefix
from lut.interchange.loading import load_encoder, read_checkpoint_file, weights_digest
from lut.runtime.checkpoint import describe_mismatch, first_non_finite


@dataclass(frozen=True)
class ClassifierInfo:
    """Where a classifier came from and how it wants its inputs.

    Attributes:
        path: the checkpoint file.
        format: "lut-finetune" (a `lut finetune` checkpoint) or "timm" (a timm state dict with a head).
        architecture: the ViT's architecture.
        global_pool: "avg" (fc_norm after mean pooling) or "token" (CLS).
        num_classes: logits per image.
        mean: input normalisation mean.
        std: input normalisation std.
        crop_pct: the evaluation crop the checkpoint records, None when it records none.
        digest: short SHA-256 of the weights (names the prediction caches).
        notes: what was inferred, for the user to read.
    """

    path: str
    format: str
    architecture: EncoderArchitecture
    global_pool: str
    num_classes: int
    mean: list[float]
    std: list[float]
    crop_pct: float | None
    digest: str
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line: file, layout, network, classes."""
        return (f"{self.path}: {self.format} classifier, {self.architecture.describe()}, "
                f"{self.global_pool} pooling, {self.num_classes} classes")


def source_normalisation(config: dict) -> tuple[list[float], list[float], str | None]:
    """A fine-tuning run's input mean and std: its config's, else its source checkpoint's, else ImageNet's.

    Returns:
        mean, std and a note when they were not recorded in the run's config (None otherwise).
    """
    if config.get("mean") and config.get("std"):
        return list(config["mean"]), list(config["std"]), None
    source = config.get("checkpoint", "")
    if source and Path(source).expanduser().is_file():
        mean, std = load_encoder(source)[1].normalisation()
        return mean, std, f"normalisation of the pre-trained checkpoint {source}"
    return list(IMAGENET_DEFAULT_MEAN), list(IMAGENET_DEFAULT_STD), "ImageNet normalisation (none recorded)"


def classifier_state(payload: dict, metadata: dict[str, str] | None, path: str) -> tuple[dict, dict | None, str]:
    """The classifier's timm state dict, the run config it carries (if any) and the layout's name.

    Raises:
        UsageError: pre-training checkpoints, encoder exports and files without a classifier head.
    """
    if metadata is not None and EXPORT_METADATA_KEY in metadata:
        raise UsageError(f"{path} is an encoder export without a classifier head; fine-tune it with lut finetune")
    if "model_ema" in payload:
        raise UsageError(f"{path} is a pre-training checkpoint; a classifier comes from lut finetune")
    config = payload.get("config") if isinstance(payload.get("config"), dict) else None
    if isinstance(payload.get("model"), dict):
        state, layout = payload["model"], "lut-finetune" if config is not None else "timm"
    elif isinstance(payload.get("state_dict"), dict):
        state, layout = payload["state_dict"], "timm"
    else:
        state, layout = payload, "timm"
    state = strip_prefix({key: value for key, value in state.items() if torch.is_tensor(value)}, "module.")
    if "head.weight" not in state:
        what = "linear-probe heads" if any(key.endswith(".1.weight") for key in state) else "no classifier head"
        raise UsageError(f"{path} holds {what} (no head.weight); give a lut finetune checkpoint or a timm ViT "
                         "state dict with its classifier")
    return state, config, layout


def load_classifier(path: str | Path) -> tuple[torch.nn.Module, ClassifierInfo]:
    """Build the timm ViT a classifier checkpoint fits and load its weights strictly.

    Args:
        path: `checkpoint-best.pth`/`checkpoint-last.pth` of `lut finetune`, or a timm ViT state dict
            (`.pth` or `.safetensors`) that includes `head.weight`.

    Returns:
        The model (CPU, eval mode) and where it came from.

    Raises:
        UsageError: unreadable or unknown files, weights that do not fit the inferred ViT, non-finite weights.
    """
    payload, metadata = read_checkpoint_file(path)
    state, config, layout = classifier_state(payload, metadata, str(path))
    architecture = infer_architecture(state)
    global_pool = "avg" if "fc_norm.weight" in state else "token"
    name, arguments = architecture.timm_model()
    num_classes = state["head.weight"].shape[0]
    model = timm.create_model(name, pretrained=False, global_pool=global_pool, num_classes=num_classes, **arguments)
    mismatch = describe_mismatch(model, state)
    if mismatch:
        raise UsageError(f"the weights in {path} do not fit timm's {architecture.describe()} ({mismatch})")
    bad = first_non_finite(state)
    if bad is not None:
        raise UsageError(f"the weights in {path} hold non-finite values in {bad}")
    model.load_state_dict(state)
    notes = []
    if config is not None:
        mean, std, note = source_normalisation(config)
        crop_pct = config.get("crop_pct")
    else:
        mean, std, note = list(IMAGENET_DEFAULT_MEAN), list(IMAGENET_DEFAULT_STD), "ImageNet normalisation (assumed)"
        crop_pct = None
    if note:
        notes.append(note)
    info = ClassifierInfo(str(path), layout, architecture, global_pool, num_classes, mean, std, crop_pct,
                          weights_digest(state), tuple(notes))
    return model.eval(), info
