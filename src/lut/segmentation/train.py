"""`lut segment train`: UperNet fine-tuning of a pre-trained ViT, iteration-based as mmseg.

Per optimiser step: learning rate from linear warm-up (from warmup_ratio x lr) + poly decay, times
each layer-decay group's `lr_scale`; `accum_iter` micro-batches with gradients all-reduced on the
last; cross-entropy of the UperHead plus aux_weight x that of the FCN head (ignored pixels left
out); bf16 autocast where the device computes it natively (precision=auto). Every `eval_every_iters`
steps and at the end: validation mIoU,
`checkpoint-last.pth` and, when the mIoU improved, `checkpoint-best.pth` (atomic, weights_only).
Each micro-batch's samples and augmentations follow from (seed, micro-batch number, rank) and the
network's dropout from (seed, step, rank), so a resumed run continues exactly as it would have, from
any iteration. The run skeleton (`lut.runtime.run`) adds signals, time-based checkpoints and trackers.
"""

import dataclasses
from contextlib import nullcontext
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Sampler, Subset

from lut.errors import UsageError
from lut.runtime.checkpoint import (
    BEST_CHECKPOINT,
    LAST_CHECKPOINT,
    checkpoint_to_resume,
    load_weights,
)
from lut.runtime.distributed import (
    DistributedContext,
    all_reduce_mean,
    average_batchnorm_statistics,
    wait_for_all,
)
from lut.runtime.precision import autocast_dtype
from lut.runtime.run import RunSettings, StepResult, TrainingRun
from lut.runtime.run_log import METRICS_FILE, read_metrics
from lut.runtime.same_run import check_same_run
from lut.runtime.seeding import derive_seed, seed_everything
from lut.runtime.session import run_session
from lut.segmentation.checkpoint import checkpoint_payload, load_backbone, segmenter_shape
from lut.segmentation.config import SegmentConfig, check_segment_config
from lut.segmentation.data import IGNORE_INDEX, data_identity, segmentation_source
from lut.segmentation.evaluate import evaluate_segmenter
from lut.segmentation.layer_decay import layer_decay_groups
from lut.segmentation.model import Segmenter, build_segmenter
from lut.segmentation.plots import plot_segmentation_curves
from lut.segmentation.transforms import EvalPairs, TrainPairs
from lut.version import __version__
from lut.wording import counted


def warmup_poly(step: int, config: SegmentConfig) -> float:
    """mmseg's schedule: linear from warmup_ratio x lr to lr over warmup_iters, then (1 - t)^power to min_lr."""
    if step < config.warmup_iters:
        return config.lr * (config.warmup_ratio + (1 - config.warmup_ratio) * step / config.warmup_iters)
    progress = min(step / config.max_iters, 1.0)
    return (config.lr - config.min_lr) * (1 - progress) ** config.poly_power + config.min_lr


class MicroBatches(Sampler):
    """Endless micro-batches of `(index, sample_seed)`: epochs of seeded permutations, dealt out over ranks.

    Micro-batch m of rank r takes the samples at global positions ((m * world + r) * batch ...) of the
    concatenated permutations, so it depends only on (seed, m, rank), and a run can start at any m.
    """

    def __init__(self, size: int, batch_size: int, seed: int, rank: int, world_size: int, start: int) -> None:
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.rank, self.world_size, self.start = rank, world_size, start

    @lru_cache(maxsize=2)  # noqa: B019 (one sampler per run)
    def order(self, epoch: int) -> np.ndarray:
        """The permutation of the data in one epoch."""
        return np.random.default_rng(derive_seed(self.seed, epoch)).permutation(self.size)

    def micro_batch(self, number: int) -> list[tuple[int, int]]:
        """The (index, sample_seed) pairs of micro-batch `number` on this rank."""
        first = (number * self.world_size + self.rank) * self.batch_size
        return [(int(self.order(position // self.size)[position % self.size]),
                 derive_seed(self.seed, number, self.rank, slot))
                for slot, position in enumerate(range(first, first + self.batch_size))]

    def __iter__(self):
        number = self.start
        while True:
            yield self.micro_batch(number)
            number += 1


class SegmentationRun:
    """Builds the network, optimiser and data of a run and trains it to max_iters (the skeleton's `TrainingTask`)."""

    def __init__(self, config: SegmentConfig, context: DistributedContext) -> None:
        self.config, self.context, self.device = config, context, context.device
        self.output_dir = Path(config.output_dir).expanduser()
        check_segment_config(config)
        synced_batchnorm = context.is_distributed and self.device.type == "cuda"
        if config.batch_size < 2 and not synced_batchnorm:
            raise UsageError("batch_size 1: the heads' BatchNorm needs at least 2 crops per process (SyncBatchNorm "
                             "pools them over GPUs under torchrun); raise batch_size, lower accum_iter to keep the "
                             "effective batch")
        seed_everything(config.seed)
        backbone = load_backbone(config)
        train_source = segmentation_source(config.data, "train", config.ignore_index)
        val_source = segmentation_source(config.data, "val", config.ignore_index)
        self.classes = train_source.classes
        self.backbone = backbone
        shape = segmenter_shape(config, len(self.classes), backbone.architecture.depth)
        # config.yaml records what runs: the encoder's architecture, patch and normalisation, the fitted blocks.
        config = self.config = dataclasses.replace(
            config, arch=config.arch or backbone.architecture.name, patch_size=backbone.architecture.patch_size,
            mean=list(backbone.mean), std=list(backbone.std), out_indices=list(shape.out_indices))
        self.model: Segmenter = build_segmenter(backbone.architecture, shape, config.drop_path,
                                                backbone.encoder).to(self.device)
        self.trained: nn.Module = self.model
        if context.is_distributed:
            if synced_batchnorm:
                self.trained = nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            self.trained = DistributedDataParallel(self.trained, device_ids=device_ids)
        self.groups = layer_decay_groups(self.model, backbone.architecture.depth, config.layer_decay,
                                         config.weight_decay)
        self.optimizer = torch.optim.AdamW(self.groups, lr=config.lr, betas=(config.adam_beta1, config.adam_beta2))
        self.train_data = TrainPairs(train_source, config.crop_size, config.scale, config.ratio_range,
                                     config.cat_max_ratio, backbone.mean, backbone.std, config.photometric)
        val_data = EvalPairs(val_source, config.scale, backbone.mean, backbone.std)
        self.val_data = Subset(val_data, range(min(config.val_samples, len(val_data)))) if config.val_samples \
            else val_data
        self.amp_dtype = autocast_dtype(config.precision)
        self.step, self.stop_step = 0, config.max_iters
        self.best: dict[str, float] = {}
        # The micro-batches, the losses since the last record, and the last validation and its iteration.
        self.batches = None
        self.window: list[dict[str, float]] = []
        self.last_eval: dict[str, Any] = {}
        self.evaluated_at = -1
        if context.is_main:
            print(f"{backbone.description}\nsegmentation: {counted(len(self.classes), 'class')}, {len(train_source)} "
                  f"training and {counted(len(self.val_data), 'validation image')}; effective batch "
                  f"{config.batch_size * config.accum_iter * context.world_size}, lr {config.lr:.3g}, layer decay "
                  f"{config.layer_decay}, {counted(config.max_iters, 'iteration')}")

    # ------------------------------------------------------------------ the skeleton's hooks
    def run(self) -> dict[str, Any]:
        """Train from the start or the resumed iteration to max_iters; returns the summary
        (`runtime.run.TrainingRun`)."""
        settings = RunSettings(self.output_dir, "segment", self.config.log_to, self.config.save_every_steps,
                               self.config.checkpoint_every_minutes, unit="it")
        return TrainingRun(self, settings, self.context).run()

    def resolved_config(self) -> dict[str, Any]:
        """The settings as they run: the precision resolved by `run_session`, the encoder's architecture,
        patch and normalisation, the blocks that feed the heads."""
        return dataclasses.asdict(self.config)

    def schedule(self) -> dict[str, Any]:
        """A finished run reached max_iters."""
        return {"max_iters": self.config.max_iters}

    def where(self) -> str:
        """The iteration reached."""
        return f"iteration {self.step}"

    def start(self, run: TrainingRun) -> Path | None:
        """Continue from the checkpoint `config.resume` names ("auto": the last one, if any), when it is this run's."""
        required = {"model", "optimizer", "iteration", "classes"}
        found = checkpoint_to_resume(self.output_dir, self.config.resume, required, "a segmentation run")
        if found is None:
            return None
        path, payload = found
        theirs = data_identity(str((payload.get("config") or {}).get("data", "")))
        check_same_run(path, {"encoder": payload.get("encoder_digest"), "data": theirs},
                       {"encoder": self.backbone.digest, "data": data_identity(self.config.data)})
        load_weights(self.model, payload["model"], str(path))
        self.optimizer.load_state_dict(payload["optimizer"])
        self.step, self.best = payload["iteration"], payload.get("best", {})
        run.resumed(path, payload)
        return path

    def begin(self, run: TrainingRun) -> None:
        """The micro-batches from the current iteration on."""
        self.batches = iter(self.loader())

    def before_stop(self, run: TrainingRun) -> None:
        """The losses since the last record are logged, so that no step goes unrecorded."""
        self.log_window(run)

    def checkpoint_payload(self) -> dict[str, Any]:
        """The segmenter as `segmentation.checkpoint` stores it, with the optimiser and the iteration."""
        payload = checkpoint_payload(self.model, self.backbone.architecture, self.classes, self.backbone.mean,
                                     self.backbone.std)
        payload.update({"optimizer": self.optimizer.state_dict(), "iteration": self.step, "best": self.best,
                        "config": self.resolved_config(), "encoder_digest": self.backbone.digest,
                        "lut_version": __version__})
        return payload

    def checkpoint_copies(self) -> list[str]:
        """`checkpoint-best.pth` when the evaluation just made improved the mIoU."""
        return [BEST_CHECKPOINT] if self.best.get("step") == self.step and self.evaluated_at == self.step else []

    # ------------------------------------------------------------------ training
    def loader(self) -> DataLoader:
        """Micro-batches from the current iteration on."""
        sampler = MicroBatches(len(self.train_data), self.config.batch_size, self.config.seed, self.context.rank,
                               self.context.world_size, self.step * self.config.accum_iter)
        return DataLoader(self.train_data, batch_sampler=sampler, num_workers=self.config.num_workers,
                          pin_memory=self.device.type == "cuda")

    def loss(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Main and auxiliary cross-entropy of a micro-batch ((B, 3, H, W), (B, H, W)); aux 0 without the head."""
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
            main, auxiliary = self.trained(images)  # (B, C, H, W) each
        main_loss = F.cross_entropy(main.float(), labels, ignore_index=IGNORE_INDEX)
        if auxiliary is None:
            return main_loss, torch.zeros((), device=self.device)
        return main_loss, F.cross_entropy(auxiliary.float(), labels, ignore_index=IGNORE_INDEX)

    def train_step(self) -> StepResult:
        """One optimiser step of `accum_iter` micro-batches."""
        config = self.config
        lr = warmup_poly(self.step, config)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group["lr_scale"]
        seed_everything(derive_seed(config.seed, self.step, self.context.rank))  # dropout, drop path
        self.trained.train()
        losses = torch.zeros(2, device=self.device)
        for micro in range(config.accum_iter):
            images, labels = next(self.batches)
            images, labels = images.to(self.device, non_blocking=True), labels.to(self.device)
            last = micro == config.accum_iter - 1
            sync = nullcontext() if last or not self.context.is_distributed else self.trained.no_sync()
            with sync:
                main_loss, aux_loss = self.loss(images, labels)
                loss = main_loss + config.aux_weight * aux_loss
                (loss / config.accum_iter).backward()
            losses += torch.stack([main_loss.detach(), aux_loss.detach()]) / config.accum_iter
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        local_main, local_aux = losses.tolist()
        main_loss, aux_loss = all_reduce_mean(losses, self.context).tolist()
        self.window.append({"loss": main_loss + config.aux_weight * aux_loss, "decode_loss": main_loss,
                            "aux_loss": aux_loss, "lr": lr})
        return StepResult(local_main + config.aux_weight * local_aux,
                          config.batch_size * config.accum_iter * self.context.world_size)

    def log_window(self, run: TrainingRun) -> None:
        """The mean losses of the steps since the last record, and the last learning rate."""
        if not self.window:
            return
        record = {key: sum(r[key] for r in self.window) / len(self.window) for key in self.window[0]}
        run.log.write({"step": self.step, **record, "lr": self.window[-1]["lr"]})
        self.window = []

    def after_step(self, run: TrainingRun, result: StepResult) -> bool:
        """The losses every `log_every_iters`; validation (and a checkpoint) every `eval_every_iters` and at the end."""
        config, last = self.config, self.step == self.config.max_iters
        if self.step % config.log_every_iters == 0 or last:
            self.log_window(run)
        if self.step % config.eval_every_iters and not last:
            return False
        self.last_eval = self.evaluate()
        self.evaluated_at = self.step
        if not self.best or self.last_eval["mIoU"] > self.best["mIoU"]:
            self.best = {"mIoU": self.last_eval["mIoU"], "step": self.step}
        run.log.write({"step": self.step, **{key: self.last_eval[key] for key in ("mIoU", "mAcc", "aAcc")}})
        run.say(f"iteration {self.step}/{config.max_iters}: mIoU {self.last_eval['mIoU']:.2f}, "
                f"mAcc {self.last_eval['mAcc']:.2f}, aAcc {self.last_eval['aAcc']:.2f}")
        return True

    def evaluate(self) -> dict[str, Any]:
        """Validation metrics with the run's inference mode (BatchNorm statistics averaged over CPU ranks first)."""
        if self.device.type != "cuda":
            average_batchnorm_statistics(self.model, self.context)
        config = self.config
        return evaluate_segmenter(self.model, self.val_data, self.classes, self.context, config.eval_mode,
                                  config.crop_size, config.eval_stride, amp_dtype=self.amp_dtype)

    def finish(self, run: TrainingRun) -> dict[str, Any]:
        """Final and best mIoU and file locations; the main process draws the curves."""
        wait_for_all(self.context)
        records = read_metrics(self.output_dir / METRICS_FILE) if self.context.is_main else []
        last_eval = self.last_eval or next((r for r in reversed(records) if "mIoU" in r), {})
        summary = {
            "rank": self.context.rank,
            "output_dir": str(self.output_dir),
            "iterations": self.step,
            "final": {key: last_eval.get(key) for key in ("mIoU", "mAcc", "aAcc")},
            "final_per_class": last_eval.get("per_class"),
            "best": self.best,
            "checkpoint_last": str(self.output_dir / LAST_CHECKPOINT),
            "checkpoint_best": str(self.output_dir / BEST_CHECKPOINT),
            "curves": str(self.output_dir / "curves.png"),
        }
        if self.context.is_main:
            plot_segmentation_curves(records, self.output_dir / "curves.png")
        return summary


def train_segmentation(config: SegmentConfig) -> dict[str, Any]:
    """Train the configured run, single process or under torchrun; returns the summary."""
    with run_session(config) as (config, context):
        return SegmentationRun(config, context).run()
