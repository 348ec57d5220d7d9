"""Covariance spectrum against closed forms."""

import math

import pytest
import torch

from lut.analysis.spectrum import CovarianceSpectrum, covariance_eigenvalues, effective_rank, layer_features
from lut.models.encoder import ViTEncoder


def test_known_singular_values_give_s_squared_over_n_minus_1():
    generator = torch.Generator().manual_seed(0)
    n, d = 50, 6
    left, _ = torch.linalg.qr(torch.randn(n, d, generator=generator, dtype=torch.float64))
    left = left - left.mean(dim=0)  # centred columns ...
    left, _ = torch.linalg.qr(left)  # ... that stay orthonormal
    right, _ = torch.linalg.qr(torch.randn(d, d, generator=generator, dtype=torch.float64))
    singular = torch.tensor([9.0, 5.0, 3.0, 2.0, 1.0, 0.5], dtype=torch.float64)
    data = left @ torch.diag(singular) @ right.T  # (n, d), centred, singular values `singular`
    covariance = data.T @ data / (n - 1)
    assert torch.allclose(covariance_eigenvalues(covariance), singular**2 / (n - 1), atol=1e-10)


def test_trace_of_normalised_features():
    generator = torch.Generator().manual_seed(1)
    features = torch.randn(40, 8, generator=generator) + 0.5
    spectrum = CovarianceSpectrum(8)
    for chunk in features.split(7):  # streaming over uneven batches
        spectrum.update(chunk)
    m = 40
    mean_norm = spectrum.mean().square().sum().item()
    eigenvalues = spectrum.eigenvalues()
    assert eigenvalues.dtype == torch.float64
    assert bool((eigenvalues[:-1] >= eigenvalues[1:]).all())
    # unbiased covariance (1 / (M - 1)): trace = M / (M - 1) * (1 - ||mean||^2); biased: 1 - ||mean||^2
    assert eigenvalues.sum().item() == pytest.approx(m / (m - 1) * (1 - mean_norm), abs=1e-10)
    assert eigenvalues.sum().item() * (m - 1) / m == pytest.approx(1 - mean_norm, abs=1e-10)


def test_effective_rank():
    assert effective_rank(torch.ones(10, dtype=torch.float64)) == pytest.approx(10.0)
    assert effective_rank(torch.tensor([1.0, 0.0, 0.0])) == pytest.approx(1.0)
    assert effective_rank(torch.tensor([1.0, 1.0, 0.0, 0.0])) == pytest.approx(2.0)
    assert 1.0 < effective_rank(torch.tensor([3.0, 1.0])) < 2.0
    assert effective_rank(torch.tensor([0.5, 0.5])) == pytest.approx(math.exp(math.log(2)))


def test_layer_features_shapes():
    encoder = ViTEncoder(img_size=16, patch_size=4, embed_dim=24, depth=2, num_heads=2).eval()
    images = torch.randn(3, 3, 16, 16)
    assert [f.shape for f in layer_features(encoder, images, "mean")] == [(3, 24)] * 2
    assert [f.shape for f in layer_features(encoder, images, "cls")] == [(3, 24)] * 2
    assert [f.shape for f in layer_features(encoder, images, "tokens")] == [(48, 24)] * 2
    assert not encoder.blocks[0]._forward_hooks
