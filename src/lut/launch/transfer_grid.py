"""A transfer grid as nodes of the graph runner (`lut.launch.graph`): one node per run, then the summary.

Run I of a grid is the command `lut transfer ARGS --point I`; it writes `point.json` into its folder
(`OUTPUT/LABEL/POINT`), so that folder and that file are the node's output and completion file. All point nodes
share one array key (one SLURM job array). The summary node runs the same command without `--point`: it reuses
every finished run and writes `results.json`, `results.md` and `grid.png` into the grid's output folder.
`lut launch ... -- transfer`, `lut transfer --jobs N` and the transfer tables of `lut paper` build their grids here.
"""

from collections.abc import Callable, Sequence
from pathlib import Path

from lut.errors import LutError, UsageError
from lut.launch.graph import Graph, GraphReport, Node, run_local
from lut.transfer.grid import Grid, grid_points, point_name
from lut.transfer.point import POINT_FILE, TransferData

RESULTS_FILE = "results.json"


def run_folders(output: Path, labels: Sequence[str], grid: Grid) -> list[Path]:
    """Each run's folder, in the order `--point` counts the runs: label by label, the last grid axis fastest."""
    return [output / label / point_name(point) for label in labels for point in grid_points(grid)]


def check_no_point(command: Sequence[str]) -> None:
    """Refuse a transfer command that already picks a run: the graph gives each point node its own `--point`.

    Raises:
        UsageError: `--point` is in the command.
    """
    if any(token == "--point" or token.startswith(("--point=", "point=")) for token in command):
        raise UsageError("lut launch gives every array task its own --point: drop --point from the transfer command")


def point_nodes(command: Sequence[str], output: Path, labels: Sequence[str], grid: Grid, prefix: str,
                after: tuple[str, ...] = (), gpu_hours: float = 0.0, devices: Sequence[str] = ()) -> list[Node]:
    """One node per run of the grid `lut transfer COMMAND...`: `PREFIX-pointI` runs `COMMAND... --point I`.

    Args:
        command: the `lut` arguments of the whole grid, starting with "transfer" and without `--point`.
        output: the grid's output folder (`--output`).
        labels: the encoders' labels, in the command's order.
        grid: the grid the command resolves to.
        prefix: start of the node names, also the array key (`PREFIX-points`).
        after: nodes every run needs (the encoder's pre-training).
        gpu_hours: the estimated cost of one run.
        devices: when given, run I fine-tunes on `devices[I % len(devices)]` (`device=` setting).

    Raises:
        UsageError: the command has a `--point`, or the grid has no runs.
    """
    check_no_point(command)
    folders = run_folders(output, labels, grid)
    if not folders:
        raise UsageError("the grid has no runs")
    nodes = []
    for index, folder in enumerate(folders):
        device = [f"device={devices[index % len(devices)]}"] if devices else []
        nodes.append(Node(f"{prefix}-point{index}", (*command, *device, "--point", str(index)), folder, after,
                          done_file=POINT_FILE, gpu_hours=gpu_hours, array=f"{prefix}-points"))
    return nodes


def summary_name(prefix: str) -> str:
    """The name of the summary node of the grid whose nodes start with `prefix`."""
    return f"{prefix}-summary"


def summary_node(command: Sequence[str], output: Path, points: Sequence[Node], prefix: str) -> Node:
    """`PREFIX-summary`: the grid's command without `--point`, after every run, completed by `results.json`."""
    return Node(summary_name(prefix), tuple(command), output, tuple(node.name for node in points),
                done_file=RESULTS_FILE)


def grid_nodes(command: Sequence[str], output: Path, labels: Sequence[str], grid: Grid, prefix: str,
               after: tuple[str, ...] = (), gpu_hours: float = 0.0) -> list[Node]:
    """The point nodes of the grid (`point_nodes`), then its summary node."""
    points = point_nodes(command, output, labels, grid, prefix, after, gpu_hours)
    return [*points, summary_node(command, output, points, prefix)]


def failed_runs_message(report: GraphReport, runs: int) -> str:
    """One line naming the runs that failed (with their logs) and saying what the summary did not do."""
    failed = "; ".join(f"{name} ({why})" for name, why in report.failed.items())
    return (f"{len(report.failed)} of {runs} runs failed: {failed}; no summary was written (run the same command "
            "again: finished runs are reused)")


def spread_devices(device: str) -> list[str]:
    """With several GPUs and `device` auto or cuda, every GPU ("cuda:0", "cuda:1", ...) for runs to take in turn;
    else none (each run uses `device`)."""
    import torch

    if device in ("auto", "cuda") and torch.cuda.device_count() > 1:
        return [f"cuda:{index}" for index in range(torch.cuda.device_count())]
    return []


def run_points_locally(command: Sequence[str], data: TransferData, output: Path, labels: Sequence[str], grid: Grid,
                       device: str, jobs: int, say: Callable[[str], None] = print) -> None:
    """Run every unfinished run of the grid `lut transfer COMMAND...` as its own process, `jobs` at a time
    (`lut transfer --jobs N`); the graph's manifest and states go to `OUTPUT/graph.json` and `OUTPUT/.graph/`.

    The data is opened here first, so that its validation hold-out is made once, before the runs read it.

    Raises:
        LutError: a run failed (naming each with its log); the finished ones are kept.
    """
    data.open()
    nodes = point_nodes(command, output, labels, grid, "transfer", devices=spread_devices(device))
    report = run_local(Graph(output, nodes), jobs, say)
    if report.failed:
        raise LutError(failed_runs_message(report, len(nodes)))
