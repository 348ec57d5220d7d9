"""A transfer grid as a job array: one task per run (`lut transfer ... --point I`), then one summary job.

Each task is a `TrainingJob` (torchrun on one node, requeued on preemption and time-out) running one
fine-tuning of the grid in its usual folder; the summary job runs the same `lut transfer` command without
`--point`, which reuses every finished run and writes `results.json`, `results.md` and `grid.png`. On SLURM the
summary job waits for the whole array (`--dependency=afterok:ARRAY`); the local executor runs the tasks, waits
for them, then runs the summary.
"""

import dataclasses
from typing import Any

from lut.errors import LutError, UsageError
from lut.extras import require
from lut.launch.jobs import LaunchSettings, TrainingJob, build_executor


def point_commands(command: list[str], runs: int) -> list[list[str]]:
    """`lut transfer ARGS --point I` for every run I of the grid.

    Raises:
        UsageError: the command already picks a run with `--point`, or the grid has no runs.
    """
    if any(token == "--point" or token.startswith(("--point=", "point=")) for token in command):
        raise UsageError("lut launch gives every array task its own --point: drop --point from the transfer command")
    if runs < 1:
        raise UsageError("the grid has no runs")
    return [[*command, "--point", str(index)] for index in range(runs)]


def array_id(job: Any) -> str:
    """SLURM's id of the array a task belongs to: "4242" for task "4242_0"."""
    return str(job.job_id).split("_")[0]


def wait_for(jobs: list[Any]) -> None:
    """Wait for local jobs; a failed one stops the grid before the summary.

    Raises:
        LutError: naming the failed tasks and their logs.
    """
    failed = []
    for job in jobs:
        try:
            job.result()
        except Exception:  # submitit's FailedJobError, UncompletedJobError
            failed.append(f"{job.job_id} ({job.paths.stderr})")
    if failed:
        raise LutError(f"{len(failed)} of {len(jobs)} array tasks failed: {', '.join(failed)}; the summary job was "
                       "not started (run the same lut launch command again: finished runs are reused)")


def submit_grid(command: list[str], runs: int, settings: LaunchSettings) -> tuple[list[Any], Any]:
    """Submit the grid of `lut transfer ARGS` as an array of `runs` tasks and its summary job.

    On the local executor this waits for the tasks before starting the summary job.

    Returns:
        The array's jobs and the summary job.

    Raises:
        UsageError: submitit missing, more than one node, a `--point` in the command, no SLURM here.
        LutError: a local task failed (the summary job is then not started).
    """
    require("submitit", "launch", "lut launch")
    if settings.nodes != 1:
        raise UsageError("an array task fine-tunes one run on one node: drop --nodes (use --gpus-per-node)")
    commands = point_commands(command, runs)
    executor = build_executor(settings)
    try:
        with executor.batch():
            tasks = [executor.submit(TrainingJob(task_command, settings)) for task_command in commands]
        if settings.cluster == "local":
            wait_for(tasks)
        else:
            after_array = {**settings.extra, "dependency": f"afterok:{array_id(tasks[0])}"}
            executor = build_executor(dataclasses.replace(settings, extra=after_array))
        summary = executor.submit(TrainingJob(command, settings))
    except FileNotFoundError as error:  # no sbatch: not on a SLURM login node
        raise UsageError(f"cannot submit: {error.filename or error} not found; lut launch slurm runs where SLURM's "
                         "sbatch does (lut launch local runs here)") from error
    return tasks, summary
