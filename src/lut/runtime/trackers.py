"""Experiment trackers behind the run log: TensorBoard (default), Weights & Biases, MLflow.

Each receives the same scalars as `metrics.jsonl`, the resolved config, and the run's figures. W&B follows its
own environment variables (`WANDB_MODE=offline` logs to `OUTPUT_DIR/wandb/` without network, `WANDB_PROJECT`,
default "lut"); MLflow logs to `MLFLOW_TRACKING_URI`, or, when unset, to a file store in `OUTPUT_DIR/mlruns`.
A resumed run continues the same W&B and MLflow runs (their ids are kept in `OUTPUT_DIR/trackers.json`).
"""

import json
import os
import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image

from lut.errors import UsageError
from lut.extras import optional, require

TRACKERS = ("tensorboard", "wandb", "mlflow")
# The Python package each tracker needs, and the `lut` extra that installs it.
PACKAGES = {"tensorboard": ("tensorboard", "tensorboard"), "wandb": ("wandb", "wandb"), "mlflow": ("mlflow", "mlflow")}
RUN_IDS_FILE = "trackers.json"


def parse_trackers(log_to: str) -> list[str]:
    """The tracker names of a `log_to` value ("tensorboard,wandb"; "none" for none) whose packages are installed.

    TensorBoard, the default, is left out with a one-line note when its extra is not installed (the metrics still
    go to `metrics.jsonl`); the other trackers are asked for by name, so their missing package stops the run.

    Raises:
        UsageError: an unknown name, or W&B / MLflow not installed (naming the extra).
    """
    names = [name.strip() for name in log_to.split(",") if name.strip() and name.strip() != "none"]
    for name in names:
        if name not in TRACKERS:
            raise UsageError(f"log_to: unknown tracker {name!r}; choose from {', '.join(TRACKERS)} or none")
    installed = []
    for name in dict.fromkeys(names):
        package, extra = PACKAGES[name]
        if name == "tensorboard":
            if optional("torch.utils.tensorboard", "tensorboard",
                        "metrics go to metrics.jsonl only, no TensorBoard events") is None:
                continue
        else:
            require(package, extra, f"log_to={name}")
        installed.append(name)
    return installed


class Tracker(Protocol):
    """What the run log hands every tracker."""

    def log_metrics(self, values: dict[str, float], step: int) -> None: ...

    def log_figure(self, path: Path, step: int) -> None: ...

    def close(self) -> None: ...


class TensorBoardTracker:
    """Event files in `OUTPUT_DIR/tensorboard`; the config as text, figures as images."""

    def __init__(self, output_dir: Path, config: dict[str, Any]) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(output_dir / "tensorboard"))
        if config:
            self.writer.add_text("config", f"```\n{json.dumps(config, indent=2)}\n```")

    def log_metrics(self, values: dict[str, float], step: int) -> None:
        for key, value in values.items():
            self.writer.add_scalar(key, value, step)

    def log_figure(self, path: Path, step: int) -> None:
        pixels = np.asarray(Image.open(path).convert("RGB"))  # (H, W, 3)
        self.writer.add_image(path.stem, pixels, step, dataformats="HWC")

    def close(self) -> None:
        self.writer.close()


class WandbTracker:
    """A W&B run named after the output folder, in `OUTPUT_DIR/wandb/`."""

    def __init__(self, output_dir: Path, config: dict[str, Any], run_id: str | None) -> None:
        import wandb

        self.wandb = wandb
        try:
            self.run = wandb.init(project=os.environ.get("WANDB_PROJECT", "lut"), dir=str(output_dir),
                                  name=output_dir.name, config=config, id=run_id, resume="allow")
        except Exception as error:  # no login, no network: say how to log without them
            raise UsageError(f"W&B could not start a run ({str(error).strip().splitlines()[0]}); log in with "
                             "`wandb login`, or set WANDB_MODE=offline to log to the output folder") from error
        self.run_id = self.run.id

    def log_metrics(self, values: dict[str, float], step: int) -> None:
        self.run.log(values, step=step)

    def log_figure(self, path: Path, step: int) -> None:
        self.run.log({f"figures/{path.stem}": self.wandb.Image(str(path))}, step=step)

    def close(self) -> None:
        self.run.finish()


class MlflowTracker:
    """An MLflow run in experiment "lut" (or `MLFLOW_EXPERIMENT_NAME`): config as params and `config.json`,
    figures as artifacts under `figures/`."""

    def __init__(self, output_dir: Path, config: dict[str, Any], run_id: str | None) -> None:
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            uri = (output_dir / "mlruns").resolve().as_uri()
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps its file store opt-in
            print(f"MLflow: logging to the file store {uri} (set MLFLOW_TRACKING_URI for a server)")
        self.client = MlflowClient(uri)
        if run_id is None:
            name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "lut")
            experiment = self.client.get_experiment_by_name(name)
            experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(name)
            run_id = self.client.create_run(experiment_id, run_name=output_dir.name).info.run_id
            params = [Param(key, str(value)[:6000]) for key, value in sorted(config.items())]
            for start in range(0, len(params), 100):  # MLflow takes at most 100 params per call
                self.client.log_batch(run_id, params=params[start:start + 100])
            self.client.log_dict(run_id, config, "config.json")
        self.run_id = run_id

    def log_metrics(self, values: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        timestamp = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(key, float(value), timestamp, step)
                                                    for key, value in values.items()])

    def log_figure(self, path: Path, step: int) -> None:
        self.client.log_artifact(self.run_id, str(path), "figures")

    def close(self) -> None:
        self.client.set_terminated(self.run_id)


def open_trackers(names: list[str], output_dir: Path, config: dict[str, Any]) -> list[Tracker]:
    """Start the named trackers for the run in `output_dir`, continuing the runs a previous segment started."""
    ids_path = output_dir / RUN_IDS_FILE
    run_ids = json.loads(ids_path.read_text()) if ids_path.is_file() else {}
    trackers: list[Tracker] = []
    for name in names:
        if name == "tensorboard":
            trackers.append(TensorBoardTracker(output_dir, config))
        elif name == "wandb":
            trackers.append(WandbTracker(output_dir, config, run_ids.get("wandb")))
            run_ids["wandb"] = trackers[-1].run_id
        else:
            trackers.append(MlflowTracker(output_dir, config, run_ids.get("mlflow")))
            run_ids["mlflow"] = trackers[-1].run_id
    if set(run_ids):
        ids_path.write_text(json.dumps(run_ids, indent=2))
    return trackers
