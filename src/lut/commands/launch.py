"""`lut launch {slurm,local} [options] -- pretrain RECIPE key=value`."""

import argparse
from typing import TYPE_CHECKING

from lut.commands.arguments import add_options, configured

if TYPE_CHECKING:
    from lut.launch.jobs import LaunchSettings

EPILOG = """example:
  lut launch slurm --nodes 4 --gpus-per-node 8 --partition gpu --time 2-00:00:00 -- \\
      pretrain lut_vit_large data=/data/imagenet/train output_dir=/shared/runs/lut_l

  lut launch slurm --gpus-per-node 1 --time 4:00:00 -- transfer --checkpoint lut.pth --data cub200 \\
      data_root=/datasets --recipe vit_base --output /shared/runs/transfer_cub

The job is requeued on preemption and before its time limit, and resumes from checkpoint-last.pth
(docs/SCALING.md). A transfer grid becomes a job array, one task per run, and a summary job after it
(docs/TRANSFER.md). `local` runs the same job on this machine, waiting for it (for testing)."""


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `launch` sub-command, with `slurm` and `local` under it."""
    parser = subcommands.add_parser(
        "launch", help="submit a training command to SLURM (through submitit) with requeue",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Run pretrain, finetune or linprobe under torchrun on every node of a SLURM job, requeued on "
                    "preemption and time-out, or as a local job; a transfer grid as a job array (one task per run) "
                    "and a summary job.",
    )
    clusters = parser.add_subparsers(dest="cluster", required=True)
    for cluster, text in (("slurm", "submit with sbatch"), ("local", "run here as a submitit local job")):
        add_launch_options(clusters.add_parser(cluster, help=text, epilog=EPILOG,
                                               formatter_class=argparse.RawDescriptionHelpFormatter), cluster)


def add_launch_options(parser: argparse.ArgumentParser, cluster: str) -> None:
    """The job's size and place, then `-- COMMAND ...`."""
    from lut.launch.options import LocalLaunchOptions, SlurmLaunchOptions

    parser.add_argument("training_command", nargs=argparse.REMAINDER, metavar="-- COMMAND",
                        help="the lut command: pretrain|finetune|linprobe|transfer and its arguments")
    add_options(parser, SlurmLaunchOptions if cluster == "slurm" else LocalLaunchOptions)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Submit the job; on `local`, wait for it and return its result."""
    from lut.errors import LutError
    from lut.launch.jobs import submit
    from lut.launch.options import LocalLaunchOptions, SlurmLaunchOptions

    command = args.training_command[1:] if args.training_command[:1] == ["--"] else args.training_command
    options = configured(args, SlurmLaunchOptions if args.cluster == "slurm" else LocalLaunchOptions)
    settings = options.settings(args.cluster)
    if command[:1] == ["transfer"]:
        return run_grid_array(command, settings)
    job = submit(command, settings)
    print(f"submitted {args.cluster} job {job.job_id}: {settings.nodes} node(s) x {settings.processes_per_node} "
          f"process(es); log {job.paths.stdout}")
    if args.cluster == "slurm":
        return 0
    try:
        job.result()
    except Exception as error:  # submitit's FailedJobError, UncompletedJobError
        raise LutError(f"job {job.job_id} failed: see {job.paths.stdout} and {job.paths.stderr}") from error
    print(f"job {job.job_id} finished")
    return 0


def run_grid_array(command: list[str], settings: "LaunchSettings") -> int:
    """Submit a transfer grid as a job array and its summary job; on `local`, wait for both."""
    from lut.commands import transfer
    from lut.commands.command_line import parse_arguments
    from lut.errors import LutError
    from lut.launch.array import submit_grid

    parser = argparse.ArgumentParser(prog="lut")
    transfer.register(parser.add_subparsers(dest="command", required=True))
    runs = transfer.grid_request(parse_arguments(parser, command)).runs  # checks the grid before submitting
    tasks, summary = submit_grid(command, runs, settings)
    print(f"submitted {settings.cluster} array of {runs} tasks ({tasks[0].job_id} ..., 1 node x "
          f"{settings.processes_per_node} process(es) each; logs in {settings.logs}) and summary job "
          f"{summary.job_id}" + (" after it" if settings.cluster == "slurm" else ""))
    if settings.cluster == "slurm":
        return 0
    try:
        summary.result()
    except Exception as error:  # submitit's FailedJobError, UncompletedJobError
        raise LutError(f"summary job {summary.job_id} failed: see {summary.paths.stdout} and "
                       f"{summary.paths.stderr}") from error
    print(f"summary job {summary.job_id} finished")
    return 0
