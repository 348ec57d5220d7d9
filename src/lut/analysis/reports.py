"""Each `lut analyze` sub-command: compute over the chosen images, write a PNG and a JSON of the numbers."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lut.analysis.attention_maps import query_attention_maps, random_queries
from lut.analysis.distance import attention_distance, uniform_attention_distance, unit_scale
from lut.analysis.figures import (
    save_attention_maps_figure,
    save_distance_figure,
    save_gradcam_figure,
    save_spectrum_difference_figure,
    save_spectrum_figure,
    to_pixels,
)
from lut.analysis.gradcam import cam_layer, grad_cam
from lut.analysis.images import analysis_classes, analysis_images
from lut.analysis.models import LabelledEncoder, checkpoint_labels, load_pretrain_model
from lut.analysis.reconstruction import reconstruct, save_reconstruction_figure
from lut.analysis.spectrum import CovarianceSpectrum, effective_rank, layer_features
from lut.errors import UsageError
from lut.interchange.classifier import ClassifierInfo, load_classifier
from lut.masking import keep_ids_to_mask, num_visible_patches, sample_keep_ids
from lut.models.patches import patchify
from lut.paths import DATA_ROOT
from lut.runtime.files import write_json
from lut.wording import counted


@dataclass(frozen=True)
class ImageSource:
    """Which images an analysis uses (see `lut.analysis.images.analysis_images`).

    Attributes:
        data: "skimage" or a data set name or folder.
        num_images: how many (0: the source's default).
        split: data set split.
        data_root: where downloadable data sets live.
        batch_size: images per forward.
    """

    data: str = "skimage"
    num_images: int = 0
    split: str = "test"
    data_root: str = DATA_ROOT
    batch_size: int = 64

    def load(self, size: int, mean: list[float], std: list[float]) -> tuple[torch.Tensor, list[str]]:
        """(B, 3, size, size) normalised images and their names."""
        return analysis_images(self.data, size, mean, std, self.num_images, self.split, self.data_root)

    def true_classes(self) -> list[str] | None:
        """The true class name of each image, when the images come from a labelled data set (else None)."""
        return analysis_classes(self.data, self.num_images, self.split, self.data_root)

    def describe(self, names: list[str]) -> dict:
        """The image set as JSON."""
        return {"data": self.data, "split": self.split, "count": len(names), "names": names}


def model_images(model: LabelledEncoder, source: ImageSource) -> tuple[torch.Tensor, list[str]]:
    """The images at the encoder's input size, normalised as it was pre-trained."""
    return source.load(model.info.architecture.img_size, *model.info.normalisation())


def model_record(model: LabelledEncoder) -> dict:
    """Label, checkpoint and architecture of one encoder for the JSON."""
    return {"label": model.label, "checkpoint": model.info.path, "weights": model.info.weights,
            "encoder": model.info.architecture.describe()}


@torch.no_grad()
def attention_distance_report(models: list[LabelledEncoder], source: ImageSource, unit: str, renormalise: bool,
                              output: Path) -> dict:
    """Mean attention distance per layer and head (eq. 4), averaged over images and query patches."""
    distances, records, names = {}, [], []
    for model in models:
        images, names = model_images(model, source)
        grid, patch = model.encoder.grid_size, model.encoder.patch_size
        total = torch.zeros(len(model.encoder.blocks), model.encoder.blocks[0].attn.num_heads, dtype=torch.float64)
        for batch in images.split(source.batch_size):
            _, attentions = model.encoder.forward_with_attention(batch)
            total += torch.stack([attention_distance(a, grid, renormalise).sum(dim=0) for a in attentions])
        values = (total / images.shape[0] * unit_scale(unit, patch, grid)).numpy()  # (depth, heads)
        distances[model.label] = values
        records.append({**model_record(model), "patch_size": patch, "grid": grid,
                        "uniform_attention": uniform_attention_distance(grid) * unit_scale(unit, patch, grid),
                        "distance": values.tolist(), "layer_mean": values.mean(axis=1).tolist()})
    title = (f"mean attention distance over {counted(len(names), 'image')} ({source.data}); patch tokens, "
             f"{'rows re-normalised' if renormalise else 'CLS share at distance 0'}")
    uniform = {record["label"]: record["uniform_attention"] for record in records}
    save_distance_figure(distances, unit, uniform, title, output / "attention-distance.png")
    record = {"analysis": "attention-distance", "unit": unit, "renormalise": renormalise,
              "images": source.describe(names), "models": records}
    write_json(record, output / "attention-distance.json")
    return record


@torch.no_grad()
def spectrum_report(models: list[LabelledEncoder], source: ImageSource, pool: str, output: Path) -> dict:
    """Eigenvalues of the covariance of L2-normalised block outputs, per layer; difference of the first two models."""
    spectra, records, names = {}, [], []
    for model in models:
        images, names = model_images(model, source)
        if pool != "tokens" and images.shape[0] < 2:
            raise UsageError("a covariance needs at least 2 images (or --pool tokens)")
        accumulators = [CovarianceSpectrum(model.encoder.embed_dim) for _ in model.encoder.blocks]
        for batch in images.split(source.batch_size):
            for accumulator, features in zip(accumulators, layer_features(model.encoder, batch, pool)):
                accumulator.update(features)
        eigenvalues = [accumulator.eigenvalues() for accumulator in accumulators]
        kept = min(model.encoder.embed_dim, accumulators[0].count - 1)  # the rest are zero by construction
        spectra[model.label] = [values[:kept].numpy() for values in eigenvalues]
        records.append({**model_record(model), "samples": accumulators[0].count,
                        "effective_rank": [effective_rank(values) for values in eigenvalues],
                        "trace": [values.sum().item() for values in eigenvalues],
                        "eigenvalues": [values.tolist() for values in eigenvalues]})
    samples = records[0]["samples"]
    title = (f"covariance spectrum of L2-normalised {pool} features, "
             f"{counted(samples, 'vector')} from {counted(len(names), 'image')} "
             f"({source.data}); ranks above {samples - 1} are zero and not drawn")
    save_spectrum_figure(spectra, title, output / "spectrum.png")
    record = {"analysis": "spectrum", "pool": pool, "covariance": "unbiased (1 / (M - 1))",
              "features": "each block's output before the final norm", "images": source.describe(names),
              "models": records}
    if len(models) >= 2 and models[0].encoder.embed_dim == models[1].encoder.embed_dim:
        first, second = (spectra[model.label] for model in models[:2])
        differences = [np.log10(np.maximum(a, 1e-12)) - np.log10(np.maximum(b, 1e-12)) for a, b in zip(first, second)]
        save_spectrum_difference_figure(
            differences, f"log10 eigenvalues: {models[0].label} - {models[1].label} ({pool} features)",
            output / "spectrum-difference.png")
        record["difference"] = {"of": [models[0].label, models[1].label],
                                "log10_eigenvalues": [values.tolist() for values in differences]}
    write_json(record, output / "spectrum.json")
    return record


@torch.no_grad()
def attention_maps_report(models: list[LabelledEncoder], source: ImageSource, queries: list[tuple[int, int]],
                          num_queries: int, layer: int, seed: int, output: Path) -> dict:
    """Attention of query patches in one block (default: the last), per head and head mean (Fig. 1)."""
    rows, records, names, pixels = [], [], [], None
    for model in models:
        depth = len(model.encoder.blocks)
        if not -depth <= layer < depth:
            raise UsageError(f"--layer {layer} is not a block of {model.label}: it has {depth} (0 to {depth - 1}, "
                             f"or -{depth} to -1 from the last)")
        images, names = model_images(model, source)
        grid = model.encoder.grid_size
        chosen = queries or random_queries(num_queries, grid, seed)
        outside = [query for query in chosen if not all(0 <= value < grid for value in query)]
        if outside:
            raise UsageError(f"query {outside[0]} is outside the {grid} x {grid} patch grid of {model.label}")
        _, attentions = model.encoder.forward_with_attention(images)
        attention = attentions[layer]  # (B, heads, 1 + N, 1 + N)
        pixels = to_pixels(images, *model.info.normalisation()) if pixels is None else pixels
        maps = {query: query_attention_maps(attention, *query, grid) for query in chosen}  # (B, heads, g, g) each
        rows += [{"image": index, "query": query, "label": model.label, "maps": maps[query][index].numpy()}
                 for index in range(images.shape[0]) for query in chosen]
        records.append({**model_record(model), "grid": grid, "layer": layer % len(attentions) + 1,
                        "maps": {f"{row},{col}": maps[(row, col)].tolist() for row, col in chosen}})
    rows.sort(key=lambda row: (row["image"], row["query"]))
    patch = models[0].encoder.patch_size
    title = f"attention of the outlined query patch, block {records[0]['layer']}, CLS dropped and rows re-normalised"
    save_attention_maps_figure(rows, pixels, patch, title, output / "attention-maps.png")
    record = {"analysis": "attention-maps", "images": source.describe(names),
              "maps_layout": "[image][head][row][col]", "models": records}
    write_json(record, output / "attention-maps.json")
    return record


def gradcam_report(paths: list[str], labels: list[str] | None, source: ImageSource, pool: str | None,
                   classes: list[str] | None, output: Path) -> dict:
    """Grad-CAM of each classifier on the same images (explained class: `classes`, numbers or class names, or the
    prediction)."""
    maps, captions, records, names, pixels = {}, {}, [], [], None
    truths = source.true_classes()
    for path, label in zip(paths, checkpoint_labels(paths, labels)):
        model, classifier = load_classifier(path, pool)
        indices = None if classes is None else [class_index(value, classifier, label) for value in classes]
        images, names = source.load(classifier.architecture.img_size, classifier.mean, classifier.std)
        if indices is not None and len(indices) not in (1, images.shape[0]):
            raise UsageError(f"--class takes 1 or {images.shape[0]} values, got {len(indices)}")
        wanted = indices * images.shape[0] if indices is not None and len(indices) == 1 else indices
        grid = classifier.architecture.img_size // classifier.architecture.patch_size
        heat, explained = grad_cam(model, cam_layer(model), grid, images, wanted)
        pixels = to_pixels(images, classifier.mean, classifier.std) if pixels is None else pixels
        maps[label] = heat
        explained_names = [classifier.class_names[index] for index in explained]
        captions[label] = [gradcam_caption(name, None if truths is None else truths[position], indices is None)
                           for position, name in enumerate(explained_names)]
        records.append({"label": label, "checkpoint": path, "classifier": classifier.kind, "classes": explained,
                        "class_names": explained_names, "captions": captions[label],
                        "peak_pixel": [[int(v) for v in np.unravel_index(int(m.argmax()), m.shape)] for m in heat]})
    save_gradcam_figure(pixels, maps, captions, output / "gradcam.png")
    record = {"analysis": "gradcam", "target_layer": "blocks[-1].norm1, CLS dropped, tokens on the patch grid",
              "images": source.describe(names), "true_classes": truths, "models": records}
    write_json(record, output / "gradcam.json")
    return record


def gradcam_caption(explained: str, true: str | None, predicted: bool) -> str:
    """A Grad-CAM panel's title: the class explained (the prediction, or the one asked for), then the image's true
    class when it is known."""
    caption = f"{'predicted' if predicted else 'explained'}: {explained}"
    return caption if true is None else f"{caption}\ntrue: {true}"


def class_index(value: str, classifier: ClassifierInfo, label: str) -> int:
    """A `--class` value, a class name or number, as the classifier's class index.

    Raises:
        UsageError: a name the classifier does not have or a number outside its classes.
    """
    if value in classifier.class_names:
        return classifier.class_names.index(value)
    try:
        index = int(value)
    except ValueError:
        raise UsageError(f"--class {value} is not a class of {label}: its classes are "
                         f"{', '.join(classifier.class_names)}") from None
    if not 0 <= index < classifier.num_classes:
        raise UsageError(f"--class {value} is not a class of {label}: its classifier has {classifier.num_classes} "
                         f"classes (0 to {classifier.num_classes - 1})")
    return index


def reconstruct_report(paths: list[str], labels: list[str] | None, source: ImageSource, mask_ratio: float | None,
                       seed: int, output: Path) -> dict:
    """Masked input, reconstruction and original of each pre-training checkpoint, one PNG per checkpoint."""
    if mask_ratio is not None and not 0 <= mask_ratio < 1:
        raise UsageError(f"--mask-ratio must be in [0, 1), got {mask_ratio}")
    records, names = [], []
    for path, label in zip(paths, checkpoint_labels(paths, labels)):
        model, config = load_pretrain_model(path)
        ratio = config["mask_ratio"] if mask_ratio is None else mask_ratio
        visible = num_visible_patches(model.num_patches, ratio)
        if not 0 < visible < model.num_patches:
            raise UsageError(f"mask ratio {ratio} leaves {visible} of the {model.num_patches} patches of {label} "
                             "visible; a reconstruction needs at least one visible and one hidden patch")
        images, names = source.load(config["img_size"], config["mean"], config["std"])
        generator = torch.Generator().manual_seed(seed)
        (keep_ids,) = sample_keep_ids(images.shape[0], model.num_patches, ratio, 1, generator)
        results = reconstruct(model, images, keep_ids, config["norm_pix_loss"])
        figure = output / f"reconstruct-{label}.png"
        save_reconstruction_figure(images, results, config["mean"], config["std"], figure, config["norm_pix_loss"])
        hidden = keep_ids_to_mask(keep_ids, model.num_patches)  # (B, N), 1 = hidden
        errors = (patchify(results["reconstruction"], model.patch_size) - patchify(images, model.patch_size)) ** 2
        hidden_mse = (errors.mean(dim=-1) * hidden).sum() / hidden.sum()
        records.append({"label": label, "checkpoint": path, "figure": figure.name, "mask_ratio": ratio,
                        "norm_pix_loss": config["norm_pix_loss"], "hidden_patch_mse": hidden_mse.item()})
    record = {"analysis": "reconstruct", "images": source.describe(names), "seed": seed,
              "mse_space": "normalised pixels, hidden patches only", "models": records}
    write_json(record, output / "reconstruct.json")
    return record
