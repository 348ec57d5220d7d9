"""State-dict hooks that hide container modules from the key names.

The released MAE/LUT models keep the encoder's and decoder's parameters at the top level
(`blocks.0.attn.qkv.weight`, `decoder_embed.weight`). Our models hold them in `encoder` and
`decoder` sub-modules; these hooks drop those prefixes on save and restore them on load,
also when the model is wrapped (DDP's `module.` prefix is left as it is).
"""

from torch import nn


def flatten_state_dict_keys(module: nn.Module, containers: tuple[str, ...]) -> None:
    """Register hooks on `module` so keys of the named child modules appear without their prefix.

    Args:
        module: the model whose state dict is flattened.
        containers: names of child modules whose prefix disappears, e.g. ("encoder", "decoder").
    """

    def strip(_module: nn.Module, state_dict: dict, prefix: str, _metadata: dict) -> None:
        items = list(state_dict.items())
        state_dict.clear()
        for key, value in items:
            for name in containers:
                if key.startswith(f"{prefix}{name}."):
                    key = prefix + key[len(prefix) + len(name) + 1:]
                    break
            state_dict[key] = value

    def restore(owner: nn.Module, state_dict: dict, prefix: str, *_args) -> None:
        for name in containers:
            child_keys = getattr(owner, name).state_dict().keys()
            for child_key in child_keys:
                if prefix + child_key in state_dict:
                    state_dict[f"{prefix}{name}.{child_key}"] = state_dict.pop(prefix + child_key)

    module.register_state_dict_post_hook(strip)
    module.register_load_state_dict_pre_hook(restore)
