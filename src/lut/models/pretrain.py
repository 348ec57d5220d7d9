"""The pre-training model (student) of LUT and of the MAE baseline, and LUT's EMA teacher."""

import copy
from dataclasses import dataclass

import torch
from torch import nn

from lut.masking import gather_tokens, keep_ids_to_mask
from lut.models.decoder import MAEDecoder
from lut.models.encoder import ViTEncoder
from lut.models.flat_keys import flatten_state_dict_keys


@dataclass
class StudentOutput:
    """What one student forward produces.

    Attributes:
        reconstruction: (B, N, p*p*C) pixel predictions for view 1 (MAE decoder or SimMIM head).
        prediction1: (B, D) predictor output for view 1 (None for MAE).
        prediction2: (B, D) predictor output for view 2 (None for MAE and for one view).
        token_prediction1: (B, K, D) per-token predictor outputs of view 1's visible tokens,
            only when the readout asks for them (token-wise supervision).
        token_prediction2: (B, K, D) the same for view 2.
    """

    reconstruction: torch.Tensor
    prediction1: torch.Tensor | None = None
    prediction2: torch.Tensor | None = None
    token_prediction1: torch.Tensor | None = None
    token_prediction2: torch.Tensor | None = None


@dataclass(frozen=True)
class StudentReadout:
    """Which student features feed the BC loss (the paper's Table 4 switches); defaults = released code.

    Attributes:
        context_token: "pooled": mean of the visible patch tokens (CLS excluded); "cls": the CLS token.
        bc_tokens: "unmasked": pool the encoder's visible tokens only; "all": pool over all N
            positions, the masked ones represented by the decoder's mask-token outputs mapped
            back to the encoder width (see `PretrainModel.context_features`).
        pooled: compute `prediction1/2` from the context feature.
        tokenwise: compute `token_prediction1/2`, heads applied to every visible token.
        use_predictor: False skips the predictor (student heads = teacher heads).
    """

    context_token: str = "pooled"
    bc_tokens: str = "unmasked"
    pooled: bool = True
    tokenwise: bool = False
    use_predictor: bool = True


class PretrainModel(nn.Module):
    """Encoder + MAE decoder (or SimMIM's head), plus LUT's projector and predictor when `head` is given.

    The encoder's parameters sit at the top level of the state dict (`cls_token`,
    `blocks.*`, ...) like the released MAE/LUT models, so the student's state dict loads
    directly into their fine-tuning code and into timm.

    SimMIM-style variant (`simmim_head` given, no decoder): the encoder sees all N positions,
    the masked ones as the learned `mask_token` (keys `mask_token`, `simmim_head.*`), a linear
    head predicts every patch's pixels, and the BC loss pools the visible positions of that pass.

    Args:
        encoder: the ViT encoder.
        decoder: the MAE decoder (None for the SimMIM-style variant).
        head: the projector (None for the MAE baseline).
        predictor: the predictor (None for the MAE baseline).
        method: "lut" or "mae".
        simmim_head: Linear(D, p*p*C) pixel head of the SimMIM-style variant, instead of `decoder`.
    """

    def __init__(
        self,
        encoder: ViTEncoder,
        decoder: MAEDecoder | None,
        head: nn.Module | None = None,
        predictor: nn.Module | None = None,
        method: str = "lut",
        simmim_head: nn.Linear | None = None,
    ) -> None:
        super().__init__()
        if (decoder is None) == (simmim_head is None):
            raise ValueError("give either the MAE decoder or the SimMIM head")
        self.method = method
        self.encoder = encoder
        self.decoder = decoder
        self.head = head
        self.predictor = predictor
        self.simmim_head = simmim_head
        # Owned here, not by the encoder, so the teacher (a copy of the encoder) has none.
        self.mask_token = None if simmim_head is None else nn.Parameter(torch.randn(1, 1, encoder.embed_dim) * 0.02)
        flatten_state_dict_keys(self, ("encoder",) if decoder is None else ("encoder", "decoder"))

    @property
    def patch_size(self) -> int:
        return self.encoder.patch_size

    @property
    def num_patches(self) -> int:
        return self.encoder.num_patches

    def forward(
        self,
        view1: torch.Tensor,
        keep_ids1: torch.Tensor,
        view2: torch.Tensor | None = None,
        keep_ids2: torch.Tensor | None = None,
        readout: StudentReadout = StudentReadout(),
    ) -> StudentOutput:
        """Run the student on the visible patches of one (MAE, or LUT with `views: single`) or two views.

        Both views go through the encoder as one batch; the heads see each view on its own,
        so their BatchNorm statistics stay per view. The SimMIM-style variant encodes all
        positions (see `forward_simmim`) and reads the visible ones.

        Args:
            view1: (B, C, H, W) first view; the decoder (or SimMIM head) reconstructs it.
            keep_ids1: (B, K) visible patches of view 1.
            view2: (B, C, H, W) second view (LUT with two student views only).
            keep_ids2: (B, K) visible patches of view 2, disjoint from `keep_ids1`.
            readout: which features the BC loss needs (ignored for MAE).
        """
        if self.head is None:
            return StudentOutput(self.reconstruct(view1, keep_ids1))
        batch = view1.shape[0]
        if view2 is None:
            images, keep_ids = view1, keep_ids1
        else:
            images, keep_ids = torch.cat([view1, view2]), torch.cat([keep_ids1, keep_ids2])
        hidden = None
        if self.simmim_head is not None:
            encoded, reconstruction = self.forward_simmim(images, keep_ids, batch)  # (VB, 1 + K, D), (B, N, p*p*C)
        else:
            encoded = self.encoder.forward_encoder(images, keep_ids)  # (VB, 1 + K, D), V views
            if readout.bc_tokens == "all":
                hidden = self.decoder.forward_hidden(encoded, keep_ids)  # (VB, 1 + N, Dd): every view decoded
                reconstruction = self.decoder.predict(hidden[:batch])
            else:
                reconstruction = self.decoder(encoded[:batch], keep_ids1)  # (B, N, p*p*C)
        output = StudentOutput(reconstruction)
        if readout.pooled:
            features = self.context_features(encoded, keep_ids, hidden, readout.context_token)  # (VB, D)
            predictions = [self.predict(feature, readout.use_predictor) for feature in features.split(batch)]
            output.prediction1, output.prediction2 = (predictions + [None])[:2]
        if readout.tokenwise:
            tokens = [self.predict_tokens(view_tokens, readout.use_predictor)
                      for view_tokens in encoded[:, 1:, :].split(batch)]
            output.token_prediction1, output.token_prediction2 = (tokens + [None])[:2]
        return output

    def reconstruct(self, images: torch.Tensor, keep_ids: torch.Tensor) -> torch.Tensor:
        """Pixel predictions of every patch from the (B, K) visible ones: (B, C, H, W) -> (B, N, p*p*C)."""
        if self.simmim_head is not None:
            return self.forward_simmim(images, keep_ids, images.shape[0])[1]
        return self.decoder(self.encoder.forward_encoder(images, keep_ids), keep_ids)

    def forward_simmim(
        self, images: torch.Tensor, keep_ids: torch.Tensor, batch: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One SimMIM-style encoder pass over all N positions, the masked ones as the mask token.

        Args:
            images: (VB, C, H, W), V views stacked.
            keep_ids: (VB, K) visible positions.
            batch: B, how many leading images get pixel predictions (view 1).

        Returns:
            The CLS and the visible positions' output tokens (VB, 1 + K, D), in `keep_ids` order as
            the MAE encoder returns them, and the linear head's (B, N, p*p*C) pixel predictions.
        """
        masked = keep_ids_to_mask(keep_ids, self.num_patches)  # (VB, N), 1 = masked
        encoded = self.encoder.forward_masked(images, masked, self.mask_token)  # (VB, 1 + N, D)
        patches = encoded[:, 1:, :]
        visible = gather_tokens(patches, keep_ids)  # (VB, K, D)
        return torch.cat([encoded[:, :1, :], visible], dim=1), self.simmim_head(patches[:batch])

    def predict(self, features: torch.Tensor, use_predictor: bool = True) -> torch.Tensor:
        """Projector then predictor (or the projector alone): (B, D) -> (B, D)."""
        projected = self.head(features)
        return self.predictor(projected) if use_predictor else projected

    def predict_tokens(self, tokens: torch.Tensor, use_predictor: bool = True) -> torch.Tensor:
        """The heads on every token, all tokens of the view as one BatchNorm batch: (B, K, D) -> (B, K, D)."""
        batch, count, width = tokens.shape
        return self.predict(tokens.reshape(batch * count, width), use_predictor).reshape(batch, count, -1)

    def context_features(
        self, encoded: torch.Tensor, keep_ids: torch.Tensor, hidden: torch.Tensor | None, context_token: str
    ) -> torch.Tensor:
        """The student's context feature per sample, before the heads: (VB, D).

        - `context_token="cls"`: the encoder's CLS token.
        - pooled, `hidden` None (steered tokens = unmasked only, the method): mean of the
          visible patch tokens.
        - pooled with `hidden` (steered tokens = unmasked + masked, Table 4a): the mean over
          all N positions, where visible positions contribute their encoder tokens and masked
          positions contribute the decoder's final-norm mask-token outputs mapped back to the
          encoder width with the transpose of the decoder's input embedding
          (`h @ decoder_embed.weight`, tied, no new parameters). The encoder never sees mask
          tokens in MAE, so the decoder's mask tokens are the only "masked tokens" there are;
          steering them sends BC gradients through the decoder's mask token and blocks.

        Args:
            encoded: (VB, 1 + K, D) encoder output, CLS first.
            keep_ids: (VB, K) visible positions.
            hidden: (VB, 1 + N, Dd) decoder final-norm tokens, or None.
            context_token: "pooled" or "cls".
        """
        if context_token == "cls":
            return encoded[:, 0, :]
        if hidden is None:
            return encoded[:, 1:, :].mean(dim=1)
        num_patches = hidden.shape[1] - 1
        masked = keep_ids_to_mask(keep_ids, num_patches).to(hidden.dtype).unsqueeze(-1)  # (VB, N, 1)
        unembedded = hidden[:, 1:, :] @ self.decoder.decoder_embed.weight.to(hidden.dtype)  # (VB, N, D)
        return (encoded[:, 1:, :].sum(dim=1) + (unembedded * masked).sum(dim=1)) / num_patches


class Teacher(nn.Module):
    """LUT's momentum encoder: a frozen copy of the student's encoder and projector.

    It always runs in eval mode (the projector's BatchNorm uses its averaged statistics) and
    never needs gradients. Its state dict has the student's key names for the parts it holds.
    """

    def __init__(self, encoder: ViTEncoder, head: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        flatten_state_dict_keys(self, ("encoder",))
        self.requires_grad_(False)
        self.eval()

    @classmethod
    def from_student(cls, student: PretrainModel) -> "Teacher":
        """An exact copy of the student's encoder and projector."""
        return cls(copy.deepcopy(student.encoder), copy.deepcopy(student.head))

    def train(self, mode: bool = True) -> "Teacher":
        """Stays in eval mode whatever the caller asks."""
        return super().train(False)

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Projected mean of all patch tokens of the whole image: (B, C, H, W) -> (B, D)."""
        return self.head(self.encoder(images))

    @torch.no_grad()
    def targets(
        self,
        images: torch.Tensor,
        keep_ids: torch.Tensor | None = None,
        context_token: str = "pooled",
        token_ids: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Projected context of (a masked or the whole) image, and optionally projected tokens.

        Args:
            images: (B, C, H, W).
            keep_ids: (B, Kt) patches the teacher sees (target masking); None: all of them.
            context_token: "pooled" (mean of the seen patch tokens) or "cls".
            token_ids: (B, K) positions whose projected tokens are wanted (token-wise
                supervision; needs `keep_ids` None so every position exists).

        Returns:
            (B, D) projected context and (B, K, D) projected tokens (None without `token_ids`).
        """
        encoded = self.encoder.forward_encoder(images, keep_ids)  # (B, 1 + Kt, D)
        context = encoded[:, 0, :] if context_token == "cls" else encoded[:, 1:, :].mean(dim=1)
        if token_ids is None:
            return self.head(context), None
        patches = encoded[:, 1:, :]
        batch, count, width = token_ids.shape[0], token_ids.shape[1], patches.shape[-1]
        tokens = gather_tokens(patches, token_ids)  # (B, K, D)
        return self.head(context), self.head(tokens.reshape(batch * count, width)).reshape(batch, count, -1)
