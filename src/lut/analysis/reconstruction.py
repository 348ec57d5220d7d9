"""Masked inputs and their reconstructions, as a figure."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from lut.masking import gather_tokens, keep_ids_to_mask  # noqa: E402
from lut.models.patches import patchify, unpatchify  # noqa: E402
from lut.models.pretrain import PretrainModel  # noqa: E402


@torch.no_grad()
def reconstruct(
    model: PretrainModel, images: torch.Tensor, keep_ids: torch.Tensor, norm_pix_loss: bool
) -> dict[str, torch.Tensor]:
    """Predict every patch from the visible ones (MAE decoder or SimMIM head) and rebuild the images.

    A model trained with `norm_pix_loss` predicts each patch standardised by its own
    statistics, which the model cannot know for hidden patches. Such predictions are
    mapped back with the mean and standard deviation of the *visible* patches of the same
    image, so the figure uses no information the model did not see.

    Args:
        model: the pre-training model.
        images: (B, C, H, W) normalised images.
        keep_ids: (B, K) visible patches.
        norm_pix_loss: whether the model was trained on standardised patches.

    Returns:
        Images (B, C, H, W) in the normalised space: "masked" (hidden patches zeroed),
        "reconstruction" (all predicted patches) and "pasted" (visible patches from the input).
    """
    model.eval()
    patch_size = model.patch_size
    channels = images.shape[1]
    prediction = model.reconstruct(images, keep_ids).float()  # (B, N, p*p*C)
    patches = patchify(images, patch_size)  # (B, N, p*p*C)
    hidden = keep_ids_to_mask(keep_ids, patches.shape[1]).unsqueeze(-1)  # (B, N, 1)
    if norm_pix_loss:
        visible_patches = gather_tokens(patches, keep_ids)
        mean = visible_patches.mean(dim=-1, keepdim=True).mean(dim=1, keepdim=True)  # (B, 1, 1)
        std = visible_patches.var(dim=-1, keepdim=True).add(1e-6).sqrt().mean(dim=1, keepdim=True)  # (B, 1, 1)
        prediction = prediction * std + mean
    return {
        "masked": unpatchify(patches * (1 - hidden), patch_size, channels),
        "reconstruction": unpatchify(prediction, patch_size, channels),
        "pasted": unpatchify(patches * (1 - hidden) + prediction * hidden, patch_size, channels),
    }


def save_reconstruction_figure(
    images: torch.Tensor,
    results: dict[str, torch.Tensor],
    mean: list[float],
    std: list[float],
    path: Path,
    norm_pix_loss: bool,
) -> None:
    """One row per image: original, masked input, reconstruction, reconstruction with visible patches.

    Args:
        images: (B, C, H, W) normalised originals.
        results: output of `reconstruct`.
        mean: normalisation mean per channel.
        std: normalisation std per channel.
        path: PNG to write.
        norm_pix_loss: whether the predictions were rescaled (said in the title).
    """
    mean_t = torch.tensor(mean).view(1, -1, 1, 1)
    std_t = torch.tensor(std).view(1, -1, 1, 1)
    columns = {"original": images, **results}
    rows = images.shape[0]
    figure, axes = plt.subplots(rows, len(columns), figsize=(2 * len(columns), 2 * rows), squeeze=False)
    for column, (title, batch) in enumerate(columns.items()):
        pixels = (batch.cpu().float() * std_t + mean_t).clamp(0, 1).permute(0, 2, 3, 1)  # (B, H, W, C)
        for row in range(rows):
            axes[row, column].imshow(pixels[row].numpy())
            axes[row, column].axis("off")
        axes[0, column].set_title(title)
    if norm_pix_loss:
        figure.suptitle("norm-pix predictions rescaled with the visible patches' mean and std", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
