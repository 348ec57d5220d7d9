"""A `lut` training command as a submitit job: torchrun on every node, requeued on preemption and time-out.

submitit writes the sbatch script (one task per node), sends SIGUSR2 before the time limit or on preemption,
and then asks the job for a checkpoint: the job passes SIGTERM to its torchrun, whose processes finish the current
optimiser step, write `checkpoint-last.pth` and leave (see `lut.runtime.preemption`); submitit requeues the job,
which runs the same command again and resumes there (`resume=auto`).
"""

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lut.errors import LutError, UsageError
from lut.extras import require

TRAINING_COMMANDS = ("pretrain", "finetune", "linprobe")
# torchrun passes these on to its processes instead of dying from them (SIGUSR1: SLURM's --signal; SIGUSR2:
# submitit's).
FORWARDED_SIGNALS = "SIGTERM,SIGINT,SIGHUP,SIGQUIT,SIGUSR1,SIGUSR2"
# How long the processes get to write their checkpoint once asked to stop.
STOP_GRACE_SECONDS = 120
# How often a waiting job looks whether torchrun has ended.
WAIT_POLL_SECONDS = 0.1


@dataclass
class LaunchSettings:
    """Where and how big: one submitit task per node, each starting `processes_per_node` training processes."""

    cluster: str  # "slurm" or "local"
    logs: Path
    nodes: int = 1
    gpus_per_node: int = 0
    processes_per_node: int = 1
    partition: str = ""
    account: str = ""
    qos: str = ""
    time_minutes: int = 60
    cpus_per_task: int = 0
    signal_delay_s: int = 120
    master_port: int = 29500
    name: str = "lut"
    extra: dict[str, Any] = field(default_factory=dict)


def parse_minutes(value: str) -> int:
    """Minutes of `--time`: "90" (minutes), "12:00:00" (h:mm:ss) or "2-00:00:00" (days-hh:mm:ss), seconds rounded up.

    Raises:
        UsageError: any other form.
    """
    match = re.fullmatch(r"(?:(\d+)-)?(\d+):(\d\d):(\d\d)|(\d+)", value.strip())
    if not match:
        raise UsageError(f"--time {value!r}: give minutes (90), h:mm:ss (12:00:00) or days-hh:mm:ss (2-00:00:00)")
    if match.group(5):
        return int(match.group(5))
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups()[:4])
    return days * 24 * 60 + hours * 60 + minutes + (1 if seconds else 0)


class TrainingJob:
    """The callable submitit runs on every node: torchrun with this node's rank, then the `lut` command.

    Args:
        command: `lut` arguments, e.g. ["pretrain", "lut_vit_base", "data=/data/in1k"].
        settings: the launch settings (nodes, processes per node, rendezvous port).
        module: the module torchrun starts with the command's arguments (the `lut` command line).
    """

    def __init__(self, command: list[str], settings: LaunchSettings, module: str = "lut.cli") -> None:
        self.command = command
        self.settings = settings
        self.module = module
        self.process: subprocess.Popen | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"command": self.command, "settings": self.settings, "module": self.module}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["command"], state["settings"], state.get("module", "lut.cli"))

    def torchrun_command(self, node_rank: int, master_addr: str) -> list[str]:
        """torchrun's command line on node `node_rank` (static rendezvous at the first node); one node runs
        `--standalone`, on a free port, so that jobs sharing a node (array tasks) do not compete for one."""
        command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", str(self.settings.nodes)]
        if self.settings.nodes == 1:
            command.append("--standalone")
        else:
            command += ["--node_rank", str(node_rank), "--master_addr", master_addr, "--master_port",
                        str(self.settings.master_port)]
        return [*command, "--nproc_per_node", str(self.settings.processes_per_node), "-m", self.module, *self.command]

    def __call__(self) -> int:
        import submitit

        environment = submitit.JobEnvironment()
        master = environment.hostnames[0] if self.settings.nodes > 1 else "127.0.0.1"
        command = self.torchrun_command(environment.node, master)
        print(f"node {environment.node}/{self.settings.nodes} of job {environment.job_id}: {' '.join(command)}",
              flush=True)
        environment_variables = {**os.environ, "TORCHELASTIC_SIGNALS_TO_HANDLE": FORWARDED_SIGNALS}
        self.process = subprocess.Popen(command, env=environment_variables)
        code = wait_for_exit(self.process)
        if code != 0:
            raise LutError(f"lut {' '.join(self.command)} failed with exit code {code} (log above)")
        return code

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        """submitit's preemption and time-out hook: stop torchrun's processes (they write their checkpoint), then
        hand submitit the same job to requeue; it resumes from that checkpoint."""
        import submitit

        if self.process is not None and self.process.poll() is None:
            print("asked to stop: the training processes write their checkpoint, then the job is requeued",
                  flush=True)
            self.process.send_signal(signal.SIGTERM)
            code = wait_for_exit(self.process, STOP_GRACE_SECONDS)
            if code is None:
                print(f"the training processes did not stop within {STOP_GRACE_SECONDS} s: killed", flush=True)
                self.process.kill()
                wait_for_exit(self.process)
            else:
                print(f"the training processes stopped (torchrun exit code {code}); requeueing", flush=True)
        return submitit.helpers.DelayedSubmission(TrainingJob(self.command, self.settings, self.module))


def wait_for_exit(process: subprocess.Popen, timeout: float | None = None) -> int | None:
    """`process`'s exit code once it has ended, or None when it still runs after `timeout` seconds.

    Reaps with `os.waitpid` rather than `Popen.wait`: submitit calls `TrainingJob.checkpoint` from a signal handler
    while `__call__` waits for the same process, and a `Popen.wait` in the handler cannot take the lock that the
    interrupted `Popen.wait` holds, so it would only return at its timeout, after the process had long ended.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    while process.returncode is None:
        try:
            pid, status = os.waitpid(process.pid, os.WNOHANG)
        except ChildProcessError:  # reaped by the interrupted waiter in the instant before it noted the code
            return process.returncode if process.returncode is not None else -1
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
        elif deadline is not None and time.monotonic() >= deadline:
            return None
        else:
            time.sleep(WAIT_POLL_SECONDS)
    return process.returncode


def build_executor(settings: LaunchSettings) -> Any:
    """A submitit executor for the settings (`cluster="local"` runs the job on this machine, for testing)."""
    import shutil

    import submitit

    if settings.cluster == "slurm" and shutil.which("srun") is None:
        raise UsageError("SLURM's srun is not on this machine: lut launch slurm runs on a SLURM login node "
                         "(lut launch local runs the job here)")
    executor = submitit.AutoExecutor(folder=str(settings.logs), cluster=settings.cluster)
    parameters: dict[str, Any] = {"timeout_min": settings.time_minutes, "tasks_per_node": 1,
                                  "gpus_per_node": settings.gpus_per_node, "name": settings.name}
    if settings.cluster == "slurm":
        parameters.update(nodes=settings.nodes, slurm_signal_delay_s=settings.signal_delay_s,
                          slurm_additional_parameters={"requeue": True, **settings.extra})
        if settings.cpus_per_task:
            parameters["cpus_per_task"] = settings.cpus_per_task
        for key in ("partition", "account", "qos"):
            if getattr(settings, key):
                parameters[f"slurm_{key}"] = getattr(settings, key)
    executor.update_parameters(**parameters)
    return executor


def submit(command: list[str], settings: LaunchSettings) -> Any:
    """Submit `lut COMMAND` as a requeueable job; returns the submitit job.

    Raises:
        UsageError: not a training command, submitit missing, or more than one node on the local executor.
    """
    if not command or command[0] not in TRAINING_COMMANDS:
        raise UsageError(f"lut launch runs one of {', '.join(TRAINING_COMMANDS)}, transfer: lut launch slurm "
                         "[options] -- pretrain RECIPE key=value")
    require("submitit", "launch", "lut launch")
    if settings.cluster == "local" and settings.nodes != 1:
        raise UsageError("the local executor runs one node: drop --nodes")
    try:
        return build_executor(settings).submit(TrainingJob(command, settings))
    except FileNotFoundError as error:  # no sbatch: not on a SLURM login node
        raise UsageError(f"cannot submit: {error.filename or error} not found; lut launch slurm runs where SLURM's "
                         "sbatch does (lut launch local runs here)") from error
