"""Small encoders and checkpoints in every layout the importer reads."""

import argparse

import pytest
import torch

from lut.models.encoder import ViTEncoder


def tiny_encoder(seed: int, img_size: int = 16, depth: int = 2) -> ViTEncoder:
    """A ViT-Ti-width encoder (D 192, 3 heads) with patch 4, randomised beyond MAE's init."""
    torch.manual_seed(seed)
    encoder = ViTEncoder(img_size, 4, 3, 192, depth, 3)
    with torch.no_grad():
        for name, parameter in encoder.named_parameters():
            if "norm" in name or name.endswith("bias"):
                parameter.add_(0.1 * torch.randn_like(parameter))  # non-trivial norms and biases
    return encoder.eval()


def pretraining_extras(prefix: str = "") -> dict[str, torch.Tensor]:
    """Decoder, mask token, projector and predictor keys as the pre-training model has them."""
    return {
        f"{prefix}mask_token": torch.zeros(1, 1, 8),
        f"{prefix}decoder_embed.weight": torch.zeros(8, 192),
        f"{prefix}decoder_pos_embed": torch.zeros(1, 17, 8),
        f"{prefix}decoder_blocks.0.norm1.weight": torch.ones(8),
        f"{prefix}decoder_pred.weight": torch.zeros(48, 8),
        f"{prefix}head.0.weight": torch.zeros(16, 192),
        f"{prefix}head.1.running_mean": torch.zeros(16),
        f"{prefix}head.3.weight": torch.zeros(192, 16),
        f"{prefix}predictor.0.weight": torch.zeros(16, 192),
        f"{prefix}predictor.3.weight": torch.zeros(192, 16),
    }


@pytest.fixture
def make_encoder():
    """`tiny_encoder` for tests that need further encoders."""
    return tiny_encoder


@pytest.fixture
def extras():
    """`pretraining_extras` for tests that check which keys were set aside."""
    return pretraining_extras


@pytest.fixture
def student() -> ViTEncoder:
    return tiny_encoder(0)


@pytest.fixture
def teacher() -> ViTEncoder:
    return tiny_encoder(1)


@pytest.fixture
def lut_checkpoint(tmp_path, student, teacher):
    """Our pre-training layout: flat student under `model`, flat teacher (+ projector) under `model_ema`."""
    teacher_state = {**teacher.state_dict(), **{k: v for k, v in pretraining_extras().items() if k.startswith("head.")}}
    payload = {
        "model": {**student.state_dict(), **pretraining_extras()},
        "model_ema": teacher_state,
        "step": 10,
        "config": {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
        "lut_version": "0.1.0",
    }
    path = tmp_path / "lut.pth"
    torch.save(payload, path)
    return path


@pytest.fixture
def official_lut_checkpoint(tmp_path, student, teacher):
    """The authors' layout: the teacher is a full model copy whose keys carry `ema.`; args is a Namespace."""
    teacher_state = {f"ema.{key}": value for key, value in teacher.state_dict().items()}
    payload = {
        "model": {**student.state_dict(), **pretraining_extras()},
        "model_ema": {**teacher_state, **pretraining_extras("ema.")},
        "optimizer": {},
        "epoch": 399,
        "args": argparse.Namespace(model="lut_vit_base_patch16", blr=1.5e-4),
    }
    path = tmp_path / "official_lut.pth"
    torch.save(payload, path)
    return path
