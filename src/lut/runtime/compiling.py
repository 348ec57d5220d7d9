"""`torch.compile` of the pre-training forward passes, shared by `compile=true` and the step benchmark."""

from torch import nn


def compile_forward(module: nn.Module, mode: str) -> None:
    """Compile `module`'s forward in place (`nn.Module.compile`: state-dict keys keep no `_orig_mod.` prefix).

    The graphs are static (`dynamic=False`): the training batch shape is fixed (drop_last), and the masked student,
    the teacher and the decoder run their blocks on different token counts and widths, which torch would otherwise
    merge into one symbolic graph. Under FSDP each block is its own frame, and torch's graph cache stored such graphs
    with guards on module attributes that crashed the next lookup (`KeyError: 'self'`, in the next run or in the
    rank that compiled second).
    """
    module.compile(mode=mode, dynamic=False)
