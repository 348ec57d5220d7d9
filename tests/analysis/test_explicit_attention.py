"""The explicit-attention forward reproduces the fused one."""

import torch

from lut.models.encoder import ViTEncoder


def test_forward_with_attention_matches_forward_features():
    torch.manual_seed(0)
    encoder = ViTEncoder(img_size=32, patch_size=8, embed_dim=48, depth=3, num_heads=3).eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        fused = encoder.forward_features(images)
        tokens, attentions = encoder.forward_with_attention(images)
    assert torch.allclose(tokens, fused, atol=1e-5, rtol=0)
    assert len(attentions) == 3
    for attention in attentions:
        assert attention.shape == (2, 3, 17, 17) and attention.dtype == torch.float32
        assert torch.allclose(attention.sum(dim=-1), torch.ones(2, 3, 17), atol=1e-6)
