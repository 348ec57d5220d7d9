"""Arithmetic cost of one pre-training step, counted from the model's shapes.

Multiply-accumulates (MACs) per image of the matrix products: patch embedding, attention
projections, attention scores and mixing, MLPs, decoder and heads. Backward costs twice
the forward; the teacher only runs forward. Norms, softmax and element-wise work are left
out, as is customary.
"""

from torch import nn

from lut.masking import num_visible_patches
from lut.models.pretrain import PretrainModel


def transformer_macs(tokens: int, width: int, depth: int, mlp_ratio: float = 4.0) -> int:
    """Forward MACs of `depth` pre-norm blocks on `tokens` tokens of width `width`."""
    projections = (4 + 2 * mlp_ratio) * width * width  # qkv + proj + MLP, per token
    attention = 2 * tokens * width  # scores and weighted sum, per token
    return int(depth * tokens * (projections + attention))


def head_macs(head: nn.Module) -> int:
    """Forward MACs of an MLP head on one pooled vector (0 for the identity)."""
    return sum(layer.in_features * layer.out_features for layer in head.modules() if isinstance(layer, nn.Linear))


def step_macs(model: PretrainModel, mask_ratio: float) -> dict[str, int]:
    """Forward + backward MACs per image of one step of `model`'s method.

    Returns:
        MACs of "student" (trained parts, forward + backward), "teacher" (forward only) and "total".
    """
    encoder, decoder = model.encoder, model.decoder
    width, depth = encoder.embed_dim, len(encoder.blocks)
    patches = encoder.num_patches
    visible = num_visible_patches(patches, mask_ratio)
    patch_macs = encoder.patch_embed.proj.weight[0].numel() * width  # one patch's projection
    decoder_width = decoder.decoder_embed.out_features
    decoder_forward = (
        (visible + 1) * width * decoder_width
        + transformer_macs(patches + 1, decoder_width, len(decoder.decoder_blocks))
        + patches * decoder.decoder_pred.in_features * decoder.decoder_pred.out_features
    )
    student_encoder = visible * patch_macs + transformer_macs(visible + 1, width, depth)  # projects the seen patches
    views = 1 if model.head is None else 2
    student_forward = views * student_encoder + decoder_forward
    teacher_forward = 0
    if model.head is not None:
        student_forward += views * (head_macs(model.head) + head_macs(model.predictor))
        teacher_forward = views * (
            patches * patch_macs + transformer_macs(patches + 1, width, depth) + head_macs(model.head)
        )
    student = 3 * student_forward
    return {"student": student, "teacher": teacher_forward, "total": student + teacher_forward}
