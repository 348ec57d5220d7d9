"""UperNet on a plain ViT, as mmseg's MAE/BEiT ADE20K configs build it, in plain PyTorch.

backbone (timm ViT, features of four blocks as maps, CLS dropped) -> `Feature2Pyramid` (4x, 2x, 1x,
0.5x) -> `UperHead` (pyramid pooling on the coarsest level + FPN, fused) and an auxiliary `FCNHead`
on the third level. Logits come at a quarter of the input side and are resized bilinearly to it.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import timm
import torch
from torch import nn
from torch.nn import functional as F

from lut.errors import UsageError
from lut.interchange import EncoderArchitecture, timm_state_dict
from lut.models.encoder import ViTEncoder


def conv_norm_act(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    """mmcv's ConvModule: bias-free convolution (same padding), BatchNorm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def resize(maps: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Bilinear resize of (B, C, h, w) maps to `size` (align_corners=False, as mmseg)."""
    return F.interpolate(maps, size=tuple(size), mode="bilinear", align_corners=False)


class Feature2Pyramid(nn.Module):
    """mmseg's neck for plain ViTs: four same-width maps at 1/p of the input -> 4x, 2x, 1x, 0.5x of it.

    Args:
        embed_dim: D, the width of the maps (kept).
        rescales: the scale of each output level; 4, 2, 1 and 0.5 are supported.
    """

    def __init__(self, embed_dim: int, rescales: Sequence[float] = (4, 2, 1, 0.5)) -> None:
        super().__init__()
        levels = {
            4: lambda: nn.Sequential(
                nn.ConvTranspose2d(embed_dim, embed_dim, 2, 2), nn.BatchNorm2d(embed_dim), nn.GELU(),
                nn.ConvTranspose2d(embed_dim, embed_dim, 2, 2),
            ),
            2: lambda: nn.ConvTranspose2d(embed_dim, embed_dim, 2, 2),
            1: nn.Identity,
            0.5: lambda: nn.MaxPool2d(2, 2),
        }
        unknown = [scale for scale in rescales if scale not in levels]
        if unknown:
            raise UsageError(f"Feature2Pyramid rescales {unknown} are not among {sorted(levels)}")
        self.levels = nn.ModuleList(levels[scale]() for scale in rescales)

    def forward(self, features: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Four (B, D, h, w) maps -> (B, D, h * s, w * s) for each level's scale s."""
        if len(features) != len(self.levels):
            raise ValueError(f"expected {len(self.levels)} feature maps, got {len(features)}")
        return [level(feature) for level, feature in zip(self.levels, features)]


class PyramidPooling(nn.Module):
    """PSPNet's pooling module: average-pool to each scale, 1x1 conv, upsample back; concatenated with the input."""

    def __init__(self, in_channels: int, channels: int, pool_scales: Sequence[int]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(scale), conv_norm_act(in_channels, channels, 1)) for scale in pool_scales
        )

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        """(B, C_in, h, w) -> (B, C_in + len(scales) * channels, h, w)."""
        return torch.cat([maps, *(resize(branch(maps), maps.shape[-2:]) for branch in self.branches)], dim=1)


class UperHead(nn.Module):
    """UPerNet's decoder: PPM on the coarsest level, top-down FPN, all levels fused at the finest.

    Args:
        in_channels: width of each input level (finest first).
        channels: the head's width.
        num_classes: C.
        pool_scales: PPM output sizes.
        dropout: Dropout2d before the classifier.
    """

    def __init__(self, in_channels: Sequence[int], channels: int, num_classes: int,
                 pool_scales: Sequence[int] = (1, 2, 3, 6), dropout: float = 0.1) -> None:
        super().__init__()
        self.pyramid_pooling = PyramidPooling(in_channels[-1], channels, pool_scales)
        self.bottleneck = conv_norm_act(in_channels[-1] + len(pool_scales) * channels, channels, 3)
        self.lateral_convs = nn.ModuleList(conv_norm_act(width, channels, 1) for width in in_channels[:-1])
        self.fpn_convs = nn.ModuleList(conv_norm_act(channels, channels, 3) for _ in in_channels[:-1])
        self.fpn_bottleneck = conv_norm_act(len(in_channels) * channels, channels, 3)
        self.dropout = nn.Dropout2d(dropout)
        self.classifier = nn.Conv2d(channels, num_classes, 1)

    def forward(self, levels: Sequence[torch.Tensor]) -> torch.Tensor:
        """Levels (B, C_i, h_i, w_i), finest first -> (B, num_classes, h_0, w_0) logits."""
        laterals = [conv(level) for conv, level in zip(self.lateral_convs, levels)]
        laterals.append(self.bottleneck(self.pyramid_pooling(levels[-1])))
        for index in range(len(laterals) - 1, 0, -1):  # top-down: add each coarser level to the finer one
            laterals[index - 1] = laterals[index - 1] + resize(laterals[index], laterals[index - 1].shape[-2:])
        outputs = [conv(lateral) for conv, lateral in zip(self.fpn_convs, laterals[:-1])] + [laterals[-1]]
        size = outputs[0].shape[-2:]
        fused = self.fpn_bottleneck(torch.cat([outputs[0], *(resize(out, size) for out in outputs[1:])], dim=1))
        return self.classifier(self.dropout(fused))


class FCNHead(nn.Module):
    """The auxiliary head: one 3x3 ConvModule, dropout, 1x1 classifier on a single level."""

    def __init__(self, in_channels: int, channels: int, num_classes: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.conv = conv_norm_act(in_channels, channels, 3)
        self.dropout = nn.Dropout2d(dropout)
        self.classifier = nn.Conv2d(channels, num_classes, 1)

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        """(B, C_in, h, w) -> (B, num_classes, h, w)."""
        return self.classifier(self.dropout(self.conv(maps)))


@dataclass(frozen=True)
class SegmenterShape:
    """What builds a segmentation network (stored in its checkpoints).

    Attributes:
        num_classes: C.
        out_indices: 0-based blocks whose outputs feed the pyramid (finest level first).
        channels: UperHead width.
        aux_channels: FCN head width (0: no auxiliary head).
        aux_index: pyramid level the auxiliary head reads.
        pool_scales: PPM sizes.
        dropout: Dropout2d of both heads.
    """

    num_classes: int
    out_indices: tuple[int, ...] = (3, 5, 7, 11)
    channels: int = 768
    aux_channels: int = 256
    aux_index: int = 2
    pool_scales: tuple[int, ...] = (1, 2, 3, 6)
    dropout: float = 0.1


class Segmenter(nn.Module):
    """ViT backbone + Feature2Pyramid + UperHead (+ FCN auxiliary head in training).

    Args:
        backbone: a timm VisionTransformer (dynamic image size), blocks after the last used one pruned.
        shape: the heads' settings.
    """

    def __init__(self, backbone: nn.Module, shape: SegmenterShape) -> None:
        super().__init__()
        width = backbone.embed_dim
        self.shape = shape
        self.backbone = backbone
        self.patch_size = backbone.patch_embed.patch_size[0]
        self.neck = Feature2Pyramid(width)
        self.decode_head = UperHead([width] * 4, shape.channels, shape.num_classes, shape.pool_scales, shape.dropout)
        self.auxiliary_head = (FCNHead(width, shape.aux_channels, shape.num_classes, shape.dropout)
                               if shape.aux_channels else None)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, 3, H, W) -> main and auxiliary (B, C, H, W) logits (auxiliary None in eval mode or without one).

        Inputs whose sides are not multiples of the patch size are zero-padded at the bottom and right, and the
        logits cropped back.
        """
        height, width = images.shape[-2:]
        pad_h, pad_w = -height % self.patch_size, -width % self.patch_size
        padded = F.pad(images, (0, pad_w, 0, pad_h)) if pad_h or pad_w else images
        features = self.backbone.forward_intermediates(
            padded, indices=list(self.shape.out_indices), norm=False, output_fmt="NCHW", intermediates_only=True
        )  # 4 x (B, D, H/p, W/p)
        levels = self.neck(features)  # (B, D, 4H/p, 4W/p) ... (B, D, H/2p, W/2p)
        size = padded.shape[-2:]
        main = resize(self.decode_head(levels), size)[..., :height, :width]
        if self.auxiliary_head is None or not self.training:
            return main, None
        return main, resize(self.auxiliary_head(levels[self.shape.aux_index]), size)[..., :height, :width]

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, C, H, W) logits of the main head."""
        return self(images)[0]


def build_backbone(architecture: EncoderArchitecture, out_indices: Sequence[int], drop_path: float) -> nn.Module:
    """The timm ViT of the architecture without final norm or classifier, blocks after the last index pruned.

    Raises:
        UsageError: out_indices outside the encoder's blocks or not increasing.
    """
    if list(out_indices) != sorted(set(out_indices)) or len(out_indices) != 4:
        raise UsageError(f"out_indices must be 4 increasing block indices, got {list(out_indices)}")
    if out_indices[0] < 0 or out_indices[-1] >= architecture.depth:
        raise UsageError(f"out_indices {list(out_indices)} are outside the encoder's {architecture.depth} blocks "
                         f"(0..{architecture.depth - 1})")
    name, arguments = architecture.timm_model()
    return timm.create_model(name, pretrained=False, num_classes=0, global_pool="token", dynamic_img_size=True,
                             drop_path_rate=drop_path, **arguments)


def build_segmenter(architecture: EncoderArchitecture, shape: SegmenterShape, drop_path: float = 0.1,
                    encoder: ViTEncoder | None = None) -> Segmenter:
    """The segmentation network, its backbone filled from `encoder` when given (else random).

    The encoder's final norm is not used: the pyramid reads block outputs before it, as mmseg's MAE backbone.

    Raises:
        UsageError: bad out_indices, or encoder weights that leave backbone keys unfilled.
    """
    backbone = build_backbone(architecture, shape.out_indices, drop_path)
    if encoder is not None:
        state = timm_state_dict(encoder, "token")
        result = backbone.load_state_dict(state, strict=False)
        if result.missing_keys or set(result.unexpected_keys) - {"norm.weight", "norm.bias"}:
            raise UsageError(f"the encoder does not fit timm's {architecture.describe()}: missing "
                             f"{result.missing_keys}, unexpected {result.unexpected_keys}")
    backbone.prune_intermediate_layers(list(shape.out_indices), prune_norm=True, prune_head=True)
    return Segmenter(backbone, shape)
