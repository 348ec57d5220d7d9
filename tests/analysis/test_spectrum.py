"""Covariance spectrum against closed forms."""

import math

import pytest
import torch
from torch.nn import functional as F

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
    # unbiased covariance (1 / (M - 1)): trace = M / (M - 1) * (1 - ||mean||^2)
    assert eigenvalues.sum().item() == pytest.approx(m / (m - 1) * (1 - mean_norm), abs=1e-10)


def test_streamed_covariance_equals_torch_cov_of_the_normalised_features():
    generator = torch.Generator().manual_seed(2)
    features = torch.randn(40, 8, generator=generator) @ torch.randn(8, 8, generator=generator)  # correlated
    spectrum = CovarianceSpectrum(8)
    for chunk in features.split(7):
        spectrum.update(chunk)
    expected = torch.cov(F.normalize(features.double(), dim=-1).T)  # (8, 8), unbiased
    torch.testing.assert_close(spectrum.covariance(), expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(spectrum.eigenvalues(), torch.linalg.eigvalsh(expected).flip(0), rtol=0, atol=1e-12)


def test_effective_rank():
    assert effective_rank(torch.ones(10, dtype=torch.float64)) == pytest.approx(10.0)
    assert effective_rank(torch.tensor([1.0, 0.0, 0.0])) == pytest.approx(1.0)
    assert effective_rank(torch.tensor([1.0, 1.0, 0.0, 0.0])) == pytest.approx(2.0)
    # exp(-(0.75 ln 0.75 + 0.25 ln 0.25)); the participation ratio 1 / sum(p^2) would give 1.6
    assert effective_rank(torch.tensor([3.0, 1.0])) == pytest.approx(1.7547653506, abs=1e-9)
    assert effective_rank(torch.tensor([0.5, 0.5])) == pytest.approx(math.exp(math.log(2)))


def test_layer_features_shapes():
    encoder = ViTEncoder(img_size=16, patch_size=4, embed_dim=24, depth=2, num_heads=2).eval()
    images = torch.randn(3, 3, 16, 16)
    assert [f.shape for f in layer_features(encoder, images, "mean")] == [(3, 24)] * 2
    assert [f.shape for f in layer_features(encoder, images, "cls")] == [(3, 24)] * 2
    assert [f.shape for f in layer_features(encoder, images, "tokens")] == [(48, 24)] * 2
    assert not encoder.blocks[0]._forward_hooks


def test_layer_features_are_the_block_outputs_before_the_final_norm():
    torch.manual_seed(0)
    encoder = ViTEncoder(img_size=16, patch_size=4, embed_dim=24, depth=2, num_heads=2).eval()
    images = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        tokens = encoder.prepend_cls(encoder.embed_patches(images))  # (3, 17, 24)
        outputs = []
        for block in encoder.blocks:
            tokens = block(tokens)
            outputs.append(tokens)
    cls, mean, every = (layer_features(encoder, images, pool) for pool in ("cls", "mean", "tokens"))
    for layer, output in enumerate(outputs):
        torch.testing.assert_close(cls[layer], output[:, 0], rtol=0, atol=0)
        torch.testing.assert_close(mean[layer], output[:, 1:].mean(dim=1), rtol=0, atol=0)
        torch.testing.assert_close(every[layer], output[:, 1:].reshape(48, 24), rtol=0, atol=0)
