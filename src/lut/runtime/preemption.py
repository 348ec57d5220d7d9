"""Stopping a training run cleanly when a cluster (or Ctrl-C) asks for it.

SIGTERM (what SLURM and Kubernetes send before killing a job), SIGUSR1 (SLURM's `--signal=USR1@SECONDS`),
SIGUSR2 (submitit's) and SIGINT only set a flag. The training loop asks `PreemptionGuard.requested()` after
every optimiser step; the answer is agreed by all ranks (one all-reduce), so every process stops at the same
step, writes the checkpoint together and leaves with `PreemptedError` (exit code 128 + signal). Signals that
arrive while the checkpoint is written are absorbed: the write finishes, and the previous checkpoint stays
valid until it has. Under SLURM, a SIGUSR1 also requeues the job (`scontrol requeue $SLURM_JOB_ID`, from the
main process); the requeued job runs the same command and resumes from the checkpoint.
"""

import os
import signal
import subprocess
import threading
from pathlib import Path
from types import FrameType, TracebackType
from typing import NoReturn

import torch
import torch.distributed as dist

from lut.errors import PreemptedError
from lut.runtime.distributed import DistributedContext

# In the order that decides which signal a run reports when ranks received different ones; SIGUSR2 is submitit's
# (`lut launch`), which SLURM may also deliver to the training processes.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2, signal.SIGINT)
REQUEUE_SIGNAL = signal.SIGUSR1


class PreemptionGuard:
    """While entered, turns the stop signals into a flag that the training loop polls.

    Args:
        context: the process group; `requested()` is a collective call under torchrun.
    """

    def __init__(self, context: DistributedContext) -> None:
        self.context = context
        self.received: set[int] = set()
        self.agreed: list[int] = []
        self.previous_handlers: dict[int, object] = {}

    def __enter__(self) -> "PreemptionGuard":
        # Python only lets the main thread install handlers; elsewhere signals keep their usual effect.
        if threading.current_thread() is threading.main_thread():
            for number in STOP_SIGNALS:
                self.previous_handlers[number] = signal.signal(number, self.on_signal)
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, traceback: TracebackType | None) -> None:
        for number, handler in self.previous_handlers.items():
            signal.signal(number, handler)
        self.previous_handlers.clear()

    def on_signal(self, number: int, frame: FrameType | None) -> None:
        """Remember the signal; the training loop acts on it after the current optimiser step."""
        self.received.add(number)

    def agreed_signals(self) -> list[int]:
        """The stop signals that any process received so far, in `STOP_SIGNALS` order (same list on every rank)."""
        flags = torch.tensor([float(number in self.received) for number in STOP_SIGNALS])  # (3,)
        if self.context.is_distributed:
            flags = flags.to(self.context.device)
            dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        return [number for number, flag in zip(STOP_SIGNALS, flags.tolist(), strict=True) if flag]

    def requested(self) -> bool:
        """Whether any process received a stop signal; every process must call it at the same step."""
        self.agreed = self.agreed_signals()
        return bool(self.agreed)

    def stop(self, where: str, checkpoint: Path) -> NoReturn:
        """Leave the run once `requested()` said so and the checkpoint is written: requeue under SLURM on SIGUSR1,
        then raise.

        Args:
            where: the point reached, e.g. "step 12".
            checkpoint: the checkpoint just written (by the main process).

        Raises:
            PreemptedError: always, with 128 + the signal as exit code.
        """
        agreed = self.agreed
        number = agreed[0]
        message = (f"stopped by {signal.Signals(number).name} after {where}; checkpoint {checkpoint} written: run the "
                   "same command to resume")
        if self.context.is_main and REQUEUE_SIGNAL in agreed and os.environ.get("SLURM_JOB_ID"):
            message += f"; {requeue_slurm_job(os.environ['SLURM_JOB_ID'])}"
        raise PreemptedError(message, number)


def requeue_slurm_job(job_id: str) -> str:
    """Ask SLURM to requeue `job_id`; returns one line saying what happened."""
    try:
        result = subprocess.run(["scontrol", "requeue", job_id], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"SLURM job {job_id} NOT requeued (scontrol: {error})"
    if result.returncode != 0:
        reason = (result.stderr or result.stdout).strip().splitlines()
        return f"SLURM job {job_id} NOT requeued (scontrol: {reason[0] if reason else result.returncode})"
    return f"SLURM job {job_id} requeued (scontrol requeue {job_id}); it resumes from the checkpoint"
