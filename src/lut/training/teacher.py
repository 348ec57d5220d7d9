"""The EMA teacher's momentum schedule and update."""

import math

import torch
from torch import nn
from torch.distributed.tensor import DTensor

from lut.models.pretrain import PretrainModel, Teacher


def teacher_momentum(step: int, total_steps: int, base_momentum: float) -> float:
    """Cosine from `base_momentum` at step 0 to 1 at `total_steps` (BYOL's schedule)."""
    return 1 - (1 - base_momentum) * (math.cos(math.pi * step / total_steps) + 1) / 2


def teacher_composition(steps: int, total_steps: int, base_momentum: float) -> dict[str, float]:
    """What the teacher is after `steps` EMA updates of `teacher_momentum`'s schedule over `total_steps`.

    The update after optimiser step k (k = 1..steps) uses m_{k-1}, so the teacher is
    `share_0 * w_0 + sum_k c_k * w_k`, w_k being the student's weights after k steps, with
    c_k = (1 - m_{k-1}) * prod_{j=k..steps-1} m_j and share_0 = prod_{j<steps} m_j.

    Returns:
        `initial_share` (share_0: how much of the teacher is still the random initialisation) and
        `average_step` (sum k c_k / sum c_k: the point of the run whose student the teacher resembles;
        0 when no update happened).
    """
    kept = 1.0  # prod of m_j over the updates after the one being looked at
    weighted_steps = 0.0
    for k in range(steps, 0, -1):
        momentum = teacher_momentum(k - 1, total_steps, base_momentum)
        weighted_steps += k * (1 - momentum) * kept
        kept *= momentum
    student_share = 1 - kept
    average_step = weighted_steps / student_share if student_share > 0 else 0.0
    return {"initial_share": kept, "average_step": average_step}


class EMAUpdater:
    """Moves the teacher toward the student: `t <- m * t + (1 - m) * s`.

    Averages the parameters and BatchNorm statistics of the encoder and projector, the parts
    the teacher uses; every other buffer (BatchNorm's step counter, the fixed sin-cos position
    table) is copied, so rounding never moves a fixed table. The tensor lists are built once
    so each update is a few fused `torch._foreach_*` kernels. Under FSDP they hold this rank's
    shards, which line up between teacher and student (same shapes, same sharding), so the
    update needs no communication.

    Args:
        teacher: the momentum model (sharded like the student, if at all).
        student: the pre-training model (unwrapped from DDP).
    """

    def __init__(self, teacher: Teacher, student: PretrainModel) -> None:
        self.teacher_averaged: list[torch.Tensor] = []
        self.student_averaged: list[torch.Tensor] = []
        self.teacher_copied: list[torch.Tensor] = []
        self.student_copied: list[torch.Tensor] = []
        for teacher_part, student_part in ((teacher.encoder, student.encoder), (teacher.head, student.head)):
            for teacher_module, student_module in zip(teacher_part.modules(), student_part.modules(), strict=True):
                for teacher_tensor, student_tensor in zip(
                    teacher_module.parameters(recurse=False), student_module.parameters(recurse=False), strict=True
                ):
                    self.teacher_averaged.append(local_data(teacher_tensor))
                    self.student_averaged.append(local_data(student_tensor))
                for teacher_tensor, student_tensor in zip(
                    teacher_module.buffers(recurse=False), student_module.buffers(recurse=False), strict=True
                ):
                    if is_batch_norm_statistic(teacher_module, teacher_tensor):
                        self.teacher_averaged.append(local_data(teacher_tensor))
                        self.student_averaged.append(local_data(student_tensor))
                    else:
                        self.teacher_copied.append(teacher_tensor)
                        self.student_copied.append(student_tensor)

    @torch.no_grad()
    def update(self, momentum: float) -> None:
        """One EMA step with the given momentum."""
        torch._foreach_mul_(self.teacher_averaged, momentum)
        torch._foreach_add_(self.teacher_averaged, self.student_averaged, alpha=1 - momentum)
        for teacher_tensor, student_tensor in zip(self.teacher_copied, self.student_copied, strict=True):
            teacher_tensor.copy_(student_tensor)


def is_batch_norm_statistic(module: nn.Module, buffer: torch.Tensor) -> bool:
    """True for a BatchNorm module's running mean or variance (its floating-point buffers)."""
    return isinstance(module, nn.modules.batchnorm._BatchNorm) and buffer.is_floating_point()


def local_data(tensor: torch.Tensor) -> torch.Tensor:
    """The tensor's data, or this rank's shard of it for a DTensor (an FSDP-sharded parameter)."""
    return tensor.data.to_local() if isinstance(tensor, DTensor) else tensor.data
