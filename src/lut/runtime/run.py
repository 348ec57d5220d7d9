"""The run skeleton every training command plugs into.

A task (pre-training, fine-tuning, linear probing, segmentation) supplies its optimiser step, what happens after
a step (its records and evaluations), its checkpoint payload and its summary. `TrainingRun` gives every task the
same guarantees:

- resume from `checkpoint-last.pth` (bit-exact on the CPU), refusing another run's checkpoint in one line;
- a finished run run again says "already finished" and returns its summary without redoing any work;
- SIGTERM / SIGUSR1 / SIGUSR2 / SIGINT: a checkpoint every rank agrees on, exit 128 + signal, a SLURM requeue on
  SIGUSR1 (`preemption.PreemptionGuard`);
- checkpoints when the task asks (end of epoch, evaluation), every `every_steps` steps and every
  `every_minutes` minutes of wall-clock time, so a SIGKILL loses at most that much work;
- a non-finite loss (on any rank) stops the run and keeps the last finite checkpoint; non-finite weights are
  never saved;
- `metrics.jsonl` and the trackers of `log_to` (`run_log.RunLog`), one progress line (images/s, ETA; plain lines
  off a terminal), `config.yaml` with the settings as they ran, and `summary.json` with the figures handed to
  the trackers.
"""

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from lut.errors import NonFiniteLossError
from lut.runtime.checkpoint import LAST_CHECKPOINT, atomic_save, non_finite_weights
from lut.runtime.config_file import CONFIG_FILE, write_config
from lut.runtime.distributed import DistributedContext, all_reduce_mean, broadcast_from_main
from lut.runtime.preemption import PreemptionGuard
from lut.runtime.progress import Progress
from lut.runtime.run_log import METRICS_FILE, RunLog, truncate_metrics

SUMMARY_FILE = "summary.json"
# The checkpoint key that marks a run which reached the end of its schedule, holding that schedule.
FINISHED_KEY = "finished_schedule"


def clock() -> float:
    """Seconds of a monotonic clock (the time-based checkpoint cadence; tests replace it)."""
    return time.monotonic()


@dataclass
class StepResult:
    """What one optimiser step reports to the skeleton.

    Attributes:
        loss: this process's mean loss over the step's micro-batches.
        images: images the step trained on, over all processes.
    """

    loss: float
    images: int


@dataclass
class RunSettings:
    """Where a run writes and at which cadence it checkpoints.

    Attributes:
        output_dir: the run folder.
        kind: the command, which names the trackers' section ("pretrain", "finetune", "linprobe", "segment").
        log_to: trackers besides metrics.jsonl (`trackers.TRACKERS`, comma-separated, or "none").
        every_steps: also checkpoint every N optimiser steps (0: only when the task asks).
        every_minutes: also checkpoint once this many minutes passed since the last checkpoint (0: never).
        unit: the progress bar's unit ("step", "it").
        advice: what to change when the run diverges, the last sentence of the message.
    """

    output_dir: Path
    kind: str
    log_to: str = "tensorboard"
    every_steps: int = 0
    every_minutes: float = 0.0
    unit: str = "step"
    advice: str = "Lower the learning rate (lr) or use precision=fp32."


class TrainingTask(Protocol):
    """What a task supplies; `TrainingRun` calls these on every process."""

    step: int  # optimiser steps done
    stop_step: int  # the step the run ends at

    def resolved_config(self) -> dict[str, Any]:
        """The settings with every inferred value as it runs (config.yaml, a valid recipe, and the trackers')."""

    def schedule(self) -> dict[str, Any]:
        """The settings whose end a finished run reached (e.g. epochs, max_steps)."""

    def start(self, run: "TrainingRun") -> Path | None:
        """Load the checkpoint to continue from (checking that it is this run's, and handing it to `run.resumed`),
        or prepare a fresh start; returns the checkpoint's path."""

    def begin(self, run: "TrainingRun") -> None:
        """Say what the run is about to do, and any work before the first step."""

    def train_step(self) -> StepResult:
        """One optimiser step; increments `step`."""

    def after_step(self, run: "TrainingRun", result: StepResult) -> bool:
        """Records and evaluations due after the step; True when the task wants a checkpoint now."""

    def before_stop(self, run: "TrainingRun") -> None:
        """A stop signal came: log what would otherwise be lost before the checkpoint."""

    def where(self) -> str:
        """The point reached, for messages ("step 12", "step 2 of epoch 3")."""

    def checkpoint_payload(self) -> dict[str, Any]:
        """Everything needed to continue exactly (every process calls it; the main process's is written)."""

    def checkpoint_copies(self) -> list[str]:
        """Other file names the checkpoint just taken is also written to (best, kept epochs)."""

    def finish(self, run: "TrainingRun") -> dict[str, Any]:
        """Final evaluations and figures; returns the summary (written by the main process)."""


class CheckpointCadence:
    """When to checkpoint besides the task's own points: every N steps and every M minutes of wall-clock time.

    Args:
        every_steps: 0 disables the step cadence.
        every_minutes: 0 disables the time cadence.
        context: the process group; every rank gets the main process's decision, so all of them checkpoint.
    """

    def __init__(self, every_steps: int, every_minutes: float, context: DistributedContext) -> None:
        self.every_steps = every_steps
        self.every_seconds = every_minutes * 60
        self.context = context
        self.last = clock()

    def due(self, step: int) -> bool:
        """Whether a checkpoint is due after `step` (a collective call when the time cadence is on)."""
        by_steps = bool(self.every_steps) and step % self.every_steps == 0
        if not self.every_seconds:
            return by_steps
        by_time = broadcast_from_main(clock() - self.last >= self.every_seconds, self.context)
        return by_steps or by_time

    def restart(self) -> None:
        """A checkpoint was just written."""
        self.last = clock()


class TrainingRun:
    """The skeleton: runs `task` from its start or its last checkpoint to `task.stop_step`.

    Args:
        task: the training task.
        settings: output folder, trackers and checkpoint cadence.
        context: the process group.
    """

    def __init__(self, task: TrainingTask, settings: RunSettings, context: DistributedContext) -> None:
        self.task = task
        self.settings = settings
        self.context = context
        self.output_dir = settings.output_dir
        self.last_checkpoint: Path | None = None
        self.preemption = PreemptionGuard(context)
        self.cadence = CheckpointCadence(settings.every_steps, settings.every_minutes, context)
        self.resumed_payload: dict[str, Any] = {}
        self.log: RunLog | None = None
        self.progress: Progress | None = None
        self.images = 0
        self.images_since = clock()
        self.finished_before = False  # the run had already finished: `run` returned its summary, doing nothing

    # ------------------------------------------------------------------ messages
    def say(self, line: str) -> None:
        """One line on the main process, above the progress bar."""
        if not self.context.is_main:
            return
        if self.progress is not None and not self.progress.plain:
            self.progress.write(line)  # above the bar, which tqdm draws again
        else:
            print(line, flush=True)

    # ------------------------------------------------------------------ start
    def finished_summary(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The summary of a run that already finished this schedule, or None when work is left."""
        summary_path = self.output_dir / SUMMARY_FILE
        finished = payload.get(FINISHED_KEY)
        legacy = finished is None and self.task.step >= self.task.stop_step
        if not summary_path.is_file() or not (finished == self.task.schedule() or legacy):
            return None
        return json.loads(summary_path.read_text())

    def run(self) -> dict[str, Any]:
        """Resume or start, train to `stop_step`, finish; returns the summary."""
        task, is_main = self.task, self.context.is_main
        resumed_from = task.start(self)  # first: a refused resume leaves the folder as it was
        if resumed_from is not None:
            summary = self.finished_summary(self.resumed_payload)
            if summary is not None:
                self.say(f"{self.output_dir} already finished ({task.where()}; {SUMMARY_FILE}): nothing to do. "
                         "Give another --output, or resume=none to train again")
                self.finished_before = True
                return summary
        if is_main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            write_config(task.resolved_config(), self.output_dir / CONFIG_FILE)
            truncate_metrics(self.output_dir / METRICS_FILE, task.step)
            if resumed_from is not None:
                print(f"resumed from {resumed_from} at {task.where()}")
        self.log = RunLog(self.output_dir, enabled=is_main, tag_prefix=self.settings.kind,
                          log_to=self.settings.log_to, config=task.resolved_config())
        self.progress = Progress(total=task.stop_step, initial=task.step, unit=self.settings.unit,
                                 disable=not is_main, dynamic_ncols=True)
        try:
            task.begin(self)
            with self.preemption:
                self.train()
            self.progress.close()
            summary = task.finish(self)
            if is_main:
                (self.output_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2))
                for value in summary.values():
                    if isinstance(value, str) and value.endswith(".png") and Path(value).is_file():
                        self.log.add_figure(Path(value), task.step)
            return summary
        finally:
            self.progress.close()
            self.log.close()

    def resumed(self, path: Path, payload: dict[str, Any]) -> None:
        """Tasks call it from `start` with the checkpoint they continue from."""
        self.last_checkpoint = path
        self.resumed_payload = payload

    # ------------------------------------------------------------------ training
    def train(self) -> None:
        """Steps until `stop_step`, with the checks, the progress line and the checkpoints between them."""
        task = self.task
        self.cadence.restart()
        self.images, self.images_since = 0, clock()
        while task.step < task.stop_step:
            result = task.train_step()
            self.check_finite(result.loss)
            self.progress.update(1)
            self.show_speed(result)
            wanted = task.after_step(self, result)
            preempted = self.preemption.requested()
            finished = task.step >= task.stop_step
            if preempted and not finished:
                task.before_stop(self)
            if finished or wanted or preempted or self.cadence.due(task.step):
                self.save_checkpoint(finished)
            if preempted and not finished:
                self.preemption.stop(task.where(), self.output_dir / LAST_CHECKPOINT)

    def check_finite(self, loss: float) -> None:
        """Stop on a non-finite loss of any process, keeping the checkpoints as they are."""
        if self.context.is_distributed:  # every rank stops at the same step
            loss = all_reduce_mean(torch.tensor(loss, device=self.context.device), self.context).item()
        if not math.isfinite(loss):
            self.stop_non_finite(f"loss became {loss} at {self.task.where()}")

    def stop_non_finite(self, what: str) -> None:
        """Stop without touching the checkpoints, saying what went wrong and which checkpoint to go back to.

        Raises:
            NonFiniteLossError: always.
        """
        kept = f"the last good checkpoint is {self.last_checkpoint}" if self.last_checkpoint else "no checkpoint yet"
        raise NonFiniteLossError(f"{what}; stopped, {kept}. {self.settings.advice}")

    def show_speed(self, result: StepResult) -> None:
        """Images per second since the last refresh and the loss, on the progress line (its ETA is tqdm's)."""
        self.images += result.images
        elapsed = clock() - self.images_since
        if elapsed >= 1.0 or self.task.step >= self.task.stop_step:
            speed = self.images / max(elapsed, 1e-9)
            self.progress.set_postfix(loss=f"{result.loss:.4f}", img_s=f"{speed:.0f}", refresh=False)
            self.images, self.images_since = 0, clock()

    def save_checkpoint(self, finished: bool = False) -> None:
        """Write `checkpoint-last.pth` (and the task's copies): every process builds the payload, the main one
        writes it, unless a weight became non-finite."""
        payload = self.task.checkpoint_payload()
        if finished:
            payload[FINISHED_KEY] = self.task.schedule()
        damaged = broadcast_from_main(non_finite_weights(payload) if self.context.is_main else None, self.context)
        if damaged is not None:
            self.stop_non_finite(f"{damaged} became non-finite by {self.task.where()} (not saved)")
        if self.context.is_main:
            self.last_checkpoint = self.output_dir / LAST_CHECKPOINT
            atomic_save(payload, self.last_checkpoint)
            for name in self.task.checkpoint_copies():
                atomic_save(payload, self.output_dir / name)
        self.cadence.restart()
