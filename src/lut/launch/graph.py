"""A graph of `lut` command lines: each node has an output folder, a completion file and the nodes it needs.

The graph runs as local processes (`jobs` at a time) or as submitit jobs (`afterok` dependencies; nodes sharing an
`array` key go as one job array). A node whose completion file exists is finished and reused; any other node runs
its command again, which resumes through the command's own resume (`resume=auto`). A failed node stops only the
nodes that need it. The runner keeps each node's state in `ROOT/.graph/NAME.json` and appends the command's output
to `OUTPUT/log.txt`; `node_states` reads the states back for `lut paper status`.
"""

import dataclasses
import json
import os
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from lut.errors import UsageError
from lut.launch.jobs import LaunchSettings, TrainingJob, build_executor
from lut.runtime.files import write_json

MANIFEST_FILE = "graph.json"
STATE_FOLDER = ".graph"
LOG_FILE = "log.txt"
LOG_TAIL_LINES = 5


@dataclass(frozen=True)
class Node:
    """One `lut` command of a graph.

    Attributes:
        name: unique within the graph (also the name of its state and log files).
        command: the `lut` arguments, e.g. ("finetune", "--checkpoint", "...", "--output", "...").
        output: the command's output folder.
        after: names of the nodes that must finish first.
        done_file: the file the command writes into `output` when it has finished.
        gpu_hours: the node's estimated cost.
        array: nodes sharing this key (and their `after`) are submitted to SLURM as one job array.
    """

    name: str
    command: tuple[str, ...]
    output: Path
    after: tuple[str, ...] = ()
    done_file: str = "summary.json"
    gpu_hours: float = 0.0
    array: str = ""

    def finished(self) -> bool:
        """Whether the command has written its completion file."""
        return (self.output / self.done_file).is_file()


@dataclass
class Graph:
    """Nodes in an order where every node comes after the nodes it needs.

    Attributes:
        root: folder of the graph's manifest, node states and logs.
        nodes: the nodes.
        module: the Python module run as `python -m MODULE COMMAND...` (the `lut` command line).
    """

    root: Path
    nodes: list[Node]
    module: str = "lut.cli"

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for node in self.nodes:
            if node.name in seen:
                raise UsageError(f"two nodes named {node.name!r} in the graph")
            unknown = [name for name in node.after if name not in seen]
            if unknown:
                raise UsageError(f"node {node.name!r} needs {', '.join(unknown)}, which no earlier node is")
            seen.add(node.name)

    def node(self, name: str) -> Node:
        """The node called `name`."""
        return next(node for node in self.nodes if node.name == name)

    def log_path(self, node: Node) -> Path:
        """Where the node's output goes: `log.txt` in its output folder."""
        return node.output / LOG_FILE

    def state_path(self, node: Node) -> Path:
        """Where the runner records the node's state."""
        return self.root / STATE_FOLDER / f"{node.name}.json"


@dataclass
class GraphReport:
    """What a run of the graph did.

    Attributes:
        reused: nodes finished before the run.
        ran: nodes run to completion in this run.
        failed: {node: why (exit code and log tail)}.
        stopped: {node: the failed node it needed}.
        submitted: {node: job id} of nodes handed to SLURM (their outcome is not known yet).
    """

    reused: list[str] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    stopped: dict[str, str] = field(default_factory=dict)
    submitted: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """The report as printed: counts, then each failed node with why, then the nodes it stopped."""
        counts = [f"{len(self.reused)} reused", f"{len(self.ran)} ran"]
        if self.submitted:
            counts.append(f"{len(self.submitted)} submitted")
        counts += [f"{len(self.failed)} failed", f"{len(self.stopped)} stopped"]
        lines = [f"graph: {', '.join(counts)}"]
        lines += [f"  failed {name}: {why}" for name, why in self.failed.items()]
        lines += [f"  stopped {name}: needs failed {cause}" for name, cause in self.stopped.items()]
        return lines


def write_manifest(graph: Graph) -> Path:
    """Write the graph's nodes to `ROOT/graph.json` (read by `load_manifest`); returns its path."""
    graph.root.mkdir(parents=True, exist_ok=True)
    nodes = [{**dataclasses.asdict(node), "output": str(node.output), "command": list(node.command),
              "after": list(node.after)} for node in graph.nodes]
    path = graph.root / MANIFEST_FILE
    write_json({"module": graph.module, "nodes": nodes}, path)
    return path


def load_manifest(root: Path) -> Graph:
    """The graph recorded in `ROOT/graph.json`.

    Raises:
        UsageError: no graph was run in `root`.
    """
    path = root / MANIFEST_FILE
    if not path.is_file():
        raise UsageError(f"{root} holds no graph ({MANIFEST_FILE} missing): give the folder a run was started in")
    recorded = json.loads(path.read_text())
    nodes = [Node(**{**node, "output": Path(node["output"]), "command": tuple(node["command"]),
                     "after": tuple(node["after"])}) for node in recorded["nodes"]]
    return Graph(root, nodes, recorded["module"])


def _record(graph: Graph, node: Node, **state: Any) -> None:
    path = graph.state_path(node)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json({**state, "time": time.time()}, path)


def _process_alive(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie, ended but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.is_file() and stat.read_text().rpartition(")")[2].split()[0] == "Z")


def node_states(graph: Graph) -> dict[str, str]:
    """Each node's state: done, running, submitted (job ID), failed (exit N), interrupted, stopped or waiting."""
    states: dict[str, str] = {}
    for node in graph.nodes:
        path = graph.state_path(node)
        state = json.loads(path.read_text()) if path.is_file() else {}
        if node.finished():
            states[node.name] = "done"
        elif state.get("state") == "running" and state.get("pid"):
            states[node.name] = "running" if _process_alive(state["pid"]) else "interrupted"
        elif state.get("state") == "submitted":
            states[node.name] = f"submitted (job {state['job_id']})"
        elif state.get("state") == "failed":
            states[node.name] = f"failed (exit {state['exit']})"
        elif any(states[name].startswith(("failed", "stopped")) for name in node.after):
            states[node.name] = "stopped"
        else:
            states[node.name] = "waiting"
    return states


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last non-empty lines of a log, joined with " | " (progress-bar carriage returns as line breaks)."""
    if not path.is_file():
        return "(no log)"
    text = path.read_text(errors="replace").replace("\r", "\n").splitlines()
    return " | ".join(line.strip() for line in [line for line in text if line.strip()][-lines:])


def node_command(graph: Graph, node: Node) -> list[str]:
    """The process's command line: `python -m MODULE COMMAND...`."""
    return [sys.executable, "-m", graph.module, *node.command]


def _run_node(graph: Graph, node: Node) -> tuple[str | None, float]:
    """Run the node's command with its output appended to its log; (None when it finished, else why not; seconds)."""
    start = time.perf_counter()
    log_path = graph.log_path(node)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", "TQDM_MININTERVAL": "30"}
    with open(log_path, "a") as log:
        log.write(f"$ {' '.join(node_command(graph, node))}\n")
        log.flush()
        process = subprocess.Popen(node_command(graph, node), stdout=log, stderr=subprocess.STDOUT, env=environment)
        _record(graph, node, state="running", pid=process.pid)
        code = process.wait()
    seconds = time.perf_counter() - start
    if code == 0 and node.finished():
        _record(graph, node, state="done", exit=0)
        return None, seconds
    why = f"exit {code}" if code else f"exit 0 without writing {node.output / node.done_file}"
    _record(graph, node, state="failed", exit=code)
    return f"{why}, log {log_path}: {log_tail(log_path)}", seconds


def run_local(graph: Graph, jobs: int = 1, say: Callable[[str], None] = print) -> GraphReport:
    """Run every unfinished node as a local process, `jobs` at a time, each once the nodes it needs have finished;
    `say` gets one line as each node starts and ends.

    Returns:
        What ran, what was reused, what failed (and why) and what that stopped.
    """
    write_manifest(graph)
    report = GraphReport(reused=[node.name for node in graph.nodes if node.finished()])
    finished = set(report.reused)
    waiting = [node for node in graph.nodes if node.name not in finished]
    running: dict[Future, Node] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        while waiting or running:
            for node in list(waiting):
                blocked = [name for name in node.after if name in report.failed or name in report.stopped]
                if blocked:
                    report.stopped[node.name] = blocked[0]
                    _record(graph, node, state="stopped", cause=blocked[0])
                    waiting.remove(node)
                elif len(running) < max(1, jobs) and all(name in finished for name in node.after):
                    say(f"{node.name}: started (log {graph.log_path(node)})")
                    running[pool.submit(_run_node, graph, node)] = node
                    waiting.remove(node)
            if not running:
                continue  # every waiting node was stopped above
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                node = running.pop(future)
                why, seconds = future.result()
                if why is None:
                    finished.add(node.name)
                    report.ran.append(node.name)
                    say(f"{node.name}: done in {seconds:.0f} s")
                else:
                    report.failed[node.name] = why
                    say(f"{node.name}: failed ({why.partition(',')[0]})")
    return report


def array_id(job: Any) -> str:
    """SLURM's id of the array a task belongs to: "4242" for task "4242_0"."""
    return str(job.job_id).split("_")[0]


def _groups(nodes: list[Node]) -> list[list[Node]]:
    """Nodes in submission units: one per node, or one per array key (in the order of its first node)."""
    groups: dict[str, list[Node]] = {}
    for node in nodes:
        groups.setdefault(node.array or f"node:{node.name}", []).append(node)
    return list(groups.values())


def submit_graph(graph: Graph, settings: LaunchSettings) -> GraphReport:
    """Submit every unfinished node as a requeueable submitit job (`TrainingJob`), arrays for shared keys.

    On SLURM each job waits for the jobs of the nodes it needs (`--dependency=afterok:...`, with
    `--kill-on-invalid-dep=yes`, so a failed node's dependants leave the queue); the local executor runs each unit
    once the units it needs have ended, and stops the dependants of a failed one.

    Returns:
        On SLURM: the submitted job ids; on the local executor: what ran, failed and was stopped.
    """
    write_manifest(graph)
    report = GraphReport(reused=[node.name for node in graph.nodes if node.finished()])
    jobs: dict[str, Any] = {}
    for group in _groups([node for node in graph.nodes if node.name not in report.reused]):
        needed = sorted({name for node in group for name in node.after if name not in report.reused})
        blocked = [name for name in needed if name in report.failed or name in report.stopped]
        if settings.cluster == "local":
            blocked += _wait_local(graph, [graph.node(name) for name in needed if name not in blocked], jobs, report)
        if blocked:
            for node in group:
                report.stopped[node.name] = blocked[0]
                _record(graph, node, state="stopped", cause=blocked[0])
            continue
        extra = dict(settings.extra)
        if settings.cluster != "local" and needed:
            ids = sorted({array_id(jobs[name]) for name in needed})
            extra.update(dependency="afterok:" + ":".join(ids), kill_on_invalid_dep="yes")
        unit_settings = dataclasses.replace(settings, extra=extra, name=group[0].array or group[0].name)
        executor = build_executor(unit_settings)
        with executor.batch():
            submitted = [executor.submit(TrainingJob(list(node.command), unit_settings, graph.module))
                         for node in group]
        for node, job in zip(group, submitted, strict=True):
            jobs[node.name] = job
            _record(graph, node, state="submitted", job_id=str(job.job_id))
            if settings.cluster != "local":
                report.submitted[node.name] = str(job.job_id)
    if settings.cluster == "local":
        _wait_local(graph, [node for node in graph.nodes if node.name in jobs], jobs, report)
    return report


def _wait_local(graph: Graph, nodes: list[Node], jobs: dict[str, Any], report: GraphReport) -> list[str]:
    """Wait for the local jobs of `nodes`, noting each outcome once in `report`; returns the failed ones."""
    failed = []
    for node in nodes:
        if node.name in report.ran:
            continue
        if node.name in report.failed:
            failed.append(node.name)
            continue
        job = jobs[node.name]
        try:
            job.result()
        except Exception:  # submitit's FailedJobError, UncompletedJobError
            pass
        if node.finished():
            report.ran.append(node.name)
            _record(graph, node, state="done", exit=0)
        else:
            failed.append(node.name)
            report.failed[node.name] = f"job {job.job_id}, log {job.paths.stderr}: {log_tail(job.paths.stderr)}"
            _record(graph, node, state="failed", exit=1, job_id=str(job.job_id))
    return failed
