"""The models of a pre-training run: the student (plain, DDP or FSDP), its EMA teacher, AdamW and the loss scaler."""

import dataclasses
import logging

import torch
from timm.optim import param_groups_weight_decay
from torch.distributed.fsdp.sharded_grad_scaler import ShardedGradScaler

from lut.config import PretrainConfig
from lut.errors import UsageError
from lut.masking import checked_visible_patches
from lut.models import PretrainModel, Teacher, create_model
from lut.runtime.compiling import compile_forward
from lut.runtime.distributed import DistributedContext, ddp_syncing_buffers_once
from lut.runtime.precision import autocast_dtype
from lut.training.lut_step import LossSettings
from lut.training.sharding import broadcast_from_rank0, check_fsdp_torch, shard_models
from lut.training.teacher import EMAUpdater

log = logging.getLogger("lut")


def build_student(config: PretrainConfig) -> PretrainModel:
    """The pre-training model the config describes."""
    return create_model(
        config.model,
        img_size=config.img_size,
        patch_size=config.patch_size or None,
        encoder_depth=config.encoder_depth or None,
        decoder_embed_dim=config.decoder_embed_dim,
        decoder_depth=config.decoder_depth,
        decoder_num_heads=config.decoder_num_heads,
        head_hidden_dim=config.head_hidden_dim,
        head_depth=config.head_depth,
        head_norm=config.head_norm,
        head_activation=config.head_activation,
        activation_checkpointing=config.activation_checkpointing,
        mim=config.mim,
    )


@dataclasses.dataclass
class PretrainModels:
    """The student, what the optimiser step runs (the student or its DDP wrapper) and the EMA teacher (LUT)."""

    student: PretrainModel
    trained: torch.nn.Module
    teacher: Teacher | None
    ema: EMAUpdater | None
    fsdp: bool  # student and teacher sharded with FSDP2
    sync_batchnorm: bool  # head BatchNorms synchronised by SyncBatchNorm (GPUs), else averaged after each step
    amp_dtype: torch.dtype | None


def build_pretrain_models(config: PretrainConfig, context: DistributedContext) -> PretrainModels:
    """Student and teacher on `context.device`, every process starting from the main process's weights."""
    device = context.device
    student = build_student(config).to(device)
    sync_batchnorm = context.is_distributed and device.type == "cuda"
    if sync_batchnorm:
        student = torch.nn.SyncBatchNorm.convert_sync_batchnorm(student)
    if config.method == "lut" and config.symmetric_heads:
        # The predictor goes unused: frozen, DDP, FSDP and AdamW leave it out (no unused-parameter search).
        student.predictor.requires_grad_(False)
    fsdp = config.parallel == "fsdp" and context.is_distributed
    if fsdp:
        check_fsdp_torch()
    if config.parallel == "fsdp" and not context.is_distributed:
        log.warning("parallel=fsdp shards over the processes of torchrun; one process trains unsharded")
    trained: torch.nn.Module = student
    if fsdp:
        broadcast_from_rank0(student)
    elif context.is_distributed:
        trained = ddp_syncing_buffers_once(student, device)
    # Created after rank 0's weights were broadcast, so every rank's teacher is the same.
    teacher = Teacher.from_student(student) if config.method == "lut" else None
    amp_dtype = autocast_dtype(config.precision)
    if fsdp:
        shard_models(student, teacher, device, compute_dtype=amp_dtype if amp_dtype == torch.bfloat16 else None)
    ema = EMAUpdater(teacher, student) if teacher is not None else None
    if config.compile:
        compile_forward(trained, config.compile_mode)
        if teacher is not None:
            compile_forward(teacher, config.compile_mode)
    return PretrainModels(student, trained, teacher, ema, fsdp, sync_batchnorm, amp_dtype)


def build_optimizer(config: PretrainConfig, models: PretrainModels,
                    device: torch.device) -> tuple[torch.optim.AdamW, torch.amp.GradScaler]:
    """AdamW over the student (no weight decay on biases and norms) and the fp16 loss scaler (off otherwise)."""
    # The fused kernel rejects ShardedGradScaler's found-inf tensor (shape (1,)): FSDP with fp16 runs foreach AdamW.
    sharded_fp16 = models.fsdp and models.amp_dtype == torch.float16
    optimizer = torch.optim.AdamW(
        param_groups_weight_decay(models.student, config.weight_decay),
        lr=0.0,
        betas=(config.adam_beta1, config.adam_beta2),
        fused=device.type == "cuda" and not sharded_fp16,
    )
    # Under FSDP each rank sees only its gradient shards: ShardedGradScaler agrees on inf/NaN across ranks.
    scaler_type = ShardedGradScaler if models.fsdp else torch.amp.GradScaler
    return optimizer, scaler_type(device.type, enabled=models.amp_dtype == torch.float16)


def build_loss_settings(config: PretrainConfig, student: PretrainModel) -> LossSettings:
    """The LUT/MAE loss switches of the config, after checking the mask ratio leaves each view a patch."""
    student_views = 2 if config.method == "lut" and config.views == "cross" else 1
    try:
        checked_visible_patches(student.num_patches, config.mask_ratio, student_views)
    except ValueError as error:
        raise UsageError(str(error)) from None
    return LossSettings(
        student.patch_size, student.num_patches, config.mask_ratio, config.norm_pix_loss,
        config.mae_loss_weight, config.bc_loss_weight,
        bc_tokens=config.bc_tokens, context_token=config.context_token, supervision=config.supervision,
        bc_loss=config.bc_loss, bc_temperature=config.bc_temperature,
        target_mask_ratio=config.target_mask_ratio, views=config.views, symmetric_heads=config.symmetric_heads,
        mim=config.mim,
    )
