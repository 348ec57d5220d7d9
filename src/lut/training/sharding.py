"""FSDP (`fully_shard`, FSDP2) for pre-training: sharding the student and teacher, full state dicts for checkpoints.

Every transformer block (encoder and decoder) is its own FSDP unit and each model's root holds
the rest (patch embedding, tokens, norms, heads). Each parameter is cut into dim-0 chunks over
the ranks (`Shard(0)` DTensors), so the teacher's local shards line up with the student's and
the EMA update runs shard by shard without communication. Buffers stay whole on every rank.

Checkpoints hold full, plain tensors under the module's own state-dict keys, exactly as a DDP
or single-process run writes them. The `torch.distributed.checkpoint.state_dict` helpers cannot
produce them: they map every key back to a module attribute, and the flat keys
(`lut.models.flat_keys`, `blocks.0...` for `encoder.blocks.0...`) name none. So this module
gathers and cuts the DTensors of the ordinary `state_dict()` itself.
"""

import copy
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import torch
import torch.distributed as dist
from timm.models.vision_transformer import Block
from torch import nn
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import FSDPModule, MixedPrecisionPolicy, fully_shard, register_fsdp_forward_method
from torch.distributed.tensor import DTensor, distribute_tensor

from lut.errors import UsageError
from lut.models import PretrainModel, Teacher

# The oldest torch release FSDP pre-training was checked on (tests/training/test_fsdp.py); it also has
# `FSDPModule.reset_iter_state`. torch 2.8 fails those tests: its gradient norms of DTensor shards differ from DDP's.
FSDP_MIN_TORCH = (2, 13)


@torch.no_grad()
def broadcast_from_rank0(module: nn.Module) -> None:
    """Give every rank rank 0's parameters and buffers, as DDP does at construction (fully_shard does not)."""
    for tensor in [*module.parameters(), *module.buffers()]:
        dist.broadcast(tensor, src=0)


def shard_models(
    student: PretrainModel, teacher: Teacher | None, device: torch.device, compute_dtype: torch.dtype | None = None
) -> None:
    """`fully_shard` every transformer block, then the root, of the student and the teacher; in place.

    Sharded over all ranks on a 1-D device mesh. The teacher never runs a backward pass, so its
    root is resharded after each forward as its blocks are (FSDP keeps a root gathered for the
    backward by default), and `Teacher.targets` gathers its weights like `forward` does.

    With `compute_dtype` (bf16, under autocast), the attention and MLP weights of each block are
    all-gathered in that type (half the traffic; autocast would cast them to it anyway) and their
    gradients reduce-scattered and accumulated in fp32; the sharded weights, AdamW and the EMA stay
    fp32. Block inputs are not cast and each block's LayerNorms are a unit of their own in fp32, so
    the computation is the one of autocast alone (the DDP run). The roots stay fp32.
    """
    mesh = init_device_mesh(device.type, (dist.get_world_size(),))
    block_policy = MixedPrecisionPolicy(
        param_dtype=compute_dtype, reduce_dtype=torch.float32 if compute_dtype else None, cast_forward_inputs=False
    )
    for model, reshard_root in ((student, None), (teacher, True)):
        if model is None:
            continue
        for block in [module for module in model.modules() if isinstance(module, Block)]:
            if compute_dtype is not None:
                fully_shard([block.norm1, block.norm2], mesh=mesh)
            fully_shard(block, mesh=mesh, mp_policy=block_policy)
        fully_shard(model, mesh=mesh, reshard_after_forward=reshard_root)
    if teacher is not None:
        register_fsdp_forward_method(teacher, "targets")


def check_fsdp_torch() -> None:
    """Refuse FSDP on torch releases older than the oldest one it was checked on against DDP.

    Raises:
        UsageError: torch is older than `FSDP_MIN_TORCH`.
    """
    release = tuple(int(part) for part in torch.__version__.split("+")[0].split(".")[:2])
    if release < FSDP_MIN_TORCH:
        oldest = ".".join(str(part) for part in FSDP_MIN_TORCH)
        raise UsageError(f"parallel=fsdp needs torch {oldest} or newer, this is {torch.__version__} (on torch 2.8 "
                         "the gradient norm of the sharded parameters disagrees with DDP's); use parallel=ddp")


@contextmanager
def no_gradient_sync(module: FSDPModule):
    """Accumulate gradients without reduce-scattering them (FSDP's counterpart of DDP's `no_sync`)."""
    module.set_requires_gradient_sync(False)
    try:
        yield
    finally:
        module.set_requires_gradient_sync(True)


def gather_full(state: Any, keep: bool = True) -> Any:
    """`state` (nested dicts of tensors) with every DTensor replaced by its full tensor on the CPU.

    A collective when `state` holds DTensors: every rank must call it with the same structure.
    `keep=False` drops each gathered tensor at once (None in its place), for ranks that write nothing.
    Without DTensors it returns `state`'s values as they are.
    """
    if isinstance(state, DTensor):
        full = state.full_tensor()
        return full.cpu() if keep else None
    if not isinstance(state, dict):
        return state
    gathered = copy.copy(state)  # keeps the mapping type and an OrderedDict's `_metadata`
    for key, value in state.items():
        gathered[key] = gather_full(value, keep)
    return gathered


def _shard_as(reference: Any, value: Any) -> Any:
    """This rank's shard of the full tensor `value`, cut as the DTensor `reference` is; else `value` unchanged.

    No communication: every rank holds the full tensor and keeps its own chunk.
    """
    if isinstance(reference, DTensor) and isinstance(value, torch.Tensor) and value.shape == reference.shape:
        return distribute_tensor(value.to(reference.device), reference.device_mesh, reference.placements,
                                 src_data_rank=None)
    return value


def shard_state_dict(module: nn.Module, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A full state dict of `module` cut to this rank's shards of its sharded parameters, for `load_state_dict`."""
    reference = module.state_dict()
    return {key: _shard_as(reference.get(key), value) for key, value in state.items()}


def shard_optimizer_state(optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> dict[str, Any]:
    """A full optimizer state dict cut to this rank's shards: each state tensor shaped like its sharded parameter."""
    params = [param for group in optimizer.param_groups for param in group["params"]]
    per_param = {
        index: {name: _shard_as(params[index], value) for name, value in values.items()}
        for index, values in state["state"].items()
    }
    return {**state, "state": per_param}


def unsharded_copy(
    module: nn.Module, build: Callable[[], nn.Module], keep: bool, device: torch.device
) -> nn.Module | None:
    """A plain module with the full weights of the sharded `module` on `device`, or None where `keep` is False.

    A collective: every rank must call it. `build` makes a module of the same architecture; it runs
    on the meta device, so it neither allocates memory nor draws from the random number generator.
    """
    state = gather_full(module.state_dict(), keep)
    if not keep:
        return None
    with torch.device("meta"):
        plain = build()
    plain.load_state_dict(state, assign=True)
    return plain.to(device)
