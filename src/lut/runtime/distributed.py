"""Process-group set-up: one plain process, or torchrun (nccl on GPU, gloo on CPU)."""

import inspect
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from lut.errors import UsageError

# torch >= 2.13 names "sync buffers at construction only" forward_sync_buffers=False (broadcast_buffers is deprecated).
DDP_HAS_FORWARD_SYNC_BUFFERS = "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters


@dataclass(frozen=True)
class DistributedContext:
    """Where this process sits in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Only the main process writes files and prints progress."""
        return self.rank == 0


def parse_device(name: str) -> torch.device | None:
    """The device a name means (None for "auto"), whether or not this machine has it.

    Raises:
        UsageError: a name other than auto, cpu, cuda and cuda:N.
    """
    if name == "auto":
        return None
    try:
        device = torch.device(name)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise UsageError(f"device {name!r} is not one of auto, cpu, cuda, cuda:N")
    return device


def select_device(name: str, local_rank: int = 0) -> torch.device:
    """"auto" picks this process's GPU when there is one, otherwise the CPU.

    Raises:
        UsageError: a name torch does not know, or a GPU this machine does not have.
    """
    device = parse_device(name)
    if device is None:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"device {name!r}: no CUDA GPU is visible to torch on this machine; use device=cpu")
        index = local_rank if device.index is None else device.index
        if index >= torch.cuda.device_count():
            raise UsageError(f"device {name!r}: GPU {index} does not exist ({torch.cuda.device_count()} visible)")
        return torch.device("cuda", index)
    return device


def init_distributed(device_name: str = "auto") -> DistributedContext:
    """Join torchrun's process group when launched by it, else run as a single process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = select_device(device_name, local_rank)
    if world_size == 1:
        return DistributedContext(device=device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistributedContext(dist.get_rank(), dist.get_world_size(), local_rank, device)


@contextmanager
def distributed_session(device_name: str = "auto") -> Iterator[DistributedContext]:
    """`init_distributed` for the body of a `with`; the process group is left however the body ends, unless it
    was joined before (an enclosing session, e.g. around several runs, keeps it: joining twice can hang)."""
    joined_before = dist.is_initialized()
    context = init_distributed(device_name)
    try:
        yield context
    finally:
        if not joined_before:
            shutdown_distributed()


def shutdown_distributed() -> None:
    """Leave the process group, if any."""
    if dist.is_initialized():
        dist.destroy_process_group()


def average_batchnorm_statistics(module: torch.nn.Module, context: DistributedContext) -> None:
    """Average BatchNorm running statistics over ranks in place.

    Stands in for SyncBatchNorm where it is unavailable (it only works on GPUs), so every
    rank's statistics, and with them every rank's EMA teacher, stay the same.
    """
    if not context.is_distributed:
        return
    for layer in module.modules():
        if isinstance(layer, torch.nn.modules.batchnorm._BatchNorm) and layer.track_running_stats:
            for buffer in (layer.running_mean, layer.running_var):
                dist.all_reduce(buffer)
                buffer.div_(context.world_size)


def broadcast_from_main(value: Any, context: DistributedContext) -> Any:
    """The main process's `value` on every process (a picklable object; no-op in a single process)."""
    if not context.is_distributed:
        return value
    shared = [value]
    dist.broadcast_object_list(shared, src=0)
    return shared[0]


def wait_for_all(context: DistributedContext) -> None:
    """Barrier: every process gets here and the collectives still in flight finish; a no-op in one process.

    Gloo's worker threads must hold no work when the group is torn down at exit.
    """
    if context.is_distributed:
        dist.barrier()


def all_reduce_mean(value: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    """Average a tensor over ranks (for logging; gradients are DDP's job)."""
    if not context.is_distributed:
        return value
    value = value.clone()
    dist.all_reduce(value)
    return value / context.world_size


def ddp_syncing_buffers_once(module: torch.nn.Module, device: torch.device) -> DistributedDataParallel:
    """`module` under DDP whose buffers are broadcast from rank 0 at construction only, not before each forward.

    torch >= 2.13 does this with `forward_sync_buffers=False`; older releases skip the buffers at construction too
    when `broadcast_buffers=False`, so they are broadcast here first.
    """
    device_ids = [device.index] if device.type == "cuda" else None
    if DDP_HAS_FORWARD_SYNC_BUFFERS:
        return DistributedDataParallel(module, device_ids=device_ids, forward_sync_buffers=False)
    for buffer in module.buffers():
        dist.broadcast(buffer, src=0)
    return DistributedDataParallel(module, device_ids=device_ids, broadcast_buffers=False)
