"""The pre-training loop: data, student, teacher, optimiser, checkpoints and logs."""

import dataclasses
import json
import logging
import math
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch

from lut.config import PretrainConfig, save_config
from lut.data.batch_views import AUGMENT_SEED_TAG
from lut.errors import NonFiniteLossError, UsageError
from lut.interchange.loading import load_encoder, read_checkpoint_file
from lut.models import PretrainModel, Teacher
from lut.paths import check_output_path
from lut.runtime.checkpoint import (
    LAST_CHECKPOINT,
    atomic_save,
    changed_training_settings,
    check_same_architecture,
    key_summary,
    load_checkpoint,
    load_weights,
    non_finite_weights,
)
from lut.runtime.distributed import (
    DistributedContext,
    all_reduce_mean,
    average_batchnorm_statistics,
    broadcast_from_main,
    distributed_session,
    wait_for_all,
)
from lut.runtime.precision import with_resolved_precision
from lut.runtime.preemption import PreemptionGuard
from lut.runtime.progress import Progress
from lut.runtime.run_log import METRICS_FILE, RunLog, plot_loss_curves, truncate_metrics
from lut.runtime.schedules import scaled_learning_rate, warmup_cosine
from lut.runtime.seeding import capture_rng_state, derive_seed, restore_rng_state, seed_everything
from lut.training.final_report import build_knn_monitor, final_knn, save_reconstructions
from lut.training.lut_step import pretrain_losses
from lut.training.pretrain_data import build_pretrain_data
from lut.training.pretrain_models import build_loss_settings, build_optimizer, build_pretrain_models, build_student
from lut.training.sharding import (
    gather_full,
    no_gradient_sync,
    shard_optimizer_state,
    shard_state_dict,
    unsharded_copy,
)
from lut.training.teacher import teacher_composition, teacher_momentum
from lut.version import __version__
from lut.wording import counted

log = logging.getLogger("lut")


def pretrain(config: PretrainConfig) -> dict[str, Any]:
    """Pre-train with LUT or MAE as `config` says; returns a summary of the run.

    Works as a single process or under torchrun (one process per GPU, or gloo on CPU).
    """
    with distributed_session(config.device) as context:
        return PretrainRun(config, context).run()


def new_interval() -> dict[str, float]:
    """Sums of the losses, micro-batches and images since the last metrics record, and when it began."""
    return {"loss": 0.0, "mae_loss": 0.0, "bc_loss": 0.0, "count": 0, "images": 0, "start": time.time()}


class PretrainRun:
    """One pre-training run; `run()` trains from scratch or from the last checkpoint."""

    def __init__(self, config: PretrainConfig, context: DistributedContext) -> None:
        config = with_resolved_precision(config, context.device)  # config.yaml records what ran
        self.config = config
        self.context = context
        self.device = context.device
        self.output_dir = Path(config.output_dir).expanduser()
        check_output_path(self.output_dir, "output_dir", folder=True)  # before the data is scanned
        seed_everything(config.seed)

        data = build_pretrain_data(config, context)
        self.loader, self.sampler, self.augmenter = data.loader, data.sampler, data.augmenter
        self.steps_per_epoch = data.steps_per_epoch
        self.total_steps = config.epochs * self.steps_per_epoch
        self.stop_step = min(self.total_steps, config.max_steps) if config.max_steps else self.total_steps

        models = build_pretrain_models(config, context)
        self.student, self.trained, self.teacher, self.ema = models.student, models.trained, models.teacher, models.ema
        self.fsdp, self.sync_batchnorm, self.amp_dtype = models.fsdp, models.sync_batchnorm, models.amp_dtype
        self.optimizer, self.scaler = build_optimizer(config, models, self.device)
        self.effective_batch = config.batch_size * config.accum_iter * context.world_size
        self.peak_lr = config.lr or scaled_learning_rate(config.blr, self.effective_batch, config.lr_rule)
        self.loss_settings = build_loss_settings(config, self.student)
        self.mask_generator = torch.Generator()
        self.augment_generator = torch.Generator()
        wants_knn = config.knn_every_epochs or config.final_knn
        self.knn_monitor = build_knn_monitor(config) if wants_knn and context.is_main else None
        self.step = 0
        self.last_checkpoint: Path | None = None
        self.preemption = PreemptionGuard(context)
        # Training time of earlier segments of a resumed run, plus the current segment's.
        self.seconds_before_resume = 0.0
        self.segment_start = time.perf_counter()

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_payload(self) -> dict[str, Any]:
        """Everything needed to continue bit-exactly, as plain data.

        Every process must call it: under FSDP it gathers the full tensors, which only the main process keeps.
        """
        keep = self.context.is_main
        return {
            "model": gather_full(self.student.state_dict(), keep),
            "model_ema": gather_full(self.teacher.state_dict(), keep) if self.teacher is not None else None,
            "optimizer": gather_full(self.optimizer.state_dict(), keep),
            "scaler": self.scaler.state_dict(),
            "step": self.step,
            "epoch": self.step // self.steps_per_epoch,
            "step_in_epoch": self.step % self.steps_per_epoch,
            "effective_batch": self.effective_batch,
            "train_seconds": self.train_seconds(),
            "rng": capture_rng_state(),
            "config": dataclasses.asdict(self.config),
            "lut_version": __version__,
        }

    def save_checkpoint(self) -> None:
        """Write `checkpoint-last.pth` (and a kept copy at chosen epochs): all processes gather, the main one writes."""
        payload = self.checkpoint_payload()
        # A finite loss can still come with a non-finite update (e.g. an overflowing gradient): never save it.
        damaged = broadcast_from_main(non_finite_weights(payload) if self.context.is_main else None, self.context)
        if damaged is not None:
            self.stop_non_finite(f"{damaged} became non-finite by step {self.step} (not saved)")
        if not self.context.is_main:
            return
        self.last_checkpoint = self.output_dir / LAST_CHECKPOINT
        atomic_save(payload, self.last_checkpoint)
        keep_every = self.config.keep_every_epochs
        finished_epoch = self.step % self.steps_per_epoch == 0
        if keep_every and finished_epoch and (self.step // self.steps_per_epoch) % keep_every == 0:
            atomic_save(payload, self.output_dir / f"checkpoint-{self.step // self.steps_per_epoch:04d}.pth")

    def train_seconds(self) -> float:
        """Wall-clock seconds spent in the training loop so far, over all resumed segments."""
        return self.seconds_before_resume + time.perf_counter() - self.segment_start

    def resume_path(self) -> Path | None:
        """The checkpoint to continue from, if any."""
        if self.config.resume == "none":
            return None
        if self.config.resume == "auto":
            candidate = self.output_dir / LAST_CHECKPOINT
            return candidate if candidate.is_file() else None
        return Path(self.config.resume).expanduser()

    def restore(self, path: Path) -> None:
        """Load student, teacher, optimiser, scaler, step and RNG states from `path`."""
        payload = load_checkpoint(path)
        if "model" not in payload or "step" not in payload:
            raise UsageError(f"{path} is not a pre-training checkpoint ({key_summary(payload)})")
        damaged = non_finite_weights(payload)
        if damaged is not None:
            raise UsageError(f"{path} holds non-finite values ({damaged}): the run that wrote it diverged; resume "
                             "from a kept checkpoint-EPOCH.pth (resume=PATH) or start again (resume=none)")
        check_same_architecture(payload.get("config", {}), dataclasses.asdict(self.config), str(path))
        load_weights(self.student, shard_state_dict(self.student, payload["model"]), f"student weights in {path}")
        if self.teacher is not None:
            if payload.get("model_ema") is None:
                raise UsageError(f"{path} has no teacher (model_ema); it was not written by a LUT run")
            teacher_state = shard_state_dict(self.teacher, payload["model_ema"])
            load_weights(self.teacher, teacher_state, f"teacher weights in {path}")
        self.optimizer.load_state_dict(shard_optimizer_state(self.optimizer, payload["optimizer"]))
        self.scaler.load_state_dict(payload["scaler"])
        restore_rng_state(payload["rng"])
        self.step = payload["step"]
        self.seconds_before_resume = float(payload.get("train_seconds", 0.0))
        changed = changed_training_settings(payload.get("config", {}), dataclasses.asdict(self.config))
        if changed:
            log.warning("resuming %s with other training settings (%s); the schedules continue from step %d",
                        path, "; ".join(changed), self.step)
        if payload.get("effective_batch") != self.effective_batch:
            log.warning("effective batch changed from %s to %s on resume", payload.get("effective_batch"),
                        self.effective_batch)
        self.last_checkpoint = path

    def check_steps_left(self, path: Path) -> None:
        """Refuse a checkpoint beyond this schedule's last step (a finished run at exactly that step is redone).

        Raises:
            UsageError: naming the checkpoint's step, the schedule's last step and `init=` for a new schedule.
        """
        if self.step <= self.stop_step:
            return
        limit = f", max_steps={self.config.max_steps}" if self.config.max_steps else ""
        raise UsageError(f"{path} is at step {self.step}, past the last step of this schedule ({self.stop_step}: "
                         f"epochs={self.config.epochs} of {counted(self.steps_per_epoch, 'step')}{limit}); nothing to "
                         "train. "
                         f"To train its weights on a new schedule: init={path} with resume=none or another "
                         "output_dir")

    def initialise(self, path: Path) -> None:
        """Start from the weights in `path` with this run's schedule: the student and teacher of a checkpoint of the
        same model, else the encoder of any checkpoint `load_encoder` reads, for student and teacher.

        Raises:
            UsageError: unreadable files and weights that do not fit (naming the keys).
        """
        payload, metadata = read_checkpoint_file(path)
        saved_config = payload.get("config") if metadata is None else None
        same_model = isinstance(saved_config, dict) and isinstance(payload.get("model"), dict)
        if same_model:
            try:
                check_same_architecture(saved_config, dataclasses.asdict(self.config), str(path))
            except UsageError:
                same_model = False
        if same_model:
            load_weights(self.student, shard_state_dict(self.student, payload["model"]), f"student weights in {path}")
            if self.teacher is not None and payload.get("model_ema"):
                teacher_state = shard_state_dict(self.teacher, payload["model_ema"])
                load_weights(self.teacher, teacher_state, f"teacher weights in {path}")
            elif self.teacher is not None:
                self.teacher.encoder.load_state_dict(self.student.encoder.state_dict())
            what = "student and teacher" if payload.get("model_ema") and self.teacher is not None else "student"
            notes: tuple[str, ...] = ()
        else:
            encoder, info = load_encoder(path, img_size=self.config.img_size)
            state = encoder.state_dict()
            for model in [self.student, self.teacher] if self.teacher is not None else [self.student]:
                load_weights(model.encoder, shard_state_dict(model.encoder, state), f"encoder weights in {path}")
            what, notes = info.describe().removeprefix(f"{info.path}: "), info.notes
        if self.context.is_main:
            print(f"initialised from {path} ({what}): weights only, from step 0 with a new optimiser and schedule")
            for note in notes:
                print(f"  note: {note}")

    # ------------------------------------------------------------------ training
    def run(self) -> dict[str, Any]:
        """Train until `stop_step`, then write the figures and the summary."""
        config, is_main = self.config, self.context.is_main
        resume_from = self.resume_path()
        if resume_from is not None:
            self.restore(resume_from)
            self.check_steps_left(resume_from)
        elif config.init:
            self.initialise(Path(config.init).expanduser())
        if is_main:
            # After a successful restore, so a refused resume leaves the folder as it was.
            self.output_dir.mkdir(parents=True, exist_ok=True)
            save_config(config, self.output_dir / "config.yaml")
            # A fresh run starts a new metrics file; a resumed one drops the steps it is about to redo, and a
            # finished run started again drops its final k-NN, which it computes again.
            redoes_final_knn = self.step >= self.stop_step and config.final_knn
            truncate_metrics(self.output_dir / METRICS_FILE, self.step, not redoes_final_knn)
            if resume_from is not None:
                print(f"resumed from {resume_from} at step {self.step}")
            print(
                f"{config.method.upper()} {config.model}: {counted(self.steps_per_epoch, 'step')}/epoch, "
                f"{counted(self.total_steps, 'step')} in {counted(config.epochs, 'epoch')} (stopping at "
                f"{self.stop_step}); effective batch "
                f"{self.effective_batch}; lr = {self.peak_lr:.3g} ({self._lr_origin()}); device {self.device}"
            )
        run_log = RunLog(self.output_dir, enabled=is_main, log_to=config.log_to, config=dataclasses.asdict(config))
        progress = Progress(total=self.stop_step, initial=self.step, unit="step", disable=not is_main,
                            dynamic_ncols=True)
        try:
            if config.knn_every_epochs and self.step == 0:
                self.log_knn(run_log, progress)  # the randomly initialised encoder, as a reference
            self.segment_start = time.perf_counter()
            # The logged averages run across epoch ends: each record covers the steps since the previous one.
            interval = new_interval()
            with self.preemption:
                while self.step < self.stop_step:
                    self.train_epoch(run_log, progress, interval)
            progress.close()
            return self.finish(run_log)
        finally:
            progress.close()
            run_log.close()

    def _lr_origin(self) -> str:
        if self.config.lr:
            return "set by lr"
        rule = "blr * sqrt(batch) / 4" if self.config.lr_rule == "sqrt" else "blr * batch / 256"
        return f"{self.config.lr_rule} rule {rule}, blr {self.config.blr:g}"

    def train_epoch(self, run_log: RunLog, progress: Progress, interval: dict) -> None:
        """Continue the current epoch from the current step until its end or `stop_step`, summing the losses into
        `interval` (`new_interval`) until the next metrics record."""
        config = self.config
        epoch, step_in_epoch = divmod(self.step, self.steps_per_epoch)
        self.sampler.set_epoch(epoch, start=step_in_epoch * config.accum_iter * config.batch_size)
        self.trained.train()
        batches = iter(self.loader)
        while step_in_epoch < self.steps_per_epoch and self.step < self.stop_step:
            losses = self.optimiser_step(batches, interval)
            step_in_epoch += 1
            progress.update(1)
            progress.set_description(f"epoch {epoch + 1}/{config.epochs}", refresh=False)
            preempted = self.preemption.requested()
            if self.step % config.log_every_steps == 0 or self.step == self.stop_step or preempted:
                self.log_interval(run_log, progress, interval, losses)
            if preempted:
                self.save_checkpoint()
                self.preemption.stop(f"step {self.step}", self.output_dir / LAST_CHECKPOINT)
            periodic = config.save_every_steps and self.step % config.save_every_steps == 0
            if periodic and step_in_epoch < self.steps_per_epoch and self.step < self.stop_step:
                self.save_checkpoint()
        self.save_checkpoint()
        monitor_due = config.knn_every_epochs and (self.step // self.steps_per_epoch) % config.knn_every_epochs == 0
        # The final k-NN evaluates the student at the last step anyway.
        final_step = config.final_knn and self.step == self.stop_step
        if monitor_due and step_in_epoch == self.steps_per_epoch and not final_step:
            self.log_knn(run_log, progress)

    def log_knn(self, run_log: RunLog, progress: Progress) -> None:
        """k-NN accuracy of the student's encoder now, into the metrics (all processes call it, the main one logs)."""
        student, _ = self.evaluated_models()
        if self.knn_monitor is None:
            return
        knn = self.knn_monitor.evaluate(student.encoder, self.device)
        run_log.write({"step": self.step, "epoch": self.step / self.steps_per_epoch, **knn})
        progress.write(f"step {self.step}: k-NN top-1 {knn['knn_top1']:.2f}%")

    def evaluated_models(self, with_teacher: bool = False) -> tuple[PretrainModel | None, Teacher | None]:
        """The student (and teacher) that the main process evaluates and draws.

        Under FSDP, plain copies with the gathered weights on the main process and None elsewhere;
        every process must call it then.
        """
        teacher = self.teacher if with_teacher else None
        if not self.fsdp:
            return self.student, teacher
        keep = self.context.is_main
        student = unsharded_copy(self.student, lambda: build_student(self.config), keep, self.device)
        if teacher is not None:
            teacher = unsharded_copy(teacher, lambda: Teacher.from_student(build_student(self.config)), keep,
                                     self.device)
        return student, teacher

    def optimiser_step(self, batches, interval: dict) -> dict[str, float]:
        """Accumulate `accum_iter` micro-batches, step AdamW and the teacher."""
        config = self.config
        lr = warmup_cosine(self.step, self.total_steps, round(config.warmup_epochs * self.steps_per_epoch),
                           self.peak_lr, config.min_lr)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        for micro in range(config.accum_iter):
            views, _labels = next(batches)
            views = [view.to(self.device, non_blocking=True) for view in views]
            if self.augmenter is not None:  # views = [uint8 canvases]; seeded by position, so resumes are exact
                seed = derive_seed(config.seed, self.context.rank, self.step, micro, AUGMENT_SEED_TAG)
                views = list(self.augmenter(views[0], self.augment_generator.manual_seed(seed)))
            self.mask_generator.manual_seed(derive_seed(config.seed, self.context.rank, self.step, micro))
            last_micro = micro == config.accum_iter - 1
            # Gradients are all-reduced (FSDP: reduce-scattered) once per optimiser step, on the last micro-batch.
            if last_micro or not self.context.is_distributed:
                sync = nullcontext()
            else:
                sync = no_gradient_sync(self.student) if self.fsdp else self.trained.no_sync()
            with sync:
                with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
                    losses = pretrain_losses(self.trained, self.teacher, views, self.loss_settings,
                                             self.mask_generator)
                # One device-to-host copy per micro-batch for the NaN guard and the logs.
                bc = losses.bc if losses.bc is not None else torch.zeros_like(losses.mae)
                loss_value, mae_value, bc_value = torch.stack([losses.total, losses.mae, bc]).tolist()
                if not math.isfinite(loss_value):
                    self.stop_non_finite(
                        f"loss became {loss_value} at step {self.step} (epoch {self.step // self.steps_per_epoch})"
                    )
                self.scaler.scale(losses.total / config.accum_iter).backward()
            interval["loss"] += loss_value
            interval["mae_loss"] += mae_value
            interval["bc_loss"] += bc_value
            interval["count"] += 1
            interval["images"] += views[0].shape[0] * self.context.world_size
        self.scaler.unscale_(self.optimizer)
        parameters = [p for p in self.student.parameters() if p.grad is not None]
        if config.clip_grad:
            grad_norm = torch.nn.utils.clip_grad_norm_(parameters, config.clip_grad)
        else:
            grad_norm = torch.nn.utils.get_total_norm([p.grad for p in parameters])
        try:
            self.scaler.step(self.optimizer)
        except RuntimeError as error:  # an lr so large that lr * update leaves float32
            if "overflow" not in str(error):
                raise
            self.stop_non_finite(f"the update of step {self.step} overflowed float32 (lr {lr:g})")
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        if not self.sync_batchnorm:
            average_batchnorm_statistics(self.student, self.context)
        momentum = teacher_momentum(self.step, self.total_steps, config.teacher_momentum)
        if self.ema is not None:
            self.ema.update(momentum)
            if self.fsdp:  # FSDP keeps records of each forward until a backward pass, which the teacher never runs
                self.teacher.reset_iter_state()
        self.step += 1
        return {"lr": lr, "momentum": momentum, "grad_norm": grad_norm}

    def stop_non_finite(self, what: str) -> None:
        """Stop without touching the checkpoints, saying what went wrong and which checkpoint to go back to."""
        kept = f"the last good checkpoint is {self.last_checkpoint}" if self.last_checkpoint else "no checkpoint yet"
        raise NonFiniteLossError(f"{what}; stopped, {kept}. Lower the learning rate, set clip_grad, or use "
                                 "precision=fp32.")

    def log_interval(self, run_log: RunLog, progress: Progress, interval: dict, step_values: dict) -> None:
        """Average the interval's losses over micro-batches and ranks, write them, reset the interval."""
        count = max(interval["count"], 1)
        averages = torch.tensor([interval[k] / count for k in ("loss", "mae_loss", "bc_loss")])
        loss, mae, bc = all_reduce_mean(averages.to(self.device), self.context).tolist()
        elapsed = max(time.time() - interval["start"], 1e-9)
        record = {
            "step": self.step,
            "epoch": self.step / self.steps_per_epoch,
            "loss": loss,
            "mae_loss": mae,
            "bc_loss": bc if self.teacher is not None else None,
            "lr": step_values["lr"],
            "momentum": step_values["momentum"] if self.teacher is not None else None,
            "grad_norm": float(step_values["grad_norm"]),
            "img_per_s": interval["images"] / elapsed,
        }
        run_log.write(record)
        progress.set_postfix(loss=f"{loss:.4f}", img_s=f"{record['img_per_s']:.0f}", refresh=False)
        interval.update(new_interval())

    # ------------------------------------------------------------------ end of run
    def finish(self, run_log: RunLog) -> dict[str, Any]:
        """Final k-NN, figures and `summary.json`; returns the summary."""
        summary: dict[str, Any] = {"output_dir": str(self.output_dir), "steps": self.step, "rank": self.context.rank,
                                   "train_seconds": self.train_seconds()}
        if self.last_checkpoint is not None:
            summary["checkpoint"] = str(self.last_checkpoint)
        student, teacher = self.evaluated_models(with_teacher=self.config.final_knn)
        wait_for_all(self.context)  # the last collective: from here on the main process works alone
        if not self.context.is_main:
            return summary
        if self.teacher is not None:
            summary["teacher"] = {"momentum": self.config.teacher_momentum, "schedule_steps": self.total_steps,
                                  **teacher_composition(self.step, self.total_steps, self.config.teacher_momentum)}
        if self.config.final_knn and self.knn_monitor is not None:
            summary["knn"] = final_knn(self.knn_monitor, student, teacher, self.device)
            epoch = self.step / self.steps_per_epoch
            run_log.write({"step": self.step, "epoch": epoch, "knn_top1": summary["knn"]["student"]})
        if plot_loss_curves(self.output_dir / METRICS_FILE, self.output_dir / "loss_curve.png"):
            summary["loss_curve"] = str(self.output_dir / "loss_curve.png")
        if self.config.num_visualize:
            path = self.output_dir / "reconstructions.png"
            save_reconstructions(student, self.config, self.device, path)
            summary["reconstructions"] = str(path)
        for figure in ("loss_curve", "reconstructions"):
            if figure in summary and Path(summary[figure]).is_file():
                run_log.add_figure(Path(summary[figure]), self.step)
        (self.output_dir / "summary.json").write_text(json.dumps(summary, indent=2))
        return summary
