"""Weights in and out: import of LUT, MAE and timm checkpoints; export of encoders for timm."""

from lut.interchange.architecture import EncoderArchitecture, architecture_from_name, infer_architecture
from lut.interchange.export import create_timm_model, export_encoder, timm_state_dict
from lut.interchange.formats import encoder_weights
from lut.interchange.kinds import checkpoint_kind, kind_name
from lut.interchange.loading import EncoderInfo, load_encoder

__all__ = [
    "EncoderArchitecture",
    "EncoderInfo",
    "architecture_from_name",
    "create_timm_model",
    "checkpoint_kind",
    "encoder_weights",
    "export_encoder",
    "infer_architecture",
    "kind_name",
    "load_encoder",
    "timm_state_dict",
]
