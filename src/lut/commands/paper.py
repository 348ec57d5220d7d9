"""`lut paper TABLE --scale SCALE [...]` and `lut paper status RUN_DIR`: a paper table as a graph of `lut` runs."""

import argparse
import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lut.commands.arguments import add_options, configured
from lut.config import option, parse_overrides
from lut.errors import UsageError
from lut.runtime.files import write_json

ALL_TABLES = "all"
PAPER_FILE = "paper.json"


@dataclass
class PaperConfig:
    """The options of `lut paper TABLE`."""

    scale: str = option("tiny", "tiny (CPU, minutes, built-in data), small (one GPU, hours), paper (the paper's "
                        "recipes; give data.imagenet=PATH data.ade20k=PATH data.transfer=PATH), or a scale YAML")
    root: str = option("", "run folder (default: runs/paper/SCALE)")
    launch: str = option("local", "local: processes on this machine; slurm: submitit jobs with afterok "
                         "dependencies (pre-trainings as one array); submitit-local: submitit's local executor",
                         ("local", "slurm", "submitit-local"))
    jobs: int = option(0, "local processes at once (0: the scale's)", minimum=0)
    dry_run: bool = option(False, "print each node's output folder and command line, the job count and GPU-hours; "
                           "run nothing")
    encoder: list[str] = option([], "NAME=CHECKPOINT: another encoder evaluated as an extra row (repeatable)",
                                each=1)
    gpus_per_node: int = option(1, "slurm: GPUs of each job", minimum=0)
    partition: str = option("", "slurm: partition")
    account: str = option("", "slurm: account")
    qos: str = option("", "slurm: quality of service")
    time: str = option("60", "slurm: each job's time limit (minutes, h:mm:ss or days-hh:mm:ss); requeued at the limit")


@dataclass
class PaperStatusConfig:
    """The options of `lut paper status RUN_DIR`."""

    tables: bool = option(True, "rewrite the run's tables from its finished runs (false: only show the states)")


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add the `paper` command: one sub-command per table, `all`, and `status`."""
    from lut.paper.tables import TABLES

    parser = subcommands.add_parser(
        "paper", help="run a table of the paper end to end: pre-trainings, evaluations, the table beside the paper's",
        description="Builds the table's graph of lut runs (pre-trainings, then every evaluation of every encoder) "
                    "and runs it locally or on SLURM. Finished runs are reused; unfinished ones resume through "
                    "their own resume; a failed run stops only the runs that need it.")
    tables = parser.add_subparsers(dest="table", required=True, metavar="TABLE")
    for name in [*TABLES, ALL_TABLES]:
        title = TABLES[name].title if name in TABLES else "every table above, sharing their common runs"
        sub = tables.add_parser(name, help=title, description=title)
        sub.add_argument("settings", nargs="*", default=[], metavar="data.NAME=PATH",
                         help="where the scale's data sets are (the paper scale reads data.imagenet, data.ade20k; "
                                 "data.transfer for tables 2 and 3)")
        add_options(sub, PaperConfig)
        sub.set_defaults(handler=run)
    status = tables.add_parser("status", help="which runs of a RUN_DIR are done, running, failed or waiting; "
                                              "rewrites its tables from the finished runs")
    status.add_argument("run_dir", metavar="RUN_DIR")
    add_options(status, PaperStatusConfig)
    status.set_defaults(handler=run_status)


def data_paths(settings: list[str]) -> dict[str, str]:
    """`data.NAME=PATH` settings as {NAME: PATH}.

    Raises:
        UsageError: a setting other than data.NAME=PATH.
    """
    paths = {}
    for key, value in parse_overrides(settings).items():
        if not key.startswith("data.") or not value:
            raise UsageError(f"lut paper takes data.NAME=PATH settings, not {key}=...")
        paths[key[len("data."):]] = str(Path(str(value)).expanduser())
    return paths


def encoder_paths(pairs: list[str]) -> dict[str, str]:
    """`--encoder NAME=CHECKPOINT` values as {NAME: CHECKPOINT}.

    Raises:
        UsageError: not NAME=CHECKPOINT, or the checkpoint file is missing.
    """
    encoders = {}
    for pair in pairs:
        name, _, checkpoint = pair.partition("=")
        if not name or not checkpoint or "-" in name:
            raise UsageError(f"--encoder {pair!r}: give NAME=CHECKPOINT (a name without '-')")
        if not Path(checkpoint).expanduser().is_file():
            raise UsageError(f"--encoder {name}: no file {checkpoint}")
        encoders[name] = str(Path(checkpoint).expanduser().resolve())
    return encoders


def build(config: PaperConfig, table_name: str, settings: list[str]) -> tuple[list[Any], Any, Any]:
    """The tables, the scale and the merged graph of the command."""
    from lut.launch.graph import Graph
    from lut.paper.plan import build_graph
    from lut.paper.scale import load_scale
    from lut.paper.tables import TABLES, table_at

    scale = load_scale(config.scale)
    root = Path(config.root or f"runs/paper/{scale.name}").expanduser().resolve()
    tables = [table_at(name, scale) for name in (TABLES if table_name == ALL_TABLES else [table_name])]
    encoders, data = encoder_paths(config.encoder), data_paths(settings)
    nodes: dict[str, Any] = {}
    owners: dict[str, str] = {}
    for table in tables:
        for node in build_graph(table, scale, root, encoders, data, config.dry_run).nodes:
            owners.setdefault(node.name, table.name)
            if nodes.setdefault(node.name, node) != node:  # tables share their common runs, which must agree
                raise UsageError(f"{owners[node.name]} and {table.name} both run {node.name}, with different "
                                 "settings (a table_pretrain entry of the scale for one of them?): run each with its "
                                 "own --root")
    return tables, scale, Graph(root, list(nodes.values()))


def print_plan(graph: Any) -> None:
    """Each node's output folder, command line and cost; then the number of jobs and the GPU-hours."""
    from lut.launch.graph import node_states

    states = node_states(graph)
    for node in graph.nodes:
        after = f" after {', '.join(node.after)}" if node.after else ""
        print(f"{node.name} [{states[node.name]}, {node.gpu_hours:.4g} GPU-h{after}]\n  output {node.output}\n"
              f"  lut {shlex.join(node.command)}")
    todo = [node for node in graph.nodes if states[node.name] != "done"]
    print(f"{len(graph.nodes)} jobs ({len(todo)} to run), {sum(node.gpu_hours for node in graph.nodes):.4g} "
          f"GPU-hours estimated ({sum(node.gpu_hours for node in todo):.4g} to run)")


def run(args: argparse.Namespace) -> int:
    """Build the graph; print it (dry run), or run it and write the tables."""
    from lut.launch.graph import run_local, submit_graph
    from lut.launch.jobs import LaunchSettings, parse_minutes
    from lut.paper.report import write_table

    config = configured(args, PaperConfig)
    tables, scale, graph = build(config, args.table, args.settings)
    if config.dry_run:
        print_plan(graph)
        return 0
    graph.root.mkdir(parents=True, exist_ok=True)
    encoders = list(encoder_paths(config.encoder))
    write_json({"tables": [table.name for table in tables], "scale": config.scale, "encoders": encoders},
               graph.root / PAPER_FILE)
    if config.launch == "local":
        report = run_local(graph, config.jobs or scale.jobs)
    else:
        cluster = "slurm" if config.launch == "slurm" else "local"
        settings = LaunchSettings(cluster=cluster, logs=graph.root / "jobs", gpus_per_node=config.gpus_per_node,
                                  processes_per_node=max(config.gpus_per_node, 1),
                                  time_minutes=parse_minutes(config.time), partition=config.partition,
                                  account=config.account, qos=config.qos)
        report = submit_graph(graph, settings)
    print("\n".join(report.lines()))
    for table in tables:
        paths = write_table(table, scale, graph, encoders)
        print(f"{table.name}: {paths['md']}, {paths['json']}, {paths['png']}")
    if report.submitted:
        print(f"follow the jobs with: lut paper status {graph.root}")
    return 1 if report.failed else 0


def run_status(args: argparse.Namespace) -> int:
    """Print each node's state and rewrite the run's tables from its finished runs."""
    from lut.launch.graph import load_manifest, node_states
    from lut.launch.queue import with_slurm_states
    from lut.paper.report import write_table
    from lut.paper.scale import load_scale
    from lut.paper.tables import table_at

    graph = load_manifest(Path(args.run_dir).expanduser().resolve())
    states = with_slurm_states(node_states(graph))
    width = max(len(name) for name in states)
    for name, state in states.items():
        print(f"{name:<{width}}  {state}")
    counts: dict[str, int] = {}
    for state in states.values():
        counts[state.split(" ")[0]] = counts.get(state.split(" ")[0], 0) + 1
    print(", ".join(f"{count} {state}" for state, count in sorted(counts.items())))
    if not configured(args, PaperStatusConfig).tables:
        return 0
    recorded = json.loads((graph.root / PAPER_FILE).read_text())
    scale = load_scale(recorded["scale"])
    for name in recorded["tables"]:
        paths = write_table(table_at(name, scale), scale, graph, recorded["encoders"])
        print(f"{name}: {paths['md']}")
    return 0
