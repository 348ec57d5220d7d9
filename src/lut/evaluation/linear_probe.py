"""Linear probing with MAE's protocol: frozen encoder, BatchNorm (no affine) + Linear per pooling, LARS.

The CLS and mean-pooled features are probed side by side: one forward of the frozen encoder
feeds two independent heads (separate parameters, so their LARS steps do not interact).
"""

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from lut.data.views import EvalTransform
from lut.errors import UsageError
from lut.evaluation.config import LinprobeConfig
from lut.evaluation.features import TransformedDataset
from lut.evaluation.lars import create_lars
from lut.evaluation.logistic_regression import feature_probe
from lut.evaluation.supervised import SupervisedRun, load_inputs, with_inferred_settings
from lut.evaluation.transforms import probe_train_transform
from lut.models.encoder import ViTEncoder
from lut.models.pooling import POOLS, pool_tokens
from lut.models.probe import probe_head
from lut.runtime.seeding import seed_everything
from lut.runtime.session import run_session
from lut.wording import counted


class LinearProbe(nn.Module):
    """A frozen encoder (always in eval mode, no gradients) with one linear head per pooling.

    Args:
        encoder: the pre-trained encoder.
        num_classes: C.
        pools: poolings probed, any of "cls" and "mean".
    """

    def __init__(self, encoder: ViTEncoder, num_classes: int, pools: Sequence[str] = POOLS) -> None:
        super().__init__()
        self.encoder = encoder.requires_grad_(False)
        self.heads = nn.ModuleDict({pool: probe_head(encoder.embed_dim, num_classes) for pool in pools})

    def train(self, mode: bool = True) -> "LinearProbe":
        """Heads follow `mode`; the encoder stays in eval mode."""
        super().train(mode)
        self.encoder.eval()
        return self

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, C, H, W) -> {pool: (B, num_classes) logits}."""
        with torch.no_grad():
            tokens = self.encoder.forward_features(images)  # (B, 1 + N, D)
        return {pool: head(pool_tokens(tokens, pool).float()) for pool, head in self.heads.items()}


def linear_probe(config: LinprobeConfig) -> dict[str, Any]:
    """Run the linear probe the config describes (`mode=features`: logistic regression on cached features).

    Works as a single process or under torchrun.

    Returns:
        The summary: final and best top-1/top-5 per pooling, output locations.
    """
    unknown = sorted(set(config.pools) - set(POOLS))
    if unknown or not config.pools:
        raise UsageError(f"pools must be among {', '.join(POOLS)}, got {config.pools}")
    if config.mode == "features":
        return feature_probe(config)
    with run_session(config) as (config, context):
        seed_everything(config.seed)
        inputs = load_inputs(config)
        probe = LinearProbe(inputs.encoder, len(inputs.splits.classes), config.pools)
        effective_batch = config.batch_size * config.accum_iter * context.world_size
        peak_lr = config.lr or config.blr * effective_batch / 256
        if context.is_main:
            print(f"{inputs.info.report()}\nlinear probe ({', '.join(config.pools)}): effective batch "
                  f"{effective_batch}, lr {peak_lr:.3g}, LARS, {counted(config.epochs, 'epoch')}")
        size = inputs.info.architecture.img_size
        train = TransformedDataset(inputs.splits.train,
                                   probe_train_transform(size, config.crop_scale_min, inputs.mean, inputs.std))
        test = TransformedDataset(inputs.splits.test, EvalTransform(size, inputs.mean, inputs.std, config.crop_pct))
        optimizer = create_lars(probe.heads, weight_decay=config.weight_decay, momentum=config.momentum,
                                trust_coefficient=config.trust_coefficient)
        run = SupervisedRun(probe, optimizer, train, test, nn.CrossEntropyLoss(),
                            with_inferred_settings(config, inputs), context, peak_lr,
                            inputs.info.digest, saved=probe.heads, classes=inputs.splits.classes)
        return run.run()
