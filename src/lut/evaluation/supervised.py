"""The training task shared by fine-tuning and linear probing, run by the skeleton in `lut.runtime.run`.

Per optimiser step: learning rate from linear warm-up + half-cosine (times each group's
`lr_scale`, which timm's layer-decay groups carry), `accum_iter` micro-batches with gradients
all-reduced on the last one only, bf16 autocast where the device computes it natively. Per epoch:
top-1/top-5 on the test split (sharded over ranks, counts summed), a JSON-lines record,
`checkpoint-last.pth` and, when the first head's top-1 improves, `checkpoint-best.pth` (both atomic and
weights_only-loadable).
Augmentation randomness is seeded per (seed, epoch, rank), so a run resumed from the last
checkpoint continues exactly as it would have. A checkpoint written mid-epoch (a stop signal, see
`runtime.preemption`, `save_every_steps` or `checkpoint_every_minutes`) also holds every rank's RNG state and the
images each rank had trained on; the resumed run reads the epoch's first batches again without training on them, so
it continues exactly as well. Resumed with another batch size, it continues at the first image not trained on (none
twice, none skipped; the epoch's remaining steps counted in the new batch), and says so.
"""

import dataclasses
import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, Subset

from lut.data.labelled import LabelledSplits, data_identity, labelled_splits
from lut.data.sampling import ResumableDistributedSampler
from lut.data.sources import collate_readable, readable_count_note, skip_unreadable
from lut.data.workers import loader_workers
from lut.errors import UsageError
from lut.evaluation.config import Config, SupervisedConfig, check_eval_config
from lut.evaluation.knn import reports_top5
from lut.evaluation.plots import plot_training_curves
from lut.interchange import EncoderInfo, load_encoder
from lut.models.encoder import ViTEncoder
from lut.paths import check_output_path
from lut.runtime.checkpoint import (
    BEST_CHECKPOINT,
    LAST_CHECKPOINT,
    changed_training_settings,
    checkpoint_to_resume,
    load_weights,
)
from lut.runtime.distributed import DistributedContext, all_reduce_mean, wait_for_all
from lut.runtime.precision import autocast_dtype
from lut.runtime.run import RunSettings, StepResult, TrainingRun
from lut.runtime.run_log import METRICS_FILE, read_metrics
from lut.runtime.same_run import check_same_run
from lut.runtime.schedules import warmup_cosine
from lut.runtime.seeding import capture_rng_state, derive_seed, restore_rng_state, seed_everything
from lut.version import __version__
from lut.wording import counted

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
BatchTransform = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
# Settings a resumed run must share with the checkpoint it continues; checkpoints written before the encoder's
# weights digest was stored are also matched on the settings that chose the encoder.
RUN_KEYS = ("data", "test_data", "pools")
ENCODER_KEYS = ("checkpoint", "weights", "arch", "img_size")
# Settings a resumed run may change, with a warning: the schedule continues by epoch.
SCHEDULE_KEYS = ("epochs", "warmup_epochs", "batch_size", "accum_iter", "blr", "lr", "lr_rule", "min_lr",
                 "weight_decay", "layer_decay", "drop_path", "mixup", "cutmix", "label_smoothing", "seed")
log = logging.getLogger("lut")


@dataclass
class EvaluationInputs:
    """The pre-trained encoder and the labelled data a supervised protocol starts from.

    Attributes:
        encoder: the loaded encoder (CPU), at the configured input size.
        info: where it came from.
        splits: labelled training and test sets of PIL images.
        mean: input normalisation mean.
        std: input normalisation std.
    """

    encoder: ViTEncoder
    info: EncoderInfo
    splits: LabelledSplits
    mean: list[float]
    std: list[float]


def load_inputs(config: SupervisedConfig, splits: LabelledSplits | None = None) -> EvaluationInputs:
    """Load the encoder named by the config and open its labelled data.

    Args:
        config: the run's settings.
        splits: labelled data opened by the caller (a transfer data set); default: `config.data`'s splits.

    Raises:
        UsageError: no checkpoint given, a setting out of range, or the checkpoint or data cannot be used.
    """
    if not config.checkpoint:
        raise UsageError("no checkpoint given: pass --checkpoint PATH")
    check_eval_config(config)
    check_output_path(Path(config.output_dir).expanduser(), "output_dir", folder=True)
    encoder, info = load_encoder(config.checkpoint, config.weights_choice, config.arch or None,
                                 config.img_size or None)
    info.architecture.check_patch_size(config.patch_size)
    if splits is None:
        splits = labelled_splits(config.data, config.data_root, config.download, config.train_samples,
                                 config.test_samples, config.seed, columns=(config.image_column, config.label_column),
                                 test_data=config.test_data)
    default_mean, default_std = info.normalisation()
    return EvaluationInputs(encoder, info, splits, list(config.mean or default_mean), list(config.std or default_std))


def with_inferred_settings(config: Config, inputs: EvaluationInputs) -> Config:
    """`config` with the values it left to the checkpoint as they run: architecture, input size, patch and
    normalisation."""
    architecture = inputs.info.architecture
    return dataclasses.replace(config, arch=config.arch or architecture.name, img_size=architecture.img_size,
                               patch_size=architecture.patch_size, mean=list(inputs.mean), std=list(inputs.std))


def head_outputs(outputs: torch.Tensor | dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A model's logits as {head name: (B, C)}; a single tensor is the unnamed head ""."""
    return outputs if isinstance(outputs, dict) else {"": outputs}


def run_settings(config: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The values of `keys` that `config` holds, with the data set and checkpoint paths made absolute."""
    values = {key: config[key] for key in keys if key in config}
    if "data" in values:
        values["data"] = data_identity(values["data"])
    if "checkpoint" in values:
        values["checkpoint"] = str(Path(values["checkpoint"]).expanduser().resolve())
    return values


def mean_class_accuracy(hits: torch.Tensor, counts: torch.Tensor) -> float:
    """Mean over the classes that have samples of each class's accuracy (%).

    Args:
        hits: (C,) correct top-1 predictions per true class.
        counts: (C,) samples per true class.
    """
    present = counts > 0
    return (hits[present] / counts[present]).mean().item() * 100


def metric_name(head: str, metric: str) -> str:
    """"top1" for the unnamed head, "cls_top1" for head "cls"."""
    return f"{head}_{metric}" if head else metric


class SupervisedRun:
    """Trains a classifier for the configured epochs, evaluating and checkpointing after each (the skeleton's
    `TrainingTask`).

    Args:
        model: returns (B, C) logits, or {head: (B, C)} for several heads trained side by side.
        optimizer: over the trainable parameters; groups may carry `lr_scale`.
        train_data: yields `(augmented image tensor, label)`.
        test_data: yields `(image tensor, label)`.
        loss_fn: `(logits, targets) -> loss`; summed over heads.
        config: the run's settings (epochs, schedule, batch, seed, precision, output, resume).
        context: process-group placement.
        peak_lr: learning rate after warm-up.
        encoder_digest: the pre-trained encoder's weights digest; a run only resumes a checkpoint of the same.
        saved: the module whose state dict the checkpoints hold (default: `model`).
        batch_transform: applied to `(images, labels)` on the device before the forward (e.g. mixup).
        classes: class names indexed by label, stored in the checkpoints (Grad-CAM titles).
        class_mean: also report the mean over classes of the per-class top-1 accuracy ("class_mean").
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        train_data: Dataset,
        test_data: Dataset,
        loss_fn: LossFunction,
        config: SupervisedConfig,
        context: DistributedContext,
        peak_lr: float,
        encoder_digest: str,
        saved: nn.Module | None = None,
        batch_transform: BatchTransform | None = None,
        classes: list[str] | None = None,
        class_mean: bool = False,
    ) -> None:
        self.config = config
        self.classes = list(classes or [])
        self.encoder_digest = encoder_digest
        self.context = context
        self.device = context.device
        self.model = model.to(self.device)
        self.trained: nn.Module = model
        if context.is_distributed:
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            self.trained = DistributedDataParallel(model, device_ids=device_ids)
        self.saved = saved if saved is not None else model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.batch_transform = batch_transform
        self.class_mean = class_mean
        self.peak_lr = peak_lr
        self.amp_dtype = autocast_dtype(config.precision)
        self.output_dir = Path(config.output_dir).expanduser()
        # Workers restart each epoch so that their seeds follow the per-epoch seed.
        self.sampler = ResumableDistributedSampler(train_data, context.world_size, context.rank, shuffle=True,
                                                   seed=config.seed, drop_last=True)
        self.workers = loader_workers(config.num_workers, announce=context.is_main)
        self.train_loader = DataLoader(train_data, config.batch_size, sampler=self.sampler, drop_last=True,
                                       num_workers=self.workers, pin_memory=self.device.type == "cuda")
        self.test_loader = self.evaluation_loader(test_data)
        self.steps_per_epoch = len(self.train_loader) // config.accum_iter
        if self.steps_per_epoch == 0:
            raise UsageError(
                f"{len(train_data)} training images are too few for one optimiser step of {config.batch_size} x "
                f"{config.accum_iter} x {counted(context.world_size, 'process')}; lower batch_size or accum_iter"
            )
        self.total_steps = config.epochs * self.steps_per_epoch
        self.stop_step = self.total_steps
        self.step = 0
        self.best: dict[str, dict[str, float]] = {}
        self.improved_at = -1  # the step whose evaluation last improved the first head's top-1
        self.last_record: dict[str, float] = {}
        # The current epoch's micro-batches, images trained on (this process's), loss sum and count, and the last
        # step's learning rate.
        self.batches = None
        self.epoch_images, self.loss_sum, self.micro_batches, self.lr = 0, 0.0, 0, 0.0
        # Where a checkpoint written mid-epoch left the epoch, if the run resumed from one.
        self.mid_epoch: dict[str, Any] | None = None
        self.finished_before = False  # `run` found the run finished and did nothing
        self.announced: set[str] = set()

    # ------------------------------------------------------------------ the skeleton's hooks
    def run(self) -> dict[str, Any]:
        """Train from the start or the resumed step to the end; returns the summary (`runtime.run.TrainingRun`)."""
        kind = type(self.config).__name__.removesuffix("Config").lower()  # "finetune" or "linprobe"
        settings = RunSettings(self.output_dir, kind, self.config.log_to, self.config.save_every_steps,
                               self.config.checkpoint_every_minutes)
        skeleton = TrainingRun(self, settings, self.context)
        summary = skeleton.run()
        self.finished_before = skeleton.finished_before
        return summary

    @property
    def epoch(self) -> int:
        """Epochs finished."""
        return self.step // self.steps_per_epoch

    def resolved_config(self) -> dict[str, Any]:
        """The settings as they run: the precision resolved by `run_session`, the encoder's input size and
        normalisation by the caller (`with_inferred_settings`)."""
        return dataclasses.asdict(self.config)

    def schedule(self) -> dict[str, Any]:
        """A finished run reached the end of its epochs."""
        return {"epochs": self.config.epochs}

    def where(self) -> str:
        """"epoch E" at an epoch's end, else "step S of epoch E"."""
        epoch, step_in_epoch = divmod(self.step, self.steps_per_epoch)
        return f"step {step_in_epoch} of epoch {epoch + 1}" if step_in_epoch else f"epoch {epoch}"

    def begin(self, run: TrainingRun) -> None:
        """Nothing before the first step: the caller announced the run."""

    def before_stop(self, run: TrainingRun) -> None:
        """Nothing to log: the epoch's sums travel in the checkpoint."""

    def checkpoint_payload(self) -> dict[str, Any]:
        """Weights, optimiser, epoch and best accuracies; mid-epoch, also the epoch's sums and every rank's RNG
        state (every process must call it)."""
        epoch, step_in_epoch = divmod(self.step, self.steps_per_epoch)
        mid_epoch = None
        if step_in_epoch:
            rng_states = [capture_rng_state()]
            if self.context.is_distributed:
                gathered = [None] * self.context.world_size
                dist.all_gather_object(gathered, rng_states[0])
                rng_states = gathered
            mid_epoch = {"step_in_epoch": step_in_epoch, "images": self.epoch_images, "loss_sum": self.loss_sum,
                         "micro_batches": self.micro_batches, "rng": rng_states}
        return {
            "mid_epoch": mid_epoch,
            "model": self.saved.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "epoch": epoch,
            "best": self.best,
            "config": self.resolved_config(),
            "encoder_digest": self.encoder_digest,
            "classes": self.classes,
            "lut_version": __version__,
        }

    def checkpoint_copies(self) -> list[str]:
        """`checkpoint-best.pth` when the epoch just finished improved the first head's top-1."""
        return [BEST_CHECKPOINT] if self.improved_at == self.step else []

    def start(self, run: TrainingRun) -> Path | None:
        """Continue from the checkpoint `config.resume` names ("auto": the last one, if any)."""
        found = checkpoint_to_resume(self.output_dir, self.config.resume, {"model", "optimizer", "epoch"},
                                     "this evaluation")
        if found is None:
            return None
        path, payload = found
        self.check_same_run(payload, path)
        load_weights(self.saved, payload["model"], str(path))
        self.optimizer.load_state_dict(payload["optimizer"])
        self.best = payload.get("best", {})
        self.mid_epoch = payload.get("mid_epoch")
        # Steps follow from the finished epochs, so that another batch size keeps the epochs going forwards.
        self.step = payload["epoch"] * self.steps_per_epoch
        continues = f"the schedule continues from epoch {payload['epoch']}"
        if self.mid_epoch is not None:
            steps_done = self.resume_mid_epoch(path, payload)
            self.step += steps_done
            continues = (f"epoch {payload['epoch'] + 1} continues after the {self.mid_epoch['images']} images per "
                         f"process it had trained on, at step {steps_done} of {self.steps_per_epoch}")
            if len(self.mid_epoch["rng"]) != self.context.world_size:
                log.warning("%s was written by %d processes, not %d: epoch %d continues with other random draws",
                            path, len(self.mid_epoch["rng"]), self.context.world_size, payload["epoch"] + 1)
        changed = changed_training_settings(payload.get("config") or {}, dataclasses.asdict(self.config),
                                            SCHEDULE_KEYS)
        if changed:
            log.warning("resuming %s with other training settings (%s); %s", path, "; ".join(changed), continues)
        run.resumed(path, payload)
        return path

    def resume_mid_epoch(self, path: Path, payload: dict[str, Any]) -> int:
        """Where in its epoch a checkpoint written mid-epoch left off: records the images per process it had trained
        on in `mid_epoch`, and returns the steps of the epoch done, counted in this run's steps (the images left
        fill the epoch's remaining steps, so that none is trained on twice or skipped with another batch size).

        Raises:
            UsageError: the images left do not fill one step of this run's batch.
        """
        config, saved = self.config, payload.get("config") or {}
        # Checkpoints written before the images were stored: the steps of the checkpoint's batch.
        saved_step = saved.get("batch_size", config.batch_size) * saved.get("accum_iter", config.accum_iter)
        images = self.mid_epoch.setdefault("images", self.mid_epoch["step_in_epoch"] * saved_step)
        per_step = config.batch_size * config.accum_iter
        steps_left = (self.sampler.num_samples - images) // per_step
        if steps_left < 1:
            raise UsageError(
                f"{path} stopped after {images} of the {self.sampler.num_samples} images per process of epoch "
                f"{payload['epoch'] + 1}, and the rest do not fill one step of batch_size {config.batch_size} x "
                f"accum_iter {config.accum_iter}: resume with the checkpoint's batch_size "
                f"{saved.get('batch_size')} and accum_iter {saved.get('accum_iter')} to finish the epoch"
            )
        return self.steps_per_epoch - steps_left

    def check_same_run(self, payload: dict[str, Any], path: Path) -> None:
        """Refuse to continue a checkpoint of another encoder, data set or poolings (it would mix two runs).

        Raises:
            UsageError: naming what differs between the checkpoint's run and this one.
        """
        saved_digest = payload.get("encoder_digest")
        keys = RUN_KEYS if saved_digest else RUN_KEYS + ENCODER_KEYS
        theirs = run_settings(payload.get("config") or {}, keys)
        ours = {key: value for key, value in run_settings(dataclasses.asdict(self.config), keys).items()
                if key in theirs}
        holder = self.output_dir if self.config.resume == "auto" else path
        if saved_digest:
            check_same_run(holder, {"encoder weights digest": saved_digest},
                           {"encoder weights digest": self.encoder_digest}, "another encoder")
        check_same_run(holder, theirs, ours)

    # ------------------------------------------------------------------ training
    def train_step(self) -> StepResult:
        """One optimiser step of `accum_iter` micro-batches; an epoch's first step seeds and places its data."""
        config = self.config
        if self.batches is None:
            self.start_epoch()
        lr = warmup_cosine(self.step, self.total_steps, round(config.warmup_epochs * self.steps_per_epoch),
                           self.peak_lr, config.min_lr)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        step_loss = 0.0
        for micro in range(config.accum_iter):
            images, targets = next(self.batches)
            images, targets = images.to(self.device, non_blocking=True), targets.to(self.device)
            if self.batch_transform is not None:
                images, targets = self.batch_transform(images, targets)
            last = micro == config.accum_iter - 1
            sync = nullcontext() if last or not self.context.is_distributed else self.trained.no_sync()
            with sync:
                with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
                    outputs = head_outputs(self.trained(images))
                loss = sum(self.loss_fn(logits.float(), targets) for logits in outputs.values())
                (loss / config.accum_iter).backward()
            step_loss += loss.item() / config.accum_iter
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.loss_sum += step_loss * config.accum_iter
        self.micro_batches += config.accum_iter
        self.epoch_images += config.batch_size * config.accum_iter
        self.lr = lr
        self.step += 1
        return StepResult(step_loss, config.batch_size * config.accum_iter * self.context.world_size)

    def start_epoch(self) -> None:
        """Seed the epoch; after a mid-epoch checkpoint, start it at the first image not trained on.

        The images trained on are read again, unused, in whole batches of this run (so that the loader processes'
        random draws go on as they would have); a remainder smaller than a batch, left by another batch size, is
        skipped by the sampler.
        """
        config, epoch = self.config, self.epoch
        images = self.mid_epoch["images"] if self.mid_epoch is not None else 0
        batches_read, skipped = divmod(images, config.batch_size)
        self.sampler.set_epoch(epoch, start=skipped)
        seed_everything(derive_seed(config.seed, epoch, self.context.rank))
        self.trained.train()
        self.batches = iter(self.train_loader)
        self.epoch_images, self.loss_sum, self.micro_batches = images, 0.0, 0
        if self.mid_epoch is not None:
            self.loss_sum, self.micro_batches = self.mid_epoch["loss_sum"], self.mid_epoch["micro_batches"]
            for _ in range(batches_read):
                next(self.batches)
            if len(self.mid_epoch["rng"]) == self.context.world_size:
                restore_rng_state(self.mid_epoch["rng"][self.context.rank])
            self.mid_epoch = None

    def after_step(self, run: TrainingRun, result: StepResult) -> bool:
        """At an epoch's end: evaluate, write the epoch's record, track the best; a checkpoint then."""
        if self.step % self.steps_per_epoch:
            return False
        mean_loss = all_reduce_mean(torch.tensor(self.loss_sum / self.micro_batches, device=self.device),
                                    self.context)
        record = {"epoch": self.epoch, "step": self.step, "train_loss": mean_loss.item(), "lr": self.lr}
        record.update(self.evaluate())
        if self.update_best(record):
            self.improved_at = self.step
        run.log.write(record)
        self.last_record = record
        self.batches = None
        shown = ", ".join(f"{key} {value:.2f}" for key, value in record.items() if key.endswith("top1"))
        run.say(f"epoch {self.epoch}/{self.config.epochs}: loss {record['train_loss']:.4f}, {shown}")
        return True

    def evaluation_loader(self, data: Dataset) -> DataLoader:
        """A loader over this process's shard of `data` (every world_size-th sample from its rank), which leaves
        unreadable images out (`skip_unreadable`)."""
        shard = Subset(skip_unreadable(data), range(self.context.rank, len(data), self.context.world_size))
        return DataLoader(shard, self.config.batch_size, num_workers=self.workers, collate_fn=collate_readable)

    @torch.no_grad()
    def evaluate(self, loader: DataLoader | None = None) -> dict[str, float]:
        """Top-1 and top-5 accuracy (%) of every head on the whole test split (or `loader`'s data); top-1 alone with
        5 classes or fewer.

        With `class_mean`, also the mean over classes of each class's top-1 accuracy (classes without
        samples left out).
        """
        self.model.eval()
        hits: dict[str, torch.Tensor] = {}
        class_hits: dict[str, torch.Tensor] = {}
        classes_per_head: dict[str, int] = {}
        loader = loader or self.test_loader
        for batch in loader:
            if batch is None:  # every image of the batch unreadable
                continue
            images, targets = batch[0].to(self.device, non_blocking=True), batch[1].to(self.device)
            with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
                outputs = head_outputs(self.model(images))
            for head, logits in outputs.items():
                classes_per_head[head] = logits.shape[1]
                ranked = logits.topk(min(5, logits.shape[1]), dim=1).indices  # (B, 5)
                correct = ranked == targets[:, None]
                counts = torch.stack(
                    [correct[:, 0].sum(), correct.any(dim=1).sum(), targets.new_tensor(len(targets))]
                ).double()  # (hits@1, hits@5, total)
                hits[head] = hits.get(head, torch.zeros(3, dtype=torch.float64, device=self.device)) + counts
                if self.class_mean:
                    per_class = torch.stack([
                        torch.bincount(targets, weights=correct[:, 0].double(), minlength=logits.shape[1]),
                        torch.bincount(targets, minlength=logits.shape[1]).double(),
                    ])  # (2, C): hits@1 and samples of each class
                    class_hits[head] = class_hits.get(head, 0) + per_class
        metrics = {}
        for head, counts in hits.items():
            if self.context.is_distributed:
                dist.all_reduce(counts)
            images = loader.dataset.dataset if isinstance(loader.dataset, Subset) else loader.dataset
            self.announce_unreadable(int(counts[2].item()), len(images))
            metrics[metric_name(head, "top1")] = (counts[0] / counts[2]).item() * 100
            if reports_top5(classes_per_head[head]):
                metrics[metric_name(head, "top5")] = (counts[1] / counts[2]).item() * 100
        for head, per_class in class_hits.items():
            if self.context.is_distributed:
                dist.all_reduce(per_class)
            metrics[metric_name(head, "class_mean")] = mean_class_accuracy(per_class[0], per_class[1])
        return metrics

    def announce_unreadable(self, read: int, total: int) -> None:
        """Say once, on the main process, how many test images could not be read and are left out of the scores."""
        note = readable_count_note(read, total, "the test data")
        if note and self.context.is_main and note not in self.announced:
            self.announced.add(note)
            log.warning(note)

    def update_best(self, record: dict[str, float]) -> bool:
        """Track the best top-1 of every head; True when the first head's improved."""
        improved = []
        for key in (key for key in record if key.endswith("top1")):
            if key not in self.best or record[key] > self.best[key]["value"]:
                self.best[key] = {"value": record[key], "epoch": record["epoch"]}
                improved.append(key)
        first = next(key for key in record if key.endswith("top1"))
        return first in improved

    def finish(self, run: TrainingRun) -> dict[str, Any]:
        """Final and best accuracies and file locations; the main process draws the curves."""
        wait_for_all(self.context)  # no collective in flight when the processes leave the group
        records = read_metrics(self.output_dir / METRICS_FILE) if self.context.is_main else []
        last_record = self.last_record or (records[-1] if records else {})
        summary = {
            "output_dir": str(self.output_dir),
            "epochs": self.epoch,
            "final": {key: value for key, value in last_record.items() if "top" in key or key.endswith("class_mean")},
            "best": self.best,
            "checkpoint_last": str(self.output_dir / LAST_CHECKPOINT),
            "checkpoint_best": str(self.output_dir / BEST_CHECKPOINT),
            "curves": str(self.output_dir / "accuracy.png"),
        }
        if self.context.is_main:
            plot_training_curves(records, self.output_dir / "accuracy.png")
        return summary
