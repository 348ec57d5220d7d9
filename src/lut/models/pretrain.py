"""The pre-training model (student) of LUT and of the MAE baseline, and LUT's EMA teacher."""

import copy
from dataclasses import dataclass

import torch
from torch import nn

from lut.models.decoder import MAEDecoder
from lut.models.encoder import ViTEncoder
from lut.models.flat_keys import flatten_state_dict_keys


@dataclass
class StudentOutput:
    """What one student forward produces.

    Attributes:
        reconstruction: (B, N, p*p*C) decoder predictions for view 1.
        prediction1: (B, D) predictor output for view 1 (None for MAE).
        prediction2: (B, D) predictor output for view 2 (None for MAE).
    """

    reconstruction: torch.Tensor
    prediction1: torch.Tensor | None = None
    prediction2: torch.Tensor | None = None


class PretrainModel(nn.Module):
    """Encoder + MAE decoder, plus LUT's projector and predictor when `head` is given.

    The encoder's parameters sit at the top level of the state dict (`cls_token`,
    `blocks.*`, ...) like the released MAE/LUT models, so the student's state dict loads
    directly into their fine-tuning code and into timm.

    Args:
        encoder: the ViT encoder.
        decoder: the MAE decoder.
        head: the projector (None for the MAE baseline).
        predictor: the predictor (None for the MAE baseline).
        method: "lut" or "mae".
    """

    def __init__(
        self,
        encoder: ViTEncoder,
        decoder: MAEDecoder,
        head: nn.Module | None = None,
        predictor: nn.Module | None = None,
        method: str = "lut",
    ) -> None:
        super().__init__()
        self.method = method
        self.encoder = encoder
        self.decoder = decoder
        self.head = head
        self.predictor = predictor
        flatten_state_dict_keys(self, ("encoder", "decoder"))

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
    ) -> StudentOutput:
        """Run the student on the visible patches of one (MAE) or two (LUT) views.

        Both views go through the encoder as one batch; the heads see each view on its own,
        so their BatchNorm statistics stay per view.

        Args:
            view1: (B, C, H, W) first view; the decoder reconstructs it.
            keep_ids1: (B, K) visible patches of view 1.
            view2: (B, C, H, W) second view (LUT only).
            keep_ids2: (B, K) visible patches of view 2, disjoint from `keep_ids1`.
        """
        if self.head is None:
            encoded = self.encoder.forward_encoder(view1, keep_ids1)  # (B, 1 + K, D)
            return StudentOutput(self.decoder(encoded, keep_ids1))
        batch = view1.shape[0]
        encoded = self.encoder.forward_encoder(
            torch.cat([view1, view2]), torch.cat([keep_ids1, keep_ids2])
        )  # (2B, 1 + K, D)
        reconstruction = self.decoder(encoded[:batch], keep_ids1)  # (B, N, p*p*C)
        pooled1, pooled2 = encoded[:, 1:, :].mean(dim=1).split(batch)  # (B, D) each
        return StudentOutput(
            reconstruction,
            self.predictor(self.head(pooled1)),
            self.predictor(self.head(pooled2)),
        )


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
