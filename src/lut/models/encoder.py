"""The ViT encoder used by the student and the teacher (timm blocks, MAE layout and init)."""

from functools import partial

import torch
from timm.layers import PatchEmbed
from timm.models.vision_transformer import Block
from torch import nn
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint

from lut.masking import gather_tokens
from lut.models.patches import patchify
from lut.models.pos_embed import sincos_2d_position_table


class ViTEncoder(nn.Module):
    """A standard pre-norm ViT with a CLS token and a fixed sin-cos position table.

    State-dict keys follow timm's ViT (`cls_token`, `pos_embed`, `patch_embed.proj.*`,
    `blocks.{i}.*`, `norm.*`), so the weights load into timm and the official MAE/LUT code.

    Args:
        img_size: input side in pixels.
        patch_size: patch side in pixels.
        in_chans: input channels.
        embed_dim: token width D.
        depth: number of transformer blocks.
        num_heads: attention heads per block.
        mlp_ratio: MLP hidden width over D.
        activation_checkpointing: recompute each block's activations in the backward pass
            instead of storing them (less memory, about one more forward of compute); only
            while gradients are being recorded. The weights and state dict are unchanged.
    """

    def __init__(
        self,
        img_size: int = 224,
        patch_size: int = 16,
        in_chans: int = 3,
        embed_dim: int = 768,
        depth: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        activation_checkpointing: bool = False,
    ) -> None:
        super().__init__()
        self.activation_checkpointing = activation_checkpointing
        self.embed_dim = embed_dim
        self.patch_size = patch_size
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim)
        self.num_patches = self.patch_embed.num_patches
        self.grid_size = self.patch_embed.grid_size[0]
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.register_buffer("pos_embed", sincos_2d_position_table(embed_dim, self.grid_size))
        norm_layer = partial(nn.LayerNorm, eps=1e-6)
        self.blocks = nn.ModuleList(
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias=True, norm_layer=norm_layer) for _ in range(depth)
        )
        self.norm = norm_layer(embed_dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """MAE initialisation: xavier-uniform Linears and patch projection, zero biases, N(0, 0.02) CLS."""
        projection = self.patch_embed.proj.weight.data
        nn.init.xavier_uniform_(projection.view(projection.shape[0], -1))
        nn.init.normal_(self.cls_token, std=0.02)
        self.apply(init_linear_and_norm)

    def embed_patches(self, images: torch.Tensor, keep_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Patch tokens with their positions, CLS not yet added; only the kept patches when `keep_ids` is given.

        The patch projection (the `patch_embed.proj` convolution's weights) runs as one matrix
        product on the flattened patches: the convolution's numbers, without cuDNN's layout
        conversions, and the student projects only the patches it sees.

        Args:
            images: (B, C, H, W).
            keep_ids: (B, K) indices of the patches to embed, or None for all N.

        Returns:
            (B, N, D) or (B, K, D) patch tokens.
        """
        patches = patchify(images, self.patch_size)  # (B, N, p*p*C)
        positions = self.pos_embed[:, 1:, :]  # (1, N, D)
        if keep_ids is not None:
            patches = gather_tokens(patches, keep_ids)  # (B, K, p*p*C)
            positions = gather_tokens(positions.expand(images.shape[0], -1, -1), keep_ids)  # (B, K, D)
        projection = self.patch_embed.proj
        weight = projection.weight.permute(0, 2, 3, 1).flatten(1)  # (D, p*p*C), the patches' (row, column, channel)
        return F.linear(patches, weight, projection.bias) + positions

    def forward_encoder(self, images: torch.Tensor, keep_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Encode the kept patches (all of them when `keep_ids` is None).

        Args:
            images: (B, C, H, W).
            keep_ids: (B, K) indices of the visible patches, or None for the whole image.

        Returns:
            (B, 1 + K, D) tokens after the final norm, CLS first.
        """
        return self.forward_tokens(self.embed_patches(images, keep_ids))  # from (B, K or N, D)

    def embed_masked(self, images: torch.Tensor, mask: torch.Tensor, mask_token: torch.Tensor) -> torch.Tensor:
        """SimMIM's input: every position kept, masked patch embeddings replaced by `mask_token`, then positions added.

        Args:
            images: (B, C, H, W).
            mask: (B, N), nonzero where a patch is masked.
            mask_token: (1, 1, D) learned token.

        Returns:
            (B, N, D) patch tokens, CLS not yet added.
        """
        positions = self.pos_embed[:, 1:, :]  # (1, N, D)
        return torch.where(mask.bool().unsqueeze(-1), mask_token + positions, self.embed_patches(images))  # (B, N, D)

    def forward_masked(self, images: torch.Tensor, mask: torch.Tensor, mask_token: torch.Tensor) -> torch.Tensor:
        """SimMIM-style encoding of all N positions (see `embed_masked`): (B, C, H, W) -> (B, 1 + N, D), CLS first."""
        return self.forward_tokens(self.embed_masked(images, mask, mask_token))

    def forward_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """CLS, blocks and final norm on embedded patch tokens: (B, K, D) -> (B, 1 + K, D)."""
        tokens = self.prepend_cls(tokens)
        recompute = self.activation_checkpointing and torch.is_grad_enabled()
        for block in self.blocks:
            tokens = checkpoint(block, tokens, use_reentrant=False) if recompute else block(tokens)
        return self.norm(tokens)

    def prepend_cls(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, K, D) patch tokens -> (B, 1 + K, D) with the CLS token (and its position) first."""
        cls = (self.cls_token + self.pos_embed[:, :1, :]).expand(tokens.shape[0], -1, -1)  # (B, 1, D)
        return torch.cat([cls, tokens], dim=1)

    def forward_with_attention(self, images: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Whole-image forward that also returns every block's attention weights (inference only).

        Each block runs through `block_with_attention`, which computes the softmax explicitly in
        float32 from the block's own weights, so the tokens match `forward_features`.

        Args:
            images: (B, C, H, W).

        Returns:
            (B, 1 + N, D) tokens after the final norm, and one (B, heads, 1 + N, 1 + N) float32
            attention tensor per block (rows are queries, CLS first).
        """
        tokens = self.prepend_cls(self.embed_patches(images))  # (B, 1 + N, D)
        attentions = []
        for block in self.blocks:
            tokens, attention = block_with_attention(block, tokens)
            attentions.append(attention)
        return self.norm(tokens), attentions

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        """timm-style features of the whole image: (B, C, H, W) -> (B, 1 + N, D)."""
        return self.forward_encoder(images)

    def forward(self, images: torch.Tensor, keep_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Mean-pooled patch tokens (CLS excluded): (B, C, H, W) -> (B, D)."""
        return self.forward_encoder(images, keep_ids)[:, 1:, :].mean(dim=1)


def block_with_attention(block: Block, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A timm `Block` in eval mode with explicit attention: softmax(q k^T * scale) in float32.

    Fused attention kernels do not return their weights; this path reuses the block's `qkv`,
    `q_norm`, `k_norm`, `norm`, `proj`, layer scales and MLP, and skips dropout and drop-path.

    Args:
        block: a timm ViT block.
        tokens: (B, T, D) block input.

    Returns:
        The (B, T, D) block output and the (B, heads, T, T) float32 attention weights.
    """
    attn = block.attn
    batch, length, _ = tokens.shape
    qkv = attn.qkv(block.norm1(tokens)).reshape(batch, length, 3, attn.num_heads, attn.head_dim)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, heads, T, head_dim)
    q, k = attn.q_norm(q), attn.k_norm(k)
    weights = ((q.float() * attn.scale) @ k.float().transpose(-2, -1)).softmax(dim=-1)  # (B, heads, T, T)
    mixed = (weights.to(v.dtype) @ v).transpose(1, 2).reshape(batch, length, attn.attn_dim)  # (B, T, heads * hd)
    tokens = tokens + block.ls1(attn.proj(attn.norm(mixed)))
    tokens = tokens + block.ls2(block.mlp(block.norm2(tokens)))
    return tokens, weights


def init_linear_and_norm(module: nn.Module) -> None:
    """MAE's per-module init: xavier-uniform Linear weights, zero biases, LayerNorm 1/0."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
