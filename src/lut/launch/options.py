"""The settings of `lut launch local` and `lut launch slurm`, as the command line gives them."""

from dataclasses import dataclass
from pathlib import Path

from lut.config import option
from lut.launch.jobs import LaunchSettings, parse_minutes

JOB = LaunchSettings("local", Path("."))


@dataclass
class LocalLaunchOptions:
    """A job on this machine (submitit's local executor)."""

    gpus_per_node: int = option(0, "GPUs per node", minimum=0)
    nproc_per_node: int = option(0, "training processes per node; 0: the GPUs per node, at least 1", minimum=0)
    time: str = option(str(JOB.time_minutes), "time limit: minutes, h:mm:ss or days-hh:mm:ss")
    signal_delay: int = option(JOB.signal_delay_s, "stop (checkpoint, requeue) this many seconds before the time "
                               "limit", minimum=0)
    logs: str = option("runs/launch", "submitit's folder: the job's script and one log per job and node")
    name: str = option(JOB.name, "job name")

    def settings(self, cluster: str) -> LaunchSettings:
        """The job these settings describe.

        Raises:
            UsageError: a time limit in no known form.
        """
        slurm_only = {key: getattr(self, key) for key in ("nodes", "partition", "account", "qos", "cpus_per_task",
                                                           "master_port") if hasattr(self, key)}
        return LaunchSettings(
            cluster=cluster, logs=Path(self.logs).expanduser().resolve(), gpus_per_node=self.gpus_per_node,
            processes_per_node=self.nproc_per_node or max(self.gpus_per_node, 1), time_minutes=parse_minutes(self.time),
            signal_delay_s=self.signal_delay, name=self.name, **slurm_only,
        )


@dataclass
class SlurmLaunchOptions(LocalLaunchOptions):
    """A SLURM job (sbatch through submitit)."""

    gpus_per_node: int = option(1, "GPUs per node", minimum=0)
    nodes: int = option(JOB.nodes, "nodes", minimum=1)
    partition: str = option(JOB.partition, "SLURM partition")
    account: str = option(JOB.account, "SLURM account")
    qos: str = option(JOB.qos, "SLURM quality of service")
    cpus_per_task: int = option(JOB.cpus_per_task, "CPU cores per node; 0: SLURM's", minimum=0)
    master_port: int = option(JOB.master_port, "rendezvous port on the first node", minimum=1, maximum=65535)
