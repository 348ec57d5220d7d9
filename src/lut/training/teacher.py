"""The EMA teacher's momentum schedule and update."""

import math

import torch
from torch.distributed.tensor import DTensor

from lut.models.pretrain import PretrainModel, Teacher


def teacher_momentum(step: int, total_steps: int, base_momentum: float) -> float:
    """Cosine from `base_momentum` at step 0 to 1 at `total_steps` (BYOL's schedule)."""
    return 1 - (1 - base_momentum) * (math.cos(math.pi * step / total_steps) + 1) / 2


class EMAUpdater:
    """Moves the teacher toward the student: `t <- m * t + (1 - m) * s`.

    Covers the parameters and floating-point buffers (BatchNorm statistics) of the encoder
    and projector, the parts the teacher uses; integer buffers are copied. The tensor lists
    are built once so each update is a few fused `torch._foreach_*` kernels. Under FSDP they
    hold this rank's shards, which line up between teacher and student (same shapes, same
    sharding), so the update needs no communication.

    Args:
        teacher: the momentum model (sharded like the student, if at all).
        student: the pre-training model (unwrapped from DDP).
    """

    def __init__(self, teacher: Teacher, student: PretrainModel) -> None:
        self.teacher_floats: list[torch.Tensor] = []
        self.student_floats: list[torch.Tensor] = []
        self.teacher_ints: list[torch.Tensor] = []
        self.student_ints: list[torch.Tensor] = []
        for teacher_part, student_part in ((teacher.encoder, student.encoder), (teacher.head, student.head)):
            pairs = zip(
                [*teacher_part.parameters(), *teacher_part.buffers()],
                [*student_part.parameters(), *student_part.buffers()],
                strict=True,
            )
            for teacher_tensor, student_tensor in pairs:
                if teacher_tensor.is_floating_point():
                    self.teacher_floats.append(local_data(teacher_tensor))
                    self.student_floats.append(local_data(student_tensor))
                else:
                    self.teacher_ints.append(teacher_tensor)
                    self.student_ints.append(student_tensor)

    @torch.no_grad()
    def update(self, momentum: float) -> None:
        """One EMA step with the given momentum."""
        torch._foreach_mul_(self.teacher_floats, momentum)
        torch._foreach_add_(self.teacher_floats, self.student_floats, alpha=1 - momentum)
        for teacher_tensor, student_tensor in zip(self.teacher_ints, self.student_ints, strict=True):
            teacher_tensor.copy_(student_tensor)


def local_data(tensor: torch.Tensor) -> torch.Tensor:
    """The tensor's data, or this rank's shard of it for a DTensor (an FSDP-sharded parameter)."""
    return tensor.data.to_local() if isinstance(tensor, DTensor) else tensor.data
