"""`lut launch {slurm,local} [options] -- pretrain RECIPE key=value`."""

import argparse
from typing import TYPE_CHECKING

from lut.commands.arguments import add_options, configured
from lut.errors import UsageError

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
    """Submit a transfer grid as a graph: its runs as one job array, then the summary job after them; on `local`,
    run them here and wait."""
    from lut.commands import transfer
    from lut.commands.command_line import parse_arguments
    from lut.errors import LutError
    from lut.extras import require
    from lut.launch.graph import Graph, submit_graph
    from lut.launch.transfer_grid import check_no_point, failed_runs_message, grid_nodes
    from lut.wording import counted

    check_no_point(command)
    parser = argparse.ArgumentParser(prog="lut")
    transfer.register(parser.add_subparsers(dest="command", required=True))
    request = transfer.grid_request(parse_arguments(parser, command))  # checks the grid before submitting
    require("submitit", "launch", "lut launch")
    if settings.nodes != 1:
        raise UsageError("an array task fine-tunes one run on one node: drop --nodes (use --gpus-per-node)")
    nodes = grid_nodes(command, request.output, [encoder.label for encoder in request.encoders], request.grid,
                       settings.name)
    try:
        report = submit_graph(Graph(settings.logs, nodes), settings)
    except FileNotFoundError as error:  # no sbatch: not on a SLURM login node
        raise UsageError(f"cannot submit: {error.filename or error} not found; lut launch slurm runs where SLURM's "
                         "sbatch does (lut launch local runs here)") from error
    runs = len(nodes) - 1
    shape = f"1 node x {settings.processes_per_node} process(es) each; logs in {settings.logs}"
    if settings.cluster == "slurm":
        tasks = [report.submitted[node.name] for node in nodes[:-1] if node.name in report.submitted]
        summary = report.submitted.get(nodes[-1].name)
        if summary is None:
            print(f"the grid has finished ({request.output / nodes[-1].done_file}): nothing submitted")
        elif not tasks:
            print(f"all {runs} runs have finished: submitted summary job {summary} ({shape})")
        else:
            reused = f"; {counted(runs - len(tasks), 'finished run')} reused" if len(tasks) < runs else ""
            print(f"submitted slurm array of {counted(len(tasks), 'task')} ({tasks[0]} ..., {shape}) and summary job "
                  f"{summary} after it{reused}")
        return 0
    if report.failed:
        raise LutError(failed_runs_message(report, runs))
    print(f"ran local array of {counted(runs, 'task')} ({shape}) and the summary job: "
          f"{len(report.ran)} finished, {len(report.reused)} reused")
    return 0
