"""Encoder architectures: named presets, inference from a state dict, and the matching timm model."""

import re
from dataclasses import dataclass

from lut.errors import UsageError
from lut.models.encoder import ViTEncoder
from lut.models.factory import ENCODER_SIZES

# The number of heads cannot be read off the weights (qkv is (3D, D) for any split); it follows the width.
HEADS_BY_WIDTH = {size.embed_dim: size.num_heads for size in ENCODER_SIZES.values()}
ARCH_PATTERN = re.compile(r"^(?:(?:lut|mae)_)?vit_(?P<size>[a-z]+)(?:_patch(?P<patch>\d+))?(?:_\d+)?$")


@dataclass(frozen=True)
class EncoderArchitecture:
    """Everything needed to build a ViT encoder that a state dict fits.

    Attributes:
        embed_dim: token width D.
        depth: transformer blocks.
        num_heads: attention heads per block.
        patch_size: patch side in pixels.
        img_size: input side in pixels (sets the length of the position table).
        in_chans: input channels.
        mlp_ratio: MLP hidden width over D.
    """

    embed_dim: int
    depth: int
    num_heads: int
    patch_size: int
    img_size: int
    in_chans: int = 3
    mlp_ratio: float = 4.0

    @property
    def size_name(self) -> str | None:
        """"tiny", "small", "base", "large" or "huge" when width, depth and heads match a preset."""
        for name, size in ENCODER_SIZES.items():
            if (size.embed_dim, size.depth, size.num_heads) == (self.embed_dim, self.depth, self.num_heads):
                return name
        return None

    @property
    def name(self) -> str:
        """The name `architecture_from_name` reads back as this architecture ("vit_base_patch16"); "" when no name
        says it (another depth, MLP ratio or channel count than a preset's)."""
        if self.size_name is None or self.mlp_ratio != 4.0 or self.in_chans != 3:
            return ""
        return f"vit_{self.size_name}_patch{self.patch_size}"

    def check_patch_size(self, patch_size: int) -> None:
        """Refuse a `patch_size` setting other than 0 (the encoder's) or the encoder's own.

        Raises:
            UsageError: naming both patch sizes.
        """
        if patch_size and patch_size != self.patch_size:
            raise UsageError(f"patch_size {patch_size}: the encoder's patches are {self.patch_size} px, which its "
                             "weights fix; leave patch_size at 0")

    def build_encoder(self) -> ViTEncoder:
        """A freshly initialised encoder of this architecture."""
        return ViTEncoder(
            self.img_size, self.patch_size, self.in_chans, self.embed_dim, self.depth, self.num_heads, self.mlp_ratio
        )

    def timm_model(self) -> tuple[str, dict]:
        """The timm model name and the keyword arguments that make it this architecture.

        The name is the timm preset of the same width (ViT-B's for other widths); width, depth,
        heads and MLP ratio are passed explicitly where they differ from that preset.
        """
        size = next((name for name, spec in ENCODER_SIZES.items() if spec.embed_dim == self.embed_dim), "base")
        preset = ENCODER_SIZES[size]
        arguments: dict = {"img_size": self.img_size, "patch_size": self.patch_size, "in_chans": self.in_chans}
        for key, value, preset_value in (("embed_dim", self.embed_dim, preset.embed_dim),
                                         ("depth", self.depth, preset.depth),
                                         ("num_heads", self.num_heads, preset.num_heads),
                                         ("mlp_ratio", self.mlp_ratio, 4.0)):
            if value != preset_value:
                arguments[key] = value
        return f"vit_{size}_patch{preset.patch_size}_224", arguments

    def describe(self) -> str:
        """E.g. "ViT-base/16 at 224 px (D 768, depth 12, 12 heads)"."""
        name = self.size_name or "custom"
        return (
            f"ViT-{name}/{self.patch_size} at {self.img_size} px "
            f"(D {self.embed_dim}, depth {self.depth}, {self.num_heads} heads)"
        )


def architecture_from_name(name: str, img_size: int = 224) -> EncoderArchitecture:
    """Parse `vit_base`, `vit_base_patch16`, `lut_vit_tiny_patch4` or `vit_large_patch16_224`.

    Args:
        name: architecture name; the patch size defaults to the preset's.
        img_size: input side in pixels.

    Raises:
        UsageError: for a name that is not of that form.
    """
    match = ARCH_PATTERN.match(name)
    if match is None or match["size"] not in ENCODER_SIZES:
        raise UsageError(
            f"unknown architecture {name!r}; use vit_{{{','.join(ENCODER_SIZES)}}}[_patchP], e.g. vit_base_patch16"
        )
    size = ENCODER_SIZES[match["size"]]
    patch = int(match["patch"]) if match["patch"] else size.patch_size
    return EncoderArchitecture(size.embed_dim, size.depth, size.num_heads, patch, img_size)


def infer_architecture(state: dict) -> EncoderArchitecture:
    """Read width, depth, patch size, channels, MLP ratio and input size off encoder weights.

    Args:
        state: encoder state dict with our (timm's) key names.

    Raises:
        UsageError: when a key needed for the inference is missing or the width has no known head count.
    """
    needed = ("patch_embed.proj.weight", "pos_embed", "blocks.0.mlp.fc1.weight")
    absent = [key for key in needed if key not in state]
    if absent:
        raise UsageError(f"cannot infer the architecture: no {', '.join(absent)} in the weights; pass an architecture")
    projection = state["patch_embed.proj.weight"]  # (D, C, p, p)
    embed_dim, in_chans, patch_size = projection.shape[0], projection.shape[1], projection.shape[-1]
    depth = 1 + max(int(key.split(".")[1]) for key in state if key.startswith("blocks."))
    if embed_dim not in HEADS_BY_WIDTH:
        raise UsageError(f"cannot infer the number of heads for width {embed_dim}; pass an architecture")
    num_patches = state["pos_embed"].shape[1] - 1  # one row for CLS
    grid = round(num_patches**0.5)
    if grid * grid != num_patches:
        raise UsageError(f"pos_embed has {num_patches} patch rows, not a square grid")
    mlp_ratio = state["blocks.0.mlp.fc1.weight"].shape[0] / embed_dim
    return EncoderArchitecture(
        embed_dim, depth, HEADS_BY_WIDTH[embed_dim], patch_size, grid * patch_size, in_chans, mlp_ratio
    )
