"""Named model presets: `lut_vit_base_patch16`, `mae_vit_large_patch16`, ..."""

import re
from dataclasses import dataclass

from torch import nn

from lut.errors import UsageError
from lut.models.decoder import MAEDecoder
from lut.models.encoder import ViTEncoder, init_linear_and_norm
from lut.models.heads import build_mlp_head
from lut.models.pretrain import PretrainModel


@dataclass(frozen=True)
class EncoderSize:
    embed_dim: int
    depth: int
    num_heads: int
    patch_size: int


ENCODER_SIZES = {
    "tiny": EncoderSize(192, 12, 3, 16),
    "small": EncoderSize(384, 12, 6, 16),
    "base": EncoderSize(768, 12, 12, 16),
    "large": EncoderSize(1024, 24, 16, 16),
    "huge": EncoderSize(1280, 32, 16, 14),
}
METHODS = ("lut", "mae")
MIM_VARIANTS = ("mae", "simmim")
MODEL_NAMES = tuple(
    f"{method}_vit_{size}_patch{spec.patch_size}" for method in METHODS for size, spec in ENCODER_SIZES.items()
)
NAME_PATTERN = re.compile(r"^(?P<method>lut|mae)_vit_(?P<size>[a-z]+)_patch(?P<patch>\d+)$")


def parse_model_name(name: str) -> tuple[str, EncoderSize]:
    """Split a preset name into its method and encoder size.

    The patch size in the name may differ from the preset's (e.g. `lut_vit_tiny_patch4`).

    Raises:
        UsageError: for a name that is not of the form `{lut,mae}_vit_{size}_patch{p}`.
    """
    match = NAME_PATTERN.match(name)
    if match is None or match["size"] not in ENCODER_SIZES:
        raise UsageError(f"unknown model {name!r}; choose one of: {', '.join(MODEL_NAMES)}")
    size = ENCODER_SIZES[match["size"]]
    return match["method"], EncoderSize(size.embed_dim, size.depth, size.num_heads, int(match["patch"]))


def create_model(
    name: str,
    img_size: int = 224,
    patch_size: int | None = None,
    encoder_depth: int | None = None,
    in_chans: int = 3,
    decoder_embed_dim: int = 512,
    decoder_depth: int = 8,
    decoder_num_heads: int = 16,
    head_hidden_dim: int = 4096,
    head_depth: int = 2,
    head_norm: str = "bn",
    head_activation: str = "relu",
    activation_checkpointing: bool = False,
    mim: str = "mae",
) -> PretrainModel:
    """Build the pre-training model (student: encoder, decoder and, for LUT, the heads).

    Args:
        name: preset, e.g. `lut_vit_base_patch16` or `mae_vit_tiny_patch16`.
        img_size: input side in pixels.
        patch_size: overrides the preset's patch size (e.g. 4 for 32 px images).
        encoder_depth: overrides the preset's number of encoder blocks (width and heads stay the preset's).
        in_chans: input channels.
        decoder_embed_dim: decoder width (MAE: 512).
        decoder_depth: decoder blocks (MAE: 8).
        decoder_num_heads: decoder heads (MAE: 16).
        head_hidden_dim: hidden width of projector and predictor (4096).
        head_depth: Linear layers in each head; 0 makes them identities.
        head_norm: "bn", "ln" or "none".
        head_activation: "relu" or "gelu".
        activation_checkpointing: recompute the encoder blocks' activations in the backward
            pass instead of storing them (see `ViTEncoder`); the weights are unchanged.
        mim: "mae": MAE decoder on the visible tokens; "simmim": no decoder, the encoder sees mask
            tokens at the masked positions and a Linear(D, p*p*C) head predicts pixels (the
            decoder_* arguments are then unused).
    """
    method, size = parse_model_name(name)
    patch = patch_size or size.patch_size
    if img_size % patch:
        raise UsageError(f"img_size {img_size} is not a multiple of patch_size {patch}")
    if mim not in MIM_VARIANTS:
        raise UsageError(f"mim {mim!r} is not one of {', '.join(MIM_VARIANTS)}")
    encoder = ViTEncoder(
        img_size, patch, in_chans, size.embed_dim, encoder_depth or size.depth, size.num_heads,
        activation_checkpointing=activation_checkpointing,
    )
    decoder, simmim_head = None, None
    if mim == "mae":
        decoder = MAEDecoder(
            encoder.num_patches, patch, in_chans, size.embed_dim, decoder_embed_dim, decoder_depth, decoder_num_heads
        )
    else:
        simmim_head = nn.Linear(size.embed_dim, patch**2 * in_chans)  # SimMIM's 1x1-conv decoder, per token
        init_linear_and_norm(simmim_head)
    if method == "mae":
        return PretrainModel(encoder, decoder, method="mae", simmim_head=simmim_head)
    head = build_mlp_head(size.embed_dim, head_hidden_dim, head_depth, head_norm, head_activation)
    predictor = build_mlp_head(size.embed_dim, head_hidden_dim, head_depth, head_norm, head_activation)
    return PretrainModel(encoder, decoder, head, predictor, method="lut", simmim_head=simmim_head)
