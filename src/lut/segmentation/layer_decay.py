"""mmseg's layer-wise learning-rate decay for a ViT backbone under UperNet heads.

Layer ids: the CLS token, position table and patch embedding are layer 0; backbone block i is
layer i + 1; everything else (neck and heads) is layer num_layers + 1. A parameter of layer id
gets lr scale rate^(num_layers + 1 - id): ViT-B at 0.65 gives the patch embedding 0.65^13, its last
block 0.65^1 and the heads 1. Biases, 1-D parameters (norms), the CLS token and the position table
get no weight decay.
"""

from typing import Any

from torch import nn

EMBEDDING_NAMES = ("backbone.cls_token", "backbone.pos_embed", "backbone.patch_embed", "backbone.reg_token")
NO_DECAY_NAMES = ("backbone.cls_token", "backbone.pos_embed", "backbone.reg_token")


def layer_id(name: str, num_layers: int) -> int:
    """The layer id of a parameter of a `Segmenter` (see the module docstring)."""
    if name.startswith(EMBEDDING_NAMES):
        return 0
    if name.startswith("backbone.blocks."):
        return int(name.split(".")[2]) + 1
    return num_layers + 1


def layer_decay_groups(model: nn.Module, num_layers: int, rate: float, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW parameter groups, one per (layer id, decayed or not), each with its `lr_scale`.

    Args:
        model: a `Segmenter` (parameter names start with `backbone.`, `neck.`, `decode_head.`, ...).
        num_layers: the backbone's depth as built (12 for ViT-B).
        rate: the decay per layer (1 disables it).
        weight_decay: the decay of matrices and convolution kernels.
    """
    groups: dict[tuple[int, bool], dict[str, Any]] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        layer = layer_id(name, num_layers)
        decayed = parameter.ndim > 1 and not name.startswith(NO_DECAY_NAMES)
        group = groups.setdefault((layer, decayed), {
            "params": [], "names": [], "layer_id": layer,
            "weight_decay": weight_decay if decayed else 0.0,
            "lr_scale": rate ** (num_layers + 1 - layer),
        })
        group["params"].append(parameter)
        group["names"].append(name)
    return [groups[key] for key in sorted(groups)]
