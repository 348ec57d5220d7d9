"""The pre-training loop: data, student, teacher, optimiser, checkpoints and logs."""

import dataclasses
import logging
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch

from lut.config import PretrainConfig
from lut.data.batch_views import AUGMENT_SEED_TAG
from lut.errors import UsageError
from lut.interchange.loading import load_encoder, read_checkpoint_file
from lut.models import PretrainModel, Teacher, parse_model_name
from lut.paths import check_output_path
from lut.runtime.checkpoint import (
    LAST_CHECKPOINT,
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
    wait_for_all,
)
from lut.runtime.run import RunSettings, StepResult, TrainingRun
from lut.runtime.run_log import METRICS_FILE, plot_loss_curves, truncate_metrics
from lut.runtime.schedules import scaled_learning_rate, warmup_cosine
from lut.runtime.seeding import capture_rng_state, derive_seed, restore_rng_state, seed_everything
from lut.runtime.session import run_session
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
    with run_session(config) as (config, context):
        return PretrainRun(config, context).run()


def with_preset_patch(settings: dict[str, Any]) -> dict[str, Any]:
    """Pre-training settings with `patch_size` 0 (the preset's, as runs recorded it before recording it as it ran)
    written as the preset's patch size."""
    if settings.get("patch_size") or "model" not in settings:
        return settings
    return {**settings, "patch_size": parse_model_name(settings["model"])[1].patch_size}


def new_interval() -> dict[str, float]:
    """Sums of the losses, micro-batches and images since the last metrics record, and when it began."""
    return {"loss": 0.0, "mae_loss": 0.0, "bc_loss": 0.0, "count": 0, "images": 0, "start": time.time()}


class PretrainRun:
    """One pre-training run (the skeleton's `TrainingTask`); `run()` trains from scratch or from the last
    checkpoint."""

    def __init__(self, config: PretrainConfig, context: DistributedContext) -> None:
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
        self.config = config = dataclasses.replace(config, patch_size=models.student.patch_size)  # as it runs
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
        self.run_skeleton: TrainingRun | None = None
        self.resumed_epochs: tuple[float, int] | None = None  # (epochs done, step) when the batch changed
        self.batches = None  # the current epoch's micro-batches
        # Sums since the last metrics record (the averages run across epoch ends), and the last step's values.
        self.interval = new_interval()
        self.step_values: dict[str, float] = {}
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
            "epochs_done": self.epochs_done(),
            "step_in_epoch": self.step % self.steps_per_epoch,
            "effective_batch": self.effective_batch,
            "train_seconds": self.train_seconds(),
            "rng": capture_rng_state(),
            "config": self.resolved_config(),
            "lut_version": __version__,
        }

    def epochs_done(self) -> float:
        """Epochs of data trained on so far. A run resumed with another effective batch (so another number of steps
        per epoch) continues from the epochs its checkpoint had done, so that they never go backwards."""
        if self.resumed_epochs is None:
            return self.step / self.steps_per_epoch
        epochs_at_resume, step_at_resume = self.resumed_epochs
        return epochs_at_resume + (self.step - step_at_resume) / self.steps_per_epoch

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

    def restore(self, path: Path) -> dict[str, Any]:
        """Load student, teacher, optimiser, scaler, step and RNG states from `path`; returns its payload."""
        payload = load_checkpoint(path)
        if "model" not in payload or "step" not in payload:
            raise UsageError(f"{path} is not a pre-training checkpoint ({key_summary(payload)})")
        damaged = non_finite_weights(payload)
        if damaged is not None:
            raise UsageError(f"{path} holds non-finite values ({damaged}): the run that wrote it diverged; resume "
                             "from a kept checkpoint-EPOCH.pth (resume=PATH) or start again (resume=none)")
        check_same_architecture(with_preset_patch(payload.get("config", {})), dataclasses.asdict(self.config),
                                str(path))
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
        # Checkpoints written before `epochs_done` was stored: the epochs follow from the steps and the batch.
        saved_batch = payload.get("effective_batch") or self.effective_batch
        images_per_epoch = self.steps_per_epoch * self.effective_batch
        epochs_done = payload.get("epochs_done", self.step * saved_batch / images_per_epoch)
        if epochs_done != self.step / self.steps_per_epoch:
            self.resumed_epochs = (epochs_done, self.step)
        changed = changed_training_settings(payload.get("config", {}), dataclasses.asdict(self.config))
        if changed:
            log.warning("resuming %s with other training settings (%s); the schedules continue from step %d",
                        path, "; ".join(changed), self.step)
        if payload.get("effective_batch") != self.effective_batch:
            log.warning("effective batch changed from %s to %s on resume", payload.get("effective_batch"),
                        self.effective_batch)
        return payload

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
                check_same_architecture(with_preset_patch(saved_config), dataclasses.asdict(self.config), str(path))
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

    # ------------------------------------------------------------------ the skeleton's hooks
    def run(self) -> dict[str, Any]:
        """Train until `stop_step`, then write the figures and the summary (`runtime.run.TrainingRun`)."""
        config = self.config
        settings = RunSettings(self.output_dir, "pretrain", config.log_to, config.save_every_steps,
                               config.checkpoint_every_minutes,
                               advice="Lower the learning rate, set clip_grad, or use precision=fp32.")
        return TrainingRun(self, settings, self.context).run()

    def start(self, run: TrainingRun) -> Path | None:
        """Resume from the last checkpoint, or initialise from `init=`; returns the checkpoint resumed."""
        self.run_skeleton = run
        resume_from = self.resume_path()
        if resume_from is not None:
            run.resumed(resume_from, self.restore(resume_from))
            self.check_steps_left(resume_from)
        elif self.config.init:
            self.initialise(Path(self.config.init).expanduser())
        return resume_from

    def resolved_config(self) -> dict[str, Any]:
        """The settings as they run (the precision resolved by `run_session`, the patch size when the run was
        built)."""
        return dataclasses.asdict(self.config)

    def schedule(self) -> dict[str, Any]:
        """The settings whose end a finished run reached."""
        return {"epochs": self.config.epochs, "max_steps": self.config.max_steps}

    def where(self) -> str:
        """The step reached."""
        return f"step {self.step}"

    def begin(self, run: TrainingRun) -> None:
        """Announce the schedule; the randomly initialised encoder's k-NN as a reference."""
        config = self.config
        if self.step >= self.stop_step and config.final_knn:
            # A finished run without its summary computes its final k-NN again.
            truncate_metrics(self.output_dir / METRICS_FILE, self.step, keep_evaluations_at_last_step=False)
        if self.context.is_main:
            print(
                f"{config.method.upper()} {config.model}: {counted(self.steps_per_epoch, 'step')}/epoch, "
                f"{counted(self.total_steps, 'step')} in {counted(config.epochs, 'epoch')} (stopping at "
                f"{self.stop_step}); effective batch "
                f"{self.effective_batch}; lr = {self.peak_lr:.3g} ({self._lr_origin()}); device {self.device}"
            )
        if config.knn_every_epochs and self.step == 0:
            self.log_knn(run)
        self.segment_start = time.perf_counter()

    def _lr_origin(self) -> str:
        if self.config.lr:
            return "set by lr"
        rule = "blr * sqrt(batch) / 4" if self.config.lr_rule == "sqrt" else "blr * batch / 256"
        return f"{self.config.lr_rule} rule {rule}, blr {self.config.blr:g}"

    def train_step(self) -> StepResult:
        """One optimiser step; an epoch's first step (or the first after a resume) places the sampler."""
        config = self.config
        if self.batches is None:
            epoch, step_in_epoch = divmod(self.step, self.steps_per_epoch)
            self.sampler.set_epoch(epoch, start=step_in_epoch * config.accum_iter * config.batch_size)
            self.trained.train()
            self.batches = iter(self.loader)
        images_before, losses_before, count_before = self.interval["images"], self.interval["loss"], \
            self.interval["count"]
        self.step_values = self.optimiser_step(self.batches, self.interval)
        if self.step % self.steps_per_epoch == 0:
            self.batches = None
        loss = (self.interval["loss"] - losses_before) / max(self.interval["count"] - count_before, 1)
        return StepResult(loss, self.interval["images"] - images_before)

    def after_step(self, run: TrainingRun, result: StepResult) -> bool:
        """The metrics record and the k-NN monitor when due; a checkpoint at every epoch's end."""
        config = self.config
        epoch, step_in_epoch = divmod(self.step, self.steps_per_epoch)
        run.progress.set_description(f"epoch {min(epoch + 1, config.epochs)}/{config.epochs}", refresh=False)
        if self.step % config.log_every_steps == 0 or self.step == self.stop_step:
            self.log_interval(run)
        end_of_epoch = step_in_epoch == 0
        monitor_due = config.knn_every_epochs and epoch % config.knn_every_epochs == 0
        # The final k-NN evaluates the student at the last step anyway.
        final_step = config.final_knn and self.step == self.stop_step
        if monitor_due and end_of_epoch and not final_step:
            self.log_knn(run)
        return end_of_epoch

    def before_stop(self, run: TrainingRun) -> None:
        """A stop signal: the steps since the last record are logged, so that each step is logged once."""
        if self.interval["count"]:
            self.log_interval(run)

    def checkpoint_copies(self) -> list[str]:
        """`checkpoint-EPOCH.pth` at the end of every `keep_every_epochs`-th epoch."""
        epoch, step_in_epoch = divmod(self.step, self.steps_per_epoch)
        keep_every = self.config.keep_every_epochs
        return [f"checkpoint-{epoch:04d}.pth"] if keep_every and not step_in_epoch and epoch % keep_every == 0 else []

    def log_knn(self, run: TrainingRun) -> None:
        """k-NN accuracy of the student's encoder now, into the metrics (all processes call it, the main one logs)."""
        student, _ = self.evaluated_models()
        if self.knn_monitor is None:
            return
        knn = self.knn_monitor.evaluate(student.encoder, self.device)
        run.log.write({"step": self.step, "epoch": self.epochs_done(), **knn})
        run.say(f"step {self.step}: k-NN top-1 {knn['knn_top1']:.2f}%")

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
            self.run_skeleton.stop_non_finite(f"the update of step {self.step + 1} overflowed float32 (lr {lr:g})")
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

    def log_interval(self, run: TrainingRun) -> None:
        """Average the interval's losses over micro-batches and ranks, write them, reset the interval."""
        interval, step_values = self.interval, self.step_values
        count = max(interval["count"], 1)
        averages = torch.tensor([interval[k] / count for k in ("loss", "mae_loss", "bc_loss")])
        loss, mae, bc = all_reduce_mean(averages.to(self.device), self.context).tolist()
        elapsed = max(time.time() - interval["start"], 1e-9)
        record = {
            "step": self.step,
            "epoch": self.epochs_done(),
            "loss": loss,
            "mae_loss": mae,
            "bc_loss": bc if self.teacher is not None else None,
            "lr": step_values["lr"],
            "momentum": step_values["momentum"] if self.teacher is not None else None,
            "grad_norm": float(step_values["grad_norm"]),
            "img_per_s": interval["images"] / elapsed,
        }
        run.log.write(record)
        interval.update(new_interval())

    # ------------------------------------------------------------------ end of run
    def finish(self, run: TrainingRun) -> dict[str, Any]:
        """Final k-NN and figures; returns the summary."""
        summary: dict[str, Any] = {"output_dir": str(self.output_dir), "steps": self.step, "rank": self.context.rank,
                                   "train_seconds": self.train_seconds()}
        if run.last_checkpoint is not None:
            summary["checkpoint"] = str(run.last_checkpoint)
        student, teacher = self.evaluated_models(with_teacher=self.config.final_knn)
        wait_for_all(self.context)  # the last collective: from here on the main process works alone
        if not self.context.is_main:
            return summary
        if self.teacher is not None:
            summary["teacher"] = {"momentum": self.config.teacher_momentum, "schedule_steps": self.total_steps,
                                  **teacher_composition(self.step, self.total_steps, self.config.teacher_momentum)}
        if self.config.final_knn and self.knn_monitor is not None:
            summary["knn"] = final_knn(self.knn_monitor, student, teacher, self.device)
            epoch = self.epochs_done()
            run.log.write({"step": self.step, "epoch": epoch, "knn_top1": summary["knn"]["student"]})
        if plot_loss_curves(self.output_dir / METRICS_FILE, self.output_dir / "loss_curve.png"):
            summary["loss_curve"] = str(self.output_dir / "loss_curve.png")
        if self.config.num_visualize:
            path = self.output_dir / "reconstructions.png"
            save_reconstructions(student, self.config, self.device, path)
            summary["reconstructions"] = str(path)
        return summary
