"""`load_classifier`: the one loader of classifiers: a `lut finetune` or `lut linprobe` checkpoint, or a timm state
dict with a head."""

from dataclasses import dataclass
from pathlib import Path

import timm
import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from lut.errors import UsageError
from lut.interchange.architecture import EncoderArchitecture, infer_architecture
from lut.interchange.formats import strip_prefix
from lut.interchange.kinds import checkpoint_kind, kind_name
from lut.interchange.loading import load_encoder, read_checkpoint_file, weights_digest
from lut.models.pooling import POOLS
from lut.models.probe import ProbeClassifier, probe_head
from lut.runtime.checkpoint import describe_mismatch, first_non_finite


@dataclass(frozen=True)
class ClassifierInfo:
    """Where a classifier came from and how it wants its inputs.

    Attributes:
        path: the checkpoint file.
        format: "lut-finetune" (a `lut finetune` checkpoint), "lut-linprobe" (a `lut linprobe` checkpoint's head over
            the encoder it probes) or "timm" (a timm state dict with a head).
        architecture: the ViT's architecture.
        global_pool: "avg" (mean of the patch tokens) or "token" (CLS): timm's names of the pooling.
        num_classes: logits per image.
        mean: input normalisation mean.
        std: input normalisation std.
        crop_pct: the evaluation crop the checkpoint records, None when it records none.
        digest: short SHA-256 of the weights (names the prediction caches).
        notes: what was inferred, for the user to read.
        class_names: a name per logit (those the checkpoint records, else "class 0", "class 1", ...).
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
    class_names: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """"finetune", "linprobe (cls)", "linprobe (mean)" or "timm": the short name figures and JSON give it."""
        if self.format == "lut-linprobe":
            return f"linprobe ({'cls' if self.global_pool == 'token' else 'mean'})"
        return "finetune" if self.format == "lut-finetune" else "timm"

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


def classifier_state(payload: dict, kind: str, path: str) -> tuple[dict, dict | None, str]:
    """The classifier's timm state dict, the run config it carries (if any) and the layout's name.

    Raises:
        UsageError: checkpoints of a kind without a classifier (pre-training, export, segmentation), and files without
            a classifier head.
    """
    if kind not in ("lut-finetune", "mae", "timm"):
        raise UsageError(f"{path} is {kind_name(kind)}, which holds no classifier head; a classifier comes from "
                         "lut finetune or lut linprobe")
    config = payload.get("config") if isinstance(payload.get("config"), dict) else None
    if isinstance(payload.get("model"), dict):
        state, layout = payload["model"], "lut-finetune" if config is not None else "timm"
    elif isinstance(payload.get("state_dict"), dict):
        state, layout = payload["state_dict"], "timm"
    else:
        state, layout = payload, "timm"
    state = strip_prefix({key: value for key, value in state.items() if torch.is_tensor(value)}, "module.")
    if "head.weight" not in state:
        raise UsageError(f"{path} holds no classifier head (no head.weight); give a lut finetune or lut linprobe "
                         "checkpoint or a timm ViT state dict with its classifier")
    return state, config, layout


def load_classifier(path: str | Path, pool: str | None = None) -> tuple[torch.nn.Module, ClassifierInfo]:
    """Build the classifier a checkpoint holds and load its weights strictly.

    Args:
        path: `checkpoint-best.pth`/`checkpoint-last.pth` of `lut finetune` or `lut linprobe`, or a timm ViT state
            dict (`.pth` or `.safetensors`) that includes `head.weight`.
        pool: the head of a linear probe ("cls" or "mean"; None: the first one saved); other classifiers have one
            head, and ignore it.

    Returns:
        The model (CPU, eval mode; a linear probe's is a `ProbeClassifier`) and where it came from.

    Raises:
        UsageError: unreadable files, checkpoints of another kind, weights that do not fit the inferred ViT,
            non-finite weights, a probe without the asked head or whose encoder cannot be loaded.
    """
    payload, metadata = read_checkpoint_file(path)
    try:
        kind = checkpoint_kind(payload, metadata)
    except UsageError as error:
        raise UsageError(f"{path}: {error}") from error
    recorded = list(payload.get("classes") or [])
    if kind == "lut-linprobe":
        return load_probe_classifier(payload, str(path), pool, recorded)
    state, config, layout = classifier_state(payload, kind, str(path))
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
                          weights_digest(state), tuple(notes), class_names(recorded, num_classes))
    return model.eval(), info


def load_probe_classifier(payload: dict, path: str, pool: str | None,
                          recorded: list[str]) -> tuple[ProbeClassifier, ClassifierInfo]:
    """One head of a `lut linprobe` checkpoint over the encoder it probes (loaded from the path its config records).

    Raises:
        UsageError: a probe without the asked head, or whose encoder no longer exists.
    """
    state, config = payload["model"], payload.get("config") or {}
    pools = [name for name in POOLS if f"{name}.1.weight" in state]
    if not pools or not config.get("checkpoint"):
        raise UsageError(f"{path} is {kind_name('lut-linprobe')} without probe heads or the encoder they probe")
    pool = pool or pools[0]
    if pool not in pools:
        raise UsageError(f"{path} has probe heads for {', '.join(pools)}, not {pool!r}")
    if not Path(config["checkpoint"]).expanduser().exists():
        raise UsageError(f"{path} probes the encoder in {config['checkpoint']}, which does not exist (anymore)")
    weights = None if config.get("weights") in (None, "auto") else config["weights"]
    encoder, encoder_info = load_encoder(config["checkpoint"], weights, config.get("arch") or None,
                                         config.get("img_size") or None)
    num_classes = state[f"{pool}.1.weight"].shape[0]
    head = probe_head(encoder.embed_dim, num_classes)
    head.load_state_dict({key[len(pool) + 1:]: value for key, value in state.items() if key.startswith(f"{pool}.")})
    model = ProbeClassifier(encoder, head, pool).eval()
    mean, std, note = source_normalisation(config)
    info = ClassifierInfo(path, "lut-linprobe", encoder_info.architecture, "token" if pool == "cls" else "avg",
                          num_classes, mean, std, config.get("crop_pct"), weights_digest(model.state_dict()),
                          (note,) if note else (), class_names(recorded, num_classes))
    return model, info


def class_names(recorded: list[str], num_classes: int) -> tuple[str, ...]:
    """The recorded class names when there is one per logit, else "class 0", "class 1", ..."""
    names = recorded if len(recorded) == num_classes else [f"class {index}" for index in range(num_classes)]
    return tuple(names)
