"""The networks an analysis looks at: encoders from any checkpoint, or a whole pre-training model."""

from dataclasses import dataclass
from pathlib import Path

from lut.errors import UsageError
from lut.interchange import EncoderInfo, load_encoder
from lut.interchange.kinds import checkpoint_kind, kind_name
from lut.interchange.loading import read_checkpoint_file
from lut.models import PretrainModel, create_model
from lut.models.encoder import ViTEncoder
from lut.runtime.checkpoint import describe_mismatch

MODEL_KEYS = ("img_size", "patch_size", "encoder_depth", "decoder_embed_dim", "decoder_depth", "decoder_num_heads",
              "head_hidden_dim", "head_depth", "head_norm", "head_activation", "mim")


@dataclass
class LabelledEncoder:
    """An encoder with the name it carries in figures and JSON.

    Attributes:
        label: legend name.
        encoder: the encoder (CPU, eval mode).
        info: where it came from.
    """

    label: str
    encoder: ViTEncoder
    info: EncoderInfo


def checkpoint_labels(paths: list[str], labels: list[str] | None) -> list[str]:
    """The given labels (one per checkpoint), or each checkpoint's folder name (its file stem when not unique).

    Raises:
        UsageError: when the number of labels differs from the number of checkpoints, or a label repeats
            (the JSON and the figures tell the models apart by label).
    """
    if labels:
        if len(labels) != len(paths):
            raise UsageError(f"{len(labels)} labels for {len(paths)} checkpoints")
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        if repeated:
            raise UsageError(f"--labels must differ from each other; repeated: {', '.join(repeated)}")
        return list(labels)
    names = [Path(path).parent.name or Path(path).stem for path in paths]
    return names if len(set(names)) == len(names) else [Path(path).stem for path in paths]


def load_encoders(
    paths: list[str], labels: list[str] | None, weights: str | None, arch: str | None, img_size: int | None
) -> list[LabelledEncoder]:
    """Load every checkpoint's encoder with `lut.interchange.load_encoder` (same options for all)."""
    return [
        LabelledEncoder(label, *load_encoder(path, weights, arch, img_size))
        for path, label in zip(paths, checkpoint_labels(paths, labels))
    ]


def load_pretrain_model(path: str) -> tuple[PretrainModel, dict]:
    """The student (encoder, decoder, heads) of one of our pre-training checkpoints, and its config.

    Raises:
        UsageError: for files without our config and student weights (other layouts have no usable decoder).
    """
    payload, metadata = read_checkpoint_file(path)
    config, state = payload.get("config"), payload.get("model")
    if not isinstance(config, dict) or "model" not in config or not isinstance(state, dict):
        try:
            kind = kind_name(checkpoint_kind(payload, metadata))
        except UsageError:
            kind = "not a lut pre-training checkpoint"
        raise UsageError(f"{path} is {kind}: reconstructions need a lut pretrain checkpoint (its `model` weights "
                         "and `config`)")
    model = create_model(config["model"], **{key: config[key] for key in MODEL_KEYS if key in config})
    mismatch = describe_mismatch(model, state)
    if mismatch:
        raise UsageError(f"the student weights in {path} do not fit {config['model']} ({mismatch})")
    model.load_state_dict(state)
    return model.eval(), config
