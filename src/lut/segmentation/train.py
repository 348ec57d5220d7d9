"""`lut segment train`: UperNet fine-tuning of a pre-trained ViT, iteration-based as mmseg.

Per optimiser step: learning rate from linear warm-up (from warmup_ratio x lr) + poly decay, times
each layer-decay group's `lr_scale`; `accum_iter` micro-batches with gradients all-reduced on the
last; cross-entropy of the UperHead plus aux_weight x that of the FCN head (ignored pixels left
out); bf16 autocast on GPU. Every `eval_every_iters` steps and at the end: validation mIoU,
`checkpoint-last.pth` and, when the mIoU improved, `checkpoint-best.pth` (atomic, weights_only).
Each micro-batch's samples and augmentations follow from (seed, micro-batch number, rank) and the
network's dropout from (seed, step, rank), so a resumed run continues exactly as it would have.
"""

import dataclasses
import json
import math
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
from tqdm import tqdm

from lut.config import save_config
from lut.errors import NonFiniteLossError, UsageError
from lut.runtime.checkpoint import (
    BEST_CHECKPOINT,
    LAST_CHECKPOINT,
    checkpoint_to_resume,
    first_non_finite,
    load_weights,
    save_last_and_best,
)
from lut.runtime.distributed import (
    DistributedContext,
    all_reduce_mean,
    average_batchnorm_statistics,
    distributed_session,
    wait_for_all,
)
from lut.runtime.precision import autocast_dtype, with_resolved_precision
from lut.runtime.run_log import METRICS_FILE, RunLog, read_metrics, truncate_metrics
from lut.runtime.seeding import derive_seed, seed_everything
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
    """Builds the network, optimiser and data of a run and trains it to max_iters."""

    def __init__(self, config: SegmentConfig, context: DistributedContext) -> None:
        config = with_resolved_precision(config, context.device)  # config.yaml records what ran
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
        self.amp_dtype = autocast_dtype(config.precision, self.device)
        self.iteration = 0
        self.best: dict[str, float] = {}
        if context.is_main:
            print(f"{backbone.description}\nsegmentation: {counted(len(self.classes), 'class')}, {len(train_source)} "
                  f"training and {counted(len(self.val_data), 'validation image')}; effective batch "
                  f"{config.batch_size * config.accum_iter * context.world_size}, lr {config.lr:.3g}, layer decay "
                  f"{config.layer_decay}, {counted(config.max_iters, 'iteration')}")

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, improved: bool) -> None:
        """`checkpoint-last.pth`, and `checkpoint-best.pth` when the validation mIoU improved."""
        payload = checkpoint_payload(self.model, self.backbone.architecture, self.classes, self.backbone.mean,
                                     self.backbone.std)
        bad = first_non_finite(payload["model"])
        if bad is not None:
            raise NonFiniteLossError(f"weights became non-finite ({bad}) by iteration {self.iteration}; lower the lr "
                                     "(the last checkpoint is kept)")
        payload.update({"optimizer": self.optimizer.state_dict(), "iteration": self.iteration, "best": self.best,
                        "config": dataclasses.asdict(self.config), "encoder_digest": self.backbone.digest,
                        "lut_version": __version__})
        save_last_and_best(payload, self.output_dir, improved)

    def restore(self) -> None:
        """Continue from the checkpoint `config.resume` names ("auto": the last one, if any)."""
        required = {"model", "optimizer", "iteration", "classes"}
        found = checkpoint_to_resume(self.output_dir, self.config.resume, required, "a segmentation run")
        if found is None:
            return
        path, payload = found
        theirs = data_identity(str((payload.get("config") or {}).get("data", "")))
        differing = [] if theirs == data_identity(self.config.data) else [
            f"data={theirs!r} there, {data_identity(self.config.data)!r} here"]
        if payload.get("encoder_digest") != self.backbone.digest:
            differing.insert(0, f"encoder {payload.get('encoder_digest')} there, {self.backbone.digest} here")
        if differing:
            raise UsageError(f"{path} holds another run ({'; '.join(differing)}); give another --output for a new run")
        load_weights(self.model, payload["model"], str(path))
        self.optimizer.load_state_dict(payload["optimizer"])
        self.iteration, self.best = payload["iteration"], payload.get("best", {})
        if self.context.is_main:
            truncate_metrics(self.output_dir / METRICS_FILE, self.iteration)
            print(f"resumed from {path} at iteration {self.iteration}")

    # ------------------------------------------------------------------ training
    def loader(self) -> DataLoader:
        """Micro-batches from the current iteration on."""
        sampler = MicroBatches(len(self.train_data), self.config.batch_size, self.config.seed, self.context.rank,
                               self.context.world_size, self.iteration * self.config.accum_iter)
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

    def train_step(self, batches) -> dict[str, float]:
        """One optimiser step of `accum_iter` micro-batches; returns its losses and learning rate."""
        config = self.config
        lr = warmup_poly(self.iteration, config)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group["lr_scale"]
        seed_everything(derive_seed(config.seed, self.iteration, self.context.rank))  # dropout, drop path
        self.trained.train()
        losses = torch.zeros(2, device=self.device)
        for micro in range(config.accum_iter):
            images, labels = next(batches)
            images, labels = images.to(self.device, non_blocking=True), labels.to(self.device)
            last = micro == config.accum_iter - 1
            sync = nullcontext() if last or not self.context.is_distributed else self.trained.no_sync()
            with sync:
                main_loss, aux_loss = self.loss(images, labels)
                loss = main_loss + config.aux_weight * aux_loss
                if not math.isfinite(loss.item()):
                    raise NonFiniteLossError(f"loss became {loss.item()} at iteration {self.iteration + 1}; lower "
                                             "the lr (the last checkpoint is kept)")
                (loss / config.accum_iter).backward()
            losses += torch.stack([main_loss.detach(), aux_loss.detach()]) / config.accum_iter
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.iteration += 1
        main_loss, aux_loss = all_reduce_mean(losses, self.context).tolist()
        return {"loss": main_loss + config.aux_weight * aux_loss, "decode_loss": main_loss, "aux_loss": aux_loss,
                "lr": lr}

    def evaluate(self) -> dict[str, Any]:
        """Validation metrics with the run's inference mode (BatchNorm statistics averaged over CPU ranks first)."""
        if self.device.type != "cuda":
            average_batchnorm_statistics(self.model, self.context)
        config = self.config
        return evaluate_segmenter(self.model, self.val_data, self.classes, self.context, config.eval_mode,
                                  config.crop_size, config.eval_stride, amp_dtype=self.amp_dtype)

    def run(self) -> dict[str, Any]:
        """Train from the start or the resumed iteration to max_iters; returns the summary."""
        self.restore()  # first: a refused resume leaves the folder as it was
        config = self.config
        if self.context.is_main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            save_config(config, self.output_dir / "config.yaml")
        run_log = RunLog(self.output_dir, enabled=self.context.is_main, tag_prefix="segment")
        progress = tqdm(total=config.max_iters, initial=self.iteration, unit="it", disable=not self.context.is_main,
                        dynamic_ncols=True)
        batches = iter(self.loader())
        window: list[dict[str, float]] = []
        last_eval: dict[str, Any] = {}
        try:
            while self.iteration < config.max_iters:
                window.append(self.train_step(batches))
                progress.update(1)
                progress.set_postfix(loss=f"{window[-1]['loss']:.4f}", lr=f"{window[-1]['lr']:.2e}")
                if self.iteration % config.log_every_iters == 0 or self.iteration == config.max_iters:
                    record = {key: sum(r[key] for r in window) / len(window) for key in window[0]}
                    run_log.write({"step": self.iteration, **record, "lr": window[-1]["lr"]})
                    window = []
                if self.iteration % config.eval_every_iters == 0 or self.iteration == config.max_iters:
                    last_eval = self.evaluate()
                    improved = not self.best or last_eval["mIoU"] > self.best["mIoU"]
                    if improved:
                        self.best = {"mIoU": last_eval["mIoU"], "step": self.iteration}
                    run_log.write({"step": self.iteration, **{key: last_eval[key] for key in ("mIoU", "mAcc", "aAcc")}})
                    if self.context.is_main:
                        self.save_checkpoint(improved)
                        progress.write(f"iteration {self.iteration}/{config.max_iters}: mIoU {last_eval['mIoU']:.2f}, "
                                       f"mAcc {last_eval['mAcc']:.2f}, aAcc {last_eval['aAcc']:.2f}")
            wait_for_all(self.context)
        finally:
            progress.close()
            run_log.close()
        return self.summary(last_eval)

    def summary(self, last_eval: dict[str, Any]) -> dict[str, Any]:
        """Final and best mIoU and file locations; the main process writes summary.json and the curves."""
        records = read_metrics(self.output_dir / METRICS_FILE) if self.context.is_main else []
        if not last_eval:
            last_eval = next((r for r in reversed(records) if "mIoU" in r), {})
        summary = {
            "rank": self.context.rank,
            "output_dir": str(self.output_dir),
            "iterations": self.iteration,
            "final": {key: last_eval.get(key) for key in ("mIoU", "mAcc", "aAcc")},
            "final_per_class": last_eval.get("per_class"),
            "best": self.best,
            "checkpoint_last": str(self.output_dir / LAST_CHECKPOINT),
            "checkpoint_best": str(self.output_dir / BEST_CHECKPOINT),
            "curves": str(self.output_dir / "curves.png"),
        }
        if self.context.is_main:
            plot_segmentation_curves(records, self.output_dir / "curves.png")
            (self.output_dir / "summary.json").write_text(json.dumps(summary, indent=2))
        return summary


def train_segmentation(config: SegmentConfig) -> dict[str, Any]:
    """Train the configured run, single process or under torchrun; returns the summary."""
    with distributed_session(config.device) as context:
        return SegmentationRun(config, context).run()
