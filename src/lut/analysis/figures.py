"""Figures of the analyses (matplotlib, Agg backend); every function writes one PNG."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

DPI = 100


def to_pixels(images: torch.Tensor, mean: list[float], std: list[float]) -> np.ndarray:
    """(B, C, H, W) normalised images -> (B, H, W, C) floats in [0, 1]."""
    mean_t = torch.tensor(mean).view(1, -1, 1, 1)
    std_t = torch.tensor(std).view(1, -1, 1, 1)
    return (images.detach().cpu().float() * std_t + mean_t).clamp(0, 1).permute(0, 2, 3, 1).numpy()


def save(figure: plt.Figure, path: Path) -> None:
    """Write and close a figure."""
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)


def save_distance_figure(distances: dict[str, np.ndarray], unit: str, uniform: dict[str, float], title: str,
                         path: Path) -> None:
    """One dot per head and layer, a line through the head means, one colour per model (Fig. 4a).

    Args:
        distances: label -> (depth, heads) mean attention distances in `unit`.
        unit: "px", "grid" or "normalised" (axis label).
        uniform: label -> the distance of uniform attention at that model's grid, drawn as a dashed reference:
            one grey line when every model shares it, else one per model in its colour.
        title: figure title.
        path: PNG to write.
    """
    figure, axis = plt.subplots(figsize=(7, 4))
    offsets = np.linspace(-0.15, 0.15, len(distances)) if len(distances) > 1 else [0.0]
    shared_reference = len(set(uniform.values())) == 1
    for (label, values), offset in zip(distances.items(), offsets):
        layers = np.arange(1, values.shape[0] + 1)
        line = axis.plot(layers + offset, values.mean(axis=1), alpha=0.6, label=label)[0]
        for head in range(values.shape[1]):
            axis.scatter(layers + offset, values[:, head], s=14, color=line.get_color())
        if not shared_reference:
            axis.axhline(uniform[label], color=line.get_color(), linestyle="--", linewidth=1,
                         label=f"uniform attention, {label}")
    if shared_reference:
        axis.axhline(next(iter(uniform.values())), color="grey", linestyle="--", linewidth=1,
                     label="uniform attention")
    axis.set_xlabel("layer")
    axis.set_ylabel(f"mean attention distance ({unit})")
    axis.set_xticks(np.arange(1, next(iter(distances.values())).shape[0] + 1))
    axis.set_title(title, fontsize=10)
    axis.legend(fontsize=8)
    save(figure, path)


def save_spectrum_figure(spectra: dict[str, list[np.ndarray]], title: str, path: Path) -> None:
    """Log eigenvalues per layer, one panel per layer and one line per model.

    Args:
        spectra: label -> one (D,) descending eigenvalue array per layer.
        title: figure title.
        path: PNG to write.
    """
    depth = len(next(iter(spectra.values())))
    columns = min(depth, 4)
    rows = -(-depth // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3 * columns, 2.4 * rows), squeeze=False, sharey=True)
    for layer in range(rows * columns):
        axis = axes.flat[layer]
        if layer >= depth:
            axis.axis("off")
            continue
        for label, values in spectra.items():
            axis.plot(np.log10(np.maximum(values[layer], 1e-12)), label=label)
        axis.set_title(f"layer {layer + 1}", fontsize=9)
        axis.set_xlabel("rank", fontsize=8)
    for axis in axes[:, 0]:
        axis.set_ylabel("log10 eigenvalue", fontsize=8)
    axes.flat[0].legend(fontsize=7)
    figure.suptitle(title, fontsize=10)
    save(figure, path)


def save_spectrum_difference_figure(differences: list[np.ndarray], title: str, path: Path) -> None:
    """Per-layer difference of log10 eigenvalues between two models, one line per layer (Fig. 4b).

    Args:
        differences: one (D,) array per layer, log10(first model) - log10(second model).
        title: figure title (names the two models).
        path: PNG to write.
    """
    figure, axis = plt.subplots(figsize=(7, 4))
    colours = plt.cm.viridis(np.linspace(0, 1, len(differences)))
    for layer, (values, colour) in enumerate(zip(differences, colours)):
        axis.plot(values, color=colour, label=f"layer {layer + 1}")
    axis.axhline(0.0, color="grey", linewidth=1)
    axis.set_xlabel("rank")
    axis.set_ylabel("difference of log10 eigenvalues")
    axis.set_title(title, fontsize=10)
    axis.legend(fontsize=7, ncol=2)
    save(figure, path)


def save_attention_maps_figure(
    rows: list[dict], pixels: np.ndarray, patch_size: int, title: str, path: Path
) -> None:
    """One row per (image, query, model): the image with the query outlined, the head mean, then each head.

    Args:
        rows: dicts with "image" (index into `pixels`), "query" (row, col), "label" and "maps"
            ((heads, grid, grid) array).
        pixels: (B, H, W, 3) images in [0, 1].
        patch_size: patch side in pixels (to outline the query).
        title: figure title.
        path: PNG to write.
    """
    heads = max(row["maps"].shape[0] for row in rows)
    figure, axes = plt.subplots(len(rows), heads + 2, figsize=(1.6 * (heads + 2), 1.7 * len(rows)), squeeze=False)
    for axes_row, row in zip(axes, rows):
        image = pixels[row["image"]]
        side = image.shape[0]
        query_row, query_col = row["query"]
        panels = [("input", None), ("head mean", row["maps"].mean(axis=0))]
        panels += [(f"head {head + 1}", row["maps"][head]) for head in range(row["maps"].shape[0])]
        for axis in axes_row:
            axis.axis("off")
        for axis, (name, heat) in zip(axes_row, panels):
            axis.imshow(image, extent=(0, side, side, 0))
            if heat is not None:
                axis.imshow(heat, cmap="inferno", alpha=0.65, extent=(0, side, side, 0), interpolation="nearest")
            axis.add_patch(Rectangle((query_col * patch_size, query_row * patch_size), patch_size, patch_size,
                                     fill=False, edgecolor="cyan", linewidth=1.5))
            axis.set_title(name, fontsize=7)
        axes_row[0].set_title(f"{row['label']}\nquery ({query_row}, {query_col})", fontsize=7)
    figure.suptitle(title, fontsize=9)
    save(figure, path)


def save_gradcam_figure(pixels: np.ndarray, maps: dict[str, np.ndarray], captions: dict[str, list[str]],
                        path: Path) -> None:
    """Images in the first row, then one row of Grad-CAM overlays per classifier.

    Args:
        pixels: (B, H, W, 3) images in [0, 1].
        maps: label -> (B, H, W) heat maps in [0, 1].
        captions: label -> one caption per image (the explained class).
        path: PNG to write.
    """
    count = pixels.shape[0]
    figure, axes = plt.subplots(1 + len(maps), count, figsize=(1.6 * count, 1.8 * (1 + len(maps))), squeeze=False)
    for index in range(count):
        axes[0, index].imshow(pixels[index])
        for row, (label, heat) in enumerate(maps.items(), start=1):
            axes[row, index].imshow(pixels[index])
            axes[row, index].imshow(heat[index], cmap="jet", alpha=0.5)
            axes[row, index].set_title(captions[label][index], fontsize=7)
    for row, label in enumerate(["input", *maps]):
        axes[row, 0].set_ylabel(label, fontsize=8)
        for axis in axes[row]:
            axis.set_xticks([])
            axis.set_yticks([])
    save(figure, path)
