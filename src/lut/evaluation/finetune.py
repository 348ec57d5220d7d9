"""End-to-end fine-tuning with MAE's (and the released LUT code's) protocol on a timm ViT.

The classifier is timm's `VisionTransformer` with global average pooling and `fc_norm`; the
pre-trained encoder's weights fill everything but the classifier (and, by default, `fc_norm`, which
MAE's code starts from ones and zeros while dropping the pre-trained final norm). The classifier
starts from a truncated normal with std 2e-5. AdamW with timm's layer-wise lr decay groups,
RandAugment, mixup/cutmix with label smoothing, random erasing, drop path.
"""

import math
from typing import Any

import torch
from timm.data import Mixup
from timm.layers import trunc_normal_
from timm.loss import LabelSmoothingCrossEntropy, SoftTargetCrossEntropy
from timm.optim import param_groups_layer_decay
from torch import nn

from lut.data.views import EvalTransform
from lut.errors import UsageError
from lut.evaluation.config import FinetuneConfig
from lut.evaluation.features import TransformedDataset
from lut.evaluation.supervised import EvaluationInputs, SupervisedRun, load_inputs, with_inferred_settings
from lut.evaluation.transforms import finetune_train_transform
from lut.interchange import EncoderInfo, create_timm_model, timm_state_dict
from lut.models.encoder import ViTEncoder
from lut.runtime.distributed import DistributedContext
from lut.runtime.seeding import seed_everything
from lut.runtime.session import run_session
from lut.wording import counted


def build_classifier(
    encoder: ViTEncoder,
    info: EncoderInfo,
    num_classes: int,
    drop_path: float = 0.1,
    fc_norm_init: str = "fresh",
    head_init_std: float = 2e-5,
) -> nn.Module:
    """timm ViT (global average pooling + fc_norm) initialised from the pre-trained encoder.

    Args:
        encoder: the pre-trained encoder, already at the fine-tuning input size.
        info: where it came from (its architecture picks the timm model).
        num_classes: C.
        drop_path: stochastic depth rate.
        fc_norm_init: "fresh" (ones and zeros, as MAE's code) or "pretrained" (the encoder's final norm).
        head_init_std: std of the classifier's truncated-normal weights; its bias starts at zero.

    Raises:
        UsageError: when the weights leave other keys than the classifier (and fresh fc_norm) unfilled.
    """
    model = create_timm_model(info, "avg", num_classes=num_classes, drop_path_rate=drop_path)
    state = timm_state_dict(encoder, "avg")
    expected_missing = {"head.weight", "head.bias"}
    if fc_norm_init == "fresh":
        state = {key: value for key, value in state.items() if not key.startswith("fc_norm.")}
        expected_missing |= {"fc_norm.weight", "fc_norm.bias"}
    result = model.load_state_dict(state, strict=False)
    if set(result.missing_keys) != expected_missing or result.unexpected_keys:
        raise UsageError(
            f"the encoder does not fit timm's {info.architecture.describe()}: missing "
            f"{sorted(set(result.missing_keys) - expected_missing)}, unexpected {result.unexpected_keys}"
        )
    trunc_normal_(model.head.weight, std=head_init_std)
    nn.init.zeros_(model.head.bias)
    return model


def finetune_lr(config: FinetuneConfig, effective_batch: int) -> float:
    """Peak learning rate: `lr`, else blr * batch / 256 (linear) or blr * sqrt(batch) / 8 (sqrt)."""
    if config.lr:
        return config.lr
    if config.lr_rule == "sqrt":
        return config.blr * math.sqrt(effective_batch) / 8
    return config.blr * effective_batch / 256


def training_loss(config: FinetuneConfig, num_classes: int) -> tuple[nn.Module, Mixup | None]:
    """The loss and the batch mixing: soft-target CE with mixup/cutmix, else label-smoothed CE.

    Raises:
        UsageError: an odd batch size with mixup or cutmix (timm mixes pairs within a batch).
    """
    if config.mixup > 0 or config.cutmix > 0:
        if config.batch_size % 2:
            raise UsageError(f"mixup/cutmix need an even batch_size, got {config.batch_size}")
        mixup = Mixup(mixup_alpha=config.mixup, cutmix_alpha=config.cutmix, label_smoothing=config.label_smoothing,
                      num_classes=num_classes)
        return SoftTargetCrossEntropy(), mixup
    if config.label_smoothing > 0:
        return LabelSmoothingCrossEntropy(config.label_smoothing), None
    return nn.CrossEntropyLoss(), None


def finetune(config: FinetuneConfig) -> dict[str, Any]:
    """Fine-tune the configured checkpoint on the configured data; single process or under torchrun.

    Returns:
        The summary: final and best top-1/top-5, checkpoint and figure locations.
    """
    with run_session(config) as (config, context):
        seed_everything(config.seed)
        return finetune_run(config, load_inputs(config), context).run()


def evaluation_transform(config: FinetuneConfig, inputs: EvaluationInputs) -> EvalTransform:
    """The evaluation view of fine-tuning: resize, centre crop, the encoder's normalisation."""
    return EvalTransform(inputs.info.architecture.img_size, inputs.mean, inputs.std, config.crop_pct)


def finetune_run(
    config: FinetuneConfig, inputs: EvaluationInputs, context: DistributedContext, class_mean: bool = False
) -> SupervisedRun:
    """The fine-tuning of `inputs.encoder` on `inputs.splits`, ready to `run()` (or resume).

    Args:
        config: the run's settings.
        inputs: the encoder and the labelled data (its `test` split is evaluated after every epoch).
        context: process-group placement.
        class_mean: also report mean per-class accuracy.
    """
    num_classes = len(inputs.splits.classes)
    model = build_classifier(inputs.encoder, inputs.info, num_classes, config.drop_path, config.fc_norm_init,
                             config.head_init_std)
    groups = param_groups_layer_decay(model, config.weight_decay, model.no_weight_decay(),
                                      layer_decay=config.layer_decay)
    optimizer = torch.optim.AdamW(groups, lr=0.0, betas=(config.adam_beta1, config.adam_beta2))
    effective_batch = config.batch_size * config.accum_iter * context.world_size
    peak_lr = finetune_lr(config, effective_batch)
    if context.is_main:
        print(f"{inputs.info.report()}\nfine-tuning: {num_classes} classes, effective batch {effective_batch}, "
              f"lr {peak_lr:.3g} ({config.lr_rule} rule), layer decay {config.layer_decay}, "
              f"{counted(config.epochs, 'epoch')}")
    size = inputs.info.architecture.img_size
    train = TransformedDataset(inputs.splits.train, finetune_train_transform(
        size, config.crop_scale_min, config.auto_augment, config.reprob, inputs.mean, inputs.std))
    test = TransformedDataset(inputs.splits.test, evaluation_transform(config, inputs))
    loss_fn, mixup = training_loss(config, num_classes)
    return SupervisedRun(model, optimizer, train, test, loss_fn, with_inferred_settings(config, inputs), context,
                         peak_lr, inputs.info.digest,
                         batch_transform=mixup, classes=inputs.splits.classes, class_mean=class_mean)
