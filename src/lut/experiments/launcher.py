"""Runs a study's pre-trainings on the graph runner, each as its own `lut pretrain` process, several at once if
asked."""

import dataclasses
import json
from pathlib import Path
from typing import Any

import yaml

from lut.config import PretrainConfig, build_config, save_config
from lut.errors import LutError
from lut.evaluation.config import FinetuneConfig
from lut.experiments.plan import RunSpec, run_config
from lut.experiments.scale import ExperimentScale
from lut.launch.graph import LOG_FILE, Graph, Node, run_local
from lut.runtime.same_run import check_same_run

SUMMARY_FILE = "summary.json"
# Settings that a run infers when given these values (and records as they ran).
INFERRED = {"img_size": 0, "patch_size": 0, "arch": "", "mean": [], "std": []}


def prepare_run(scale: ExperimentScale, spec: RunSpec, root: Path) -> Path:
    """Write the run's resolved `config.yaml`, or check that the one already there is the same.

    Returns:
        The run's folder.

    Raises:
        UsageError: the folder holds a run of other settings (naming them).
    """
    run_dir = root / spec.name
    claim_run_dir(run_dir, run_config(scale, spec, str(run_dir)))
    return run_dir


def claim_run_dir(run_dir: Path, config: PretrainConfig | FinetuneConfig) -> None:
    """Write `config` as the folder's `config.yaml`, or check that the one already there is the same.

    Raises:
        UsageError: the folder holds a run of other settings (naming them).
    """
    path = run_dir / "config.yaml"
    if path.is_file():
        # Through build_config, so that keys added since the run was made count at their defaults.
        recorded = build_config(yaml.safe_load(path.read_text()) or {}, type(config))
        existing = dataclasses.asdict(recorded)
        # A run records the values it inferred (img_size=0, empty mean and std) as they ran: those match.
        wanted = {key: value for key, value in dataclasses.asdict(config).items()
                  if not (key in INFERRED and value == INFERRED[key])}
        check_same_run(run_dir, {key: existing.get(key) for key in wanted}, wanted, device=config.device)
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
        save_config(config, path)


def read_summary(run_dir: Path) -> dict[str, Any] | None:
    """The finished run's `summary.json`, or None while it has not finished."""
    path = run_dir / SUMMARY_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def launch(scale: ExperimentScale, specs: list[RunSpec], root: Path, jobs: int, phase: str) -> dict[str, dict]:
    """Pre-train every spec that has not finished yet, `jobs` at a time, each as its own `lut pretrain
    RUN_DIR/config.yaml` process (the graph runner of `lut.launch.graph`); finished runs are reused.

    Returns:
        {run name: its summary.json}.

    Raises:
        LutError: a run failed (the others still finish); the message names its log.
    """
    run_dirs = {spec.name: prepare_run(scale, spec, root) for spec in specs}
    todo = [name for name, run_dir in run_dirs.items() if read_summary(run_dir) is None]
    if todo:
        print(f"{phase}: training {', '.join(todo)} ({jobs} at a time; logs in {root}/<run>/{LOG_FILE})", flush=True)
        graph = Graph(root, [Node(name, ("pretrain", str(run_dir / "config.yaml")), run_dir)
                             for name, run_dir in run_dirs.items()])
        report = run_local(graph, jobs, say=lambda line: print(f"  {line}", flush=True))
        if report.failed:
            failures = "\n".join(f"{name} ({why})" for name, why in report.failed.items())
            raise LutError(f"pre-training failed: {failures}\nfix it and run the same command again: finished runs "
                           "are reused, unfinished ones resume")
    return {name: read_summary(run_dir) for name, run_dir in run_dirs.items()}
