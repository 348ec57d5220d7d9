"""Models: the ViT encoder, MAE decoder, LUT heads, the pre-training model and the teacher."""

from lut.models.factory import MODEL_NAMES, create_model, parse_model_name
from lut.models.pretrain import PretrainModel, StudentOutput, StudentReadout, Teacher

__all__ = [
    "MODEL_NAMES", "PretrainModel", "StudentOutput", "StudentReadout", "Teacher", "create_model", "parse_model_name",
]
