"""Grad-CAM finds the one patch a synthetic logit depends on."""

import torch
from torch import nn

from lut.analysis.gradcam import grad_cam, vit_reshape_transform


class OnePatchClassifier(nn.Module):
    """Patch embedding, then a LayerNorm (`norm1`, the Grad-CAM target) and logits that read one patch only.

    The normalised tokens all have the same norm, so the Grad-CAM map <A(p), A(q)> peaks at q = p.
    """

    def __init__(self, patch: int, watched: int) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 16, patch, patch)
        self.norm1 = nn.LayerNorm(16, elementwise_affine=False)
        self.watched = watched

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(images).flatten(2).transpose(1, 2)  # (B, N, 16)
        tokens = torch.cat([torch.zeros_like(tokens[:, :1]), tokens], dim=1)  # (B, 1 + N, 16)
        watched = self.norm1(tokens)[:, 1 + self.watched]  # (B, 16)
        score = watched.square().sum(dim=-1, keepdim=True)  # (B, 1)
        return torch.cat([score, -score], dim=-1)  # (B, 2)


def test_reshape_transform_drops_cls_and_keeps_orientation():
    tokens = torch.arange(5).float().view(1, 5, 1).expand(1, 5, 2)  # (1, 1 + 4, 2), token t holds the value t
    maps = vit_reshape_transform(tokens, grid=2)  # (1, 2, 2, 2)
    assert maps.shape == (1, 2, 2, 2)
    assert maps[0, 0].tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_gradcam_peaks_at_the_watched_patch():
    torch.manual_seed(0)
    grid, patch, watched = 4, 4, 6  # row 1, column 2
    model = OnePatchClassifier(patch, watched).eval()
    images = torch.randn(2, 3, grid * patch, grid * patch)
    maps, classes = grad_cam(model, model.norm1, grid, images, classes=[0, 0])
    assert classes == [0, 0] and maps.shape == (2, grid * patch, grid * patch)
    for heat in maps:
        row, col = divmod(int(heat.argmax()), grid * patch)
        assert (row // patch, col // patch) == divmod(watched, grid)
