"""MAE's light-weight decoder ("dec512d8b")."""

from functools import partial

import torch
from timm.models.vision_transformer import Block
from torch import nn

from lut.models.encoder import init_linear_and_norm
from lut.models.pos_embed import sincos_2d_position_table


class MAEDecoder(nn.Module):
    """Fills the masked positions with a learned token and predicts every patch's pixels.

    Keys (`mask_token`, `decoder_pos_embed`, `decoder_embed.*`, `decoder_blocks.{i}.*`,
    `decoder_norm.*`, `decoder_pred.*`) match MAE's, as this module's parameters sit at the
    top level of the pre-training model's state dict.

    Args:
        num_patches: N, patches per image (a square grid).
        patch_size: patch side p in pixels.
        in_chans: image channels.
        encoder_dim: width D of the encoder tokens.
        embed_dim: decoder width.
        depth: decoder blocks.
        num_heads: decoder attention heads.
        mlp_ratio: MLP hidden width over the decoder width.
    """

    def __init__(
        self,
        num_patches: int,
        patch_size: int,
        in_chans: int = 3,
        encoder_dim: int = 768,
        embed_dim: int = 512,
        depth: int = 8,
        num_heads: int = 16,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__()
        grid_size = int(round(num_patches**0.5))
        self.decoder_embed = nn.Linear(encoder_dim, embed_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.register_buffer("decoder_pos_embed", sincos_2d_position_table(embed_dim, grid_size))
        norm_layer = partial(nn.LayerNorm, eps=1e-6)
        self.decoder_blocks = nn.ModuleList(
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias=True, norm_layer=norm_layer) for _ in range(depth)
        )
        self.decoder_norm = norm_layer(embed_dim)
        self.decoder_pred = nn.Linear(embed_dim, patch_size**2 * in_chans)
        nn.init.normal_(self.mask_token, std=0.02)
        self.apply(init_linear_and_norm)

    def forward(self, encoded: torch.Tensor, keep_ids: torch.Tensor) -> torch.Tensor:
        """Predict all patches from the encoded visible ones.

        Args:
            encoded: (B, 1 + K, D) encoder output, CLS first.
            keep_ids: (B, K) grid positions of the encoded patch tokens.

        Returns:
            (B, N, p*p*C) pixel predictions in patchified order.
        """
        return self.predict(self.forward_hidden(encoded, keep_ids))

    def predict(self, hidden: torch.Tensor) -> torch.Tensor:
        """Pixels from `forward_hidden`'s output: (B, 1 + N, Dd) -> (B, N, p*p*C), CLS dropped."""
        return self.decoder_pred(hidden)[:, 1:, :]

    def forward_hidden(self, encoded: torch.Tensor, keep_ids: torch.Tensor) -> torch.Tensor:
        """The decoder's final-norm tokens, CLS first: (B, 1 + K, D) -> (B, 1 + N, Dd).

        Masked positions hold what the learned mask token became after the decoder blocks.
        """
        tokens = self.decoder_embed(encoded)  # (B, 1 + K, Dd)
        batch, _, width = tokens.shape
        num_patches = self.decoder_pos_embed.shape[1] - 1
        grid = self.mask_token.expand(batch, num_patches, width).to(tokens.dtype)
        grid = grid.scatter(1, keep_ids.unsqueeze(-1).expand(-1, -1, width), tokens[:, 1:, :])  # (B, N, Dd)
        tokens = torch.cat([tokens[:, :1, :], grid], dim=1) + self.decoder_pos_embed
        for block in self.decoder_blocks:
            tokens = block(tokens)
        return self.decoder_norm(tokens)
