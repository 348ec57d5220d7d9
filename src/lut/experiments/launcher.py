"""Runs a study's pre-trainings, each as its own `lut pretrain` process, several at once if asked."""

import dataclasses
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import yaml

from lut.config import PretrainConfig, build_config, save_config
from lut.errors import LutError
from lut.evaluation.config import FinetuneConfig
from lut.experiments.plan import RunSpec, run_config
from lut.experiments.scale import ExperimentScale
from lut.runtime.precision import settings_as_run
from lut.runtime.progress import Progress
from lut.runtime.same_run import check_same_run

SUMMARY_FILE = "summary.json"
# Settings that a run infers when given these values (and records as they ran).
INFERRED = {"img_size": 0, "mean": [], "std": []}
LOG_FILE = "log.txt"


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
        existing = settings_as_run(dataclasses.asdict(recorded))
        # A run records the values it inferred (img_size=0, empty mean and std) as they ran: those match.
        wanted = {key: value for key, value in settings_as_run(dataclasses.asdict(config)).items()
                  if not (key in INFERRED and value == INFERRED[key])}
        check_same_run(run_dir, {key: existing.get(key) for key in wanted}, wanted)
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
        save_config(config, path)


def read_summary(run_dir: Path) -> dict[str, Any] | None:
    """The finished run's `summary.json`, or None while it has not finished."""
    path = run_dir / SUMMARY_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def _train(run_dir: Path) -> tuple[int, float]:
    """`lut pretrain RUN_DIR/config.yaml` with its output in RUN_DIR/log.txt; (exit code, seconds)."""
    command = [sys.executable, "-m", "lut.cli", "pretrain", str(run_dir / "config.yaml")]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TQDM_MININTERVAL": "30"}
    start = time.perf_counter()
    with open(run_dir / LOG_FILE, "a") as log:
        status = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env).returncode
    return status, time.perf_counter() - start


def _log_tail(run_dir: Path, lines: int = 5) -> str:
    text = (run_dir / LOG_FILE).read_text(errors="replace").replace("\r", "\n").splitlines()
    return "\n    ".join(line for line in text[-lines:] if line.strip())


def launch(scale: ExperimentScale, specs: list[RunSpec], root: Path, jobs: int, phase: str) -> dict[str, dict]:
    """Pre-train every spec that has not finished yet, `jobs` at a time; finished runs are reused.

    Returns:
        {run name: its summary.json}.

    Raises:
        LutError: a run failed (the others still finish); the message names its log.
    """
    run_dirs = {spec.name: prepare_run(scale, spec, root) for spec in specs}
    todo = [name for name, run_dir in run_dirs.items() if read_summary(run_dir) is None]
    if todo:
        progress = Progress(total=len(todo), desc=phase, unit="run", dynamic_ncols=True)
        progress.write(f"{phase}: training {', '.join(todo)} ({jobs} at a time; logs in {root}/<run>/{LOG_FILE})")
        failures = []
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_train, run_dirs[name]): name for name in todo}
            for future in as_completed(futures):
                name, (status, seconds) = futures[future], future.result()
                progress.update(1)
                if status == 0:
                    progress.write(f"  {name}: done in {seconds:.0f} s")
                else:
                    failures.append(f"{name} (exit {status}, log {run_dirs[name] / LOG_FILE}):\n    "
                                    f"{_log_tail(run_dirs[name])}")
        progress.close()
        if failures:
            raise LutError("pre-training failed: " + "\n".join(failures) + "\nfix it and run the same command "
                           "again: finished runs are reused, unfinished ones resume")
    return {name: read_summary(run_dir) for name, run_dir in run_dirs.items()}
